// A stand-in for Lambda's Node runtime for the authorizer: a fresh process that loads one authorizer bundle
// and answers its first event (the cold start, JWKS fetch included), prints that answer's policy effect at
// once, then answers the same event `warmRuns` more times and prints how long each took.
// Usage: node serve-authorizer.cjs <bundle file> <event JSON> <warmRuns>
const { performance } = require("node:perf_hooks");
const [bundle, eventJson, warmRuns] = process.argv.slice(2);
const event = JSON.parse(eventJson);
const { handler } = require(bundle);

const effectOf = (result) => result && result.policyDocument && result.policyDocument.Statement[0].Effect;

(async () => {
  const first = await handler(event);
  process.stdout.write(`${JSON.stringify({ effect: effectOf(first) })}\n`);
  const warmMs = [];
  for (let i = 0; i < Number(warmRuns); i += 1) {
    const started = performance.now();
    const result = await handler(event);
    warmMs.push(performance.now() - started);
    if (effectOf(result) !== "Allow") throw new Error(`warm run ${i} answered ${effectOf(result)}`);
  }
  process.stdout.write(`${JSON.stringify({ warmMs })}\n`);
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
