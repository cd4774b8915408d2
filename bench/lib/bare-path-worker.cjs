// The bare path's stand-in for a function (bare-path.ts): for each direct message it makes the two calls the
// send-message handler makes (a read, then the post) and replies. The calls are keep-alive HTTP POSTs to the
// main thread, as the handlers make them, or with workerData.transport "port" messages on this worker's own
// port (what carrying the functions' AWS calls that way would cost). Plain JavaScript, so the worker needs no
// TypeScript loader.
const { parentPort, workerData } = require("node:worker_threads");
const http = require("node:http");

// As the handlers' signed-http.ts: keep-alive, at most 50 sockets.
const agent = new http.Agent({ keepAlive: true, maxSockets: 50 });

function overHttp(path, body) {
  return new Promise((resolve, reject) => {
    const options = { agent, host: "127.0.0.1", port: workerData.port, path, method: "POST", headers: { "content-type": "application/json", "content-length": body.length } };
    const req = http.request(options, (res) => {
      const chunks = [];
      res.on("data", (chunk) => chunks.push(chunk));
      res.on("end", () => resolve(Buffer.concat(chunks)));
    });
    req.on("error", reject);
    req.end(body);
  });
}

const awaitingAnswer = new Map();
let nextCall = 0;
function overPort(path, body) {
  return new Promise((resolve) => {
    const call = nextCall++;
    awaitingAnswer.set(call, resolve);
    parentPort.postMessage({ call, path, body });
  });
}

const send = workerData.transport === "port" ? overPort : overHttp;
const post = async (path, payload) => JSON.parse(Buffer.from(await send(path, Buffer.from(JSON.stringify(payload)))).toString("utf8"));

parentPort.on("message", async (message) => {
  if (message.call !== undefined) {
    awaitingAnswer.get(message.call)(message.answer);
    awaitingAnswer.delete(message.call);
    return;
  }
  const { id, connectionId, body } = message;
  try {
    const frame = JSON.parse(body);
    await post("/read", { keys: [connectionId, frame.to] });
    await post("/post", { to: frame.to, frame: { type: "message", message: frame.message, from: connectionId, to: frame.to } });
    parentPort.postMessage({ id, reply: JSON.stringify({ type: "sent", delivered: 1 }) });
  } catch (error) {
    parentPort.postMessage({ id, reply: JSON.stringify({ type: "error", message: String(error) }) });
  }
});
