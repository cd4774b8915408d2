// The bare path's stand-in for a function (bare-path.ts): for each direct message it makes the two calls the
// send-message handler makes, as keep-alive HTTP POSTs to the main thread (a read, then the post), and
// replies. Plain JavaScript, so the worker needs no TypeScript loader.
const { parentPort, workerData } = require("node:worker_threads");
const http = require("node:http");

// As the handlers' signed-http.ts: keep-alive, at most 50 sockets.
const agent = new http.Agent({ keepAlive: true, maxSockets: 50 });

function post(path, payload) {
  return new Promise((resolve, reject) => {
    const body = Buffer.from(JSON.stringify(payload));
    const options = { agent, host: "127.0.0.1", port: workerData.port, path, method: "POST", headers: { "content-type": "application/json", "content-length": body.length } };
    const req = http.request(options, (res) => {
      const chunks = [];
      res.on("data", (chunk) => chunks.push(chunk));
      res.on("end", () => resolve(JSON.parse(Buffer.concat(chunks).toString("utf8"))));
    });
    req.on("error", reject);
    req.end(body);
  });
}

parentPort.on("message", async ({ id, connectionId, body }) => {
  try {
    const frame = JSON.parse(body);
    await post("/read", { keys: [connectionId, frame.to] });
    await post("/post", { to: frame.to, frame: { type: "message", message: frame.message, from: connectionId, to: frame.to } });
    parentPort.postMessage({ id, reply: JSON.stringify({ type: "sent", delivered: 1 }) });
  } catch (error) {
    parentPort.postMessage({ id, reply: JSON.stringify({ type: "error", message: String(error) }) });
  }
});
