// A stand-in for Lambda's Node runtime in a cold start: a fresh process that loads one bundle and serves it
// one event, then prints the result. Plain JavaScript, so nothing but Node runs before the bundle.
// Usage: node serve-one-event.cjs <bundle file> <event JSON>
const [bundle, event] = process.argv.slice(2);
// The function's log lines go where Lambda's would, apart from the result: stdout carries the answer alone,
// and its first byte marks the end of the cold start.
const { Console } = require("node:console");
globalThis.console = new Console({ stdout: process.stderr, stderr: process.stderr });
const { handler } = require(bundle);
handler(JSON.parse(event)).then(
  (result) => {
    process.stdout.write(`${JSON.stringify({ statusCode: result && result.statusCode, body: result && result.body })}\n`);
    process.exit(0);
  },
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
