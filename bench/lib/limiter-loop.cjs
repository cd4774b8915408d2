// Child-process entry for the limiter figure: loads a route's shipped bundle, as Lambda's Node runtime does,
// and sends frames through its handler, `concurrency` at a time, each from the next of the senders in turn
// (each its own user, as in none mode): for send-message a direct message to one recipient, for join a join
// of a room no one is in yet (room-<n>, n counting from `firstRoom`). Prints the CPU the process spent on the
// measured frames and how they were answered. Plain JavaScript, so nothing but Node and the bundle runs.
// Usage: node limiter-loop.cjs <bundle file> '{"route":"send-message","senders":[...],"recipient":"r","messages":2000,"warmup":300,"concurrency":8,"firstRoom":0}'
const [bundle, specJson] = process.argv.slice(2);
const spec = JSON.parse(specJson);
const { handler } = require(bundle);
const context = { getRemainingTimeInMillis: () => 10_000, awsRequestId: "bench" };
let sequence = 0;
let room = spec.firstRoom || 0;

function body() {
  if (spec.route === "join") return { action: "join", room: `room-${room++}` };
  return { action: "send-message", to: spec.recipient, message: "Hello, the build is green again and the release goes out at five." };
}

function event(sender) {
  sequence += 1;
  const now = Date.now();
  return {
    requestContext: {
      routeKey: spec.route,
      messageId: `m-${sequence}`,
      eventType: "MESSAGE",
      extendedRequestId: `e-${sequence}`,
      requestTime: new Date(now).toUTCString(),
      messageDirection: "IN",
      stage: "prod",
      connectedAt: now - 60_000,
      requestTimeEpoch: now,
      requestId: `r-${sequence}`,
      domainName: "bench.execute-api.us-east-1.amazonaws.com",
      connectionId: sender,
      apiId: "bench",
    },
    body: JSON.stringify(body()),
    isBase64Encoded: false,
  };
}

async function send(total) {
  const answers = {};
  let next = 0;
  async function worker() {
    while (next < total) {
      const i = next++;
      const result = await handler(event(spec.senders[i % spec.senders.length]), context);
      const body = JSON.parse(result.body);
      const key = body.type === "error" ? body.code : body.type;
      answers[key] = (answers[key] || 0) + 1;
    }
  }
  await Promise.all(Array.from({ length: spec.concurrency }, worker));
  return answers;
}

(async () => {
  await send(spec.warmup);
  const started = process.cpuUsage();
  const wallStarted = performance.now();
  const answers = await send(spec.messages);
  const used = process.cpuUsage(started);
  process.stdout.write(`${JSON.stringify({ cpuMs: (used.user + used.system) / 1000, wallMs: performance.now() - wallStarted, messages: spec.messages, answers })}\n`);
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
