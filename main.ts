import { App } from "cdktf";
import { AccountStack } from "./constructs/account-stack";
import { ChatStack } from "./constructs/chat-stack";
import { readConfig } from "./constructs/config";

const app = new App();
const config = readConfig();
// Deployed only when named (`cdktf deploy chat-account ...`): see constructs/account-stack.ts.
new AccountStack(app, config);
new ChatStack(app, config);
app.synth();
