import { App } from "cdktf";
import { AccountStack } from "./constructs/account-stack";
import { ChatStack } from "./constructs/chat-stack";
import { configWarnings, readConfig } from "./constructs/config";

const config = readConfig();
for (const warning of configWarnings(config)) process.stderr.write(`Warning: ${warning}\n`);
const app = new App();
// Deployed only when named (`cdktf deploy chat-account ...`): see constructs/account-stack.ts.
new AccountStack(app, config);
new ChatStack(app, config);
app.synth();
