import { Testing } from "cdktf";

// Adds cdktf's matchers (toHaveResourceWithProperties, toBeValidTerraform, ...) to expect.
Testing.setupJest();
