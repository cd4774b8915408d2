import { App } from "cdktf";
import { ChatStack } from "./constructs/chat-stack";
import { readConfig } from "./constructs/config";

const app = new App();
new ChatStack(app, readConfig());
app.synth();
