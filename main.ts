import { App } from "cdktf";
import { ChatStack } from "./constructs/chat-stack";
import { configWarnings, readConfig } from "./constructs/config";

const config = readConfig();
for (const warning of configWarnings(config)) process.stderr.write(`Warning: ${warning}\n`);
const app = new App();
new ChatStack(app, config);
app.synth();
