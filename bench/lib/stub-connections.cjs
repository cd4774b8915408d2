// An @connections stand-in for the post-cpu figure: HTTPS with the certificate it is given, answering every
// POST 200 once its body is read, as API Gateway answers a delivered post. In a process of its own, so its
// CPU is not the measured loop's. Usage: node stub-connections.cjs <key.pem> <cert.pem>; sends { port } over IPC.
const { readFileSync } = require("node:fs");
const { createServer } = require("node:https");
const [key, cert] = process.argv.slice(2);
const server = createServer({ key: readFileSync(key), cert: readFileSync(cert) }, (req, res) => {
  req.on("data", () => undefined);
  req.on("end", () => {
    res.writeHead(200, { "Content-Type": "application/json", "Content-Length": 0, "x-amzn-RequestId": "stub" });
    res.end();
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, "127.0.0.1", () => process.send({ port: server.address().port }));
process.on("disconnect", () => process.exit(0));
