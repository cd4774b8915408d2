import { App } from "cdktf";
import { isAbsolute, relative, resolve } from "node:path";
import { AccountStack } from "./constructs/account-stack";
import { ChatStack } from "./constructs/chat-stack";
import { configWarnings, readConfig } from "./constructs/config";

const config = readConfig();
// On stdout: the cdktf CLI prints its app's stdout as is, and everything on its stderr as an [ERROR].
for (const warning of configWarnings(config)) process.stdout.write(`Warning: ${warning}\n`);
const app = new App();
// Deployed only when named (`cdktf deploy chat-account ...`): see constructs/account-stack.ts.
const stacks = [new AccountStack(app, config), new ChatStack(app, config)];
app.synth();
const fromHere = relative(process.cwd(), resolve(app.outdir));
const outdir = fromHere.startsWith("..") || isAbsolute(fromHere) ? resolve(app.outdir) : fromHere || ".";
process.stdout.write(`Synthesized ${stacks.map((stack) => `${outdir}/stacks/${stack.node.id}/cdk.tf.json`).join(" and ")}\n`);
