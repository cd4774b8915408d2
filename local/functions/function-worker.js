"use strict";
/**
 * One Lambda execution environment for the local runtime (see function-runner.ts): a worker thread whose
 * process.env is exactly the function's environment, that loads the function's bundle once (the "init"
 * phase) and then runs invocations sent by the parent. Plain JavaScript because it runs outside any
 * TypeScript loader, in Jest as under `npm start`.
 *
 * Message in:   { type: "invoke", id, event, context }
 * Messages out: { type: "result", id, payload } (the JSON text Lambda would return)
 *             | { type: "error", id, error: { errorType, errorMessage, stack } }
 */
const { parentPort, workerData } = require("node:worker_threads");
const { AsyncLocalStorage } = require("node:async_hooks");
const Module = require("node:module");
const { pathToFileURL } = require("node:url");
const util = require("node:util");

// Lambda's NODE_PATH points at the runtime's own node_modules (where the AWS SDK lives); the parent sets
// it to the project's node_modules. Node reads NODE_PATH once at startup, so read it again here.
if (typeof Module._initPaths === "function") Module._initPaths();

const { moduleFile, exportName, handlerName } = workerData;

/**
 * The console as Lambda's Node.js runtime patches it (aws-lambda-nodejs-runtime-interface-client,
 * LogPatch.js): with AWS_LAMBDA_LOG_FORMAT=JSON each call is one line `{"timestamp", "level",
 * "requestId", "message"}`, where a single argument is kept as is (an object stays an object) and
 * several are formatted into a string; otherwise `<time>\t<requestId>\t<LEVEL>\t<text>`. Calls below
 * AWS_LAMBDA_LOG_LEVEL are dropped; newlines become \r, so every call is one line. Lambda runs one
 * invocation at a time per environment and keeps the request id in a global; this one serves several
 * at once, so each invocation's id lives in async context instead.
 */
const invocation = new AsyncLocalStorage();
const LEVELS = ["TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL"];
function patchConsole() {
  const json = (process.env.AWS_LAMBDA_LOG_FORMAT || "").toUpperCase() === "JSON";
  const threshold = Math.max(0, LEVELS.indexOf((process.env.AWS_LAMBDA_LOG_LEVEL || "TRACE").toUpperCase()));
  const errorFields = (value) => ({
    errorType: (value && value.constructor && value.constructor.name) || "UnknownError",
    errorMessage: value.message,
    stackTrace: typeof value.stack === "string" ? value.stack.split("\n") : value.stack,
  });
  const format = (level, params) => {
    const timestamp = new Date().toISOString();
    const requestId = invocation.getStore();
    if (!json) return `${timestamp}\t${requestId}\t${level}\t${util.format(...params)}`;
    const line = { timestamp, level, requestId };
    if (params.length === 1) {
      line.message = params[0];
      try {
        return JSON.stringify(line, (_key, value) => (value instanceof Error ? Object.assign(errorFields(value), value) : value));
      } catch {
        line.message = util.format(params[0]);
        return JSON.stringify(line);
      }
    }
    line.message = util.format(...params);
    const error = params.find((param) => param instanceof Error);
    return JSON.stringify(error ? { ...line, ...errorFields(error) } : line);
  };
  const method = (level) =>
    LEVELS.indexOf(level) < threshold ? () => undefined : (...params) => process.stdout.write(`${format(level, params).replace(/\n/g, "\r")}\n`);
  console.trace = method("TRACE");
  console.debug = method("DEBUG");
  console.info = method("INFO");
  console.log = console.info;
  console.warn = method("WARN");
  console.error = method("ERROR");
  console.fatal = method("FATAL");
}
patchConsole();

/** The init phase: load the module and find the handler, or remember why that failed. */
const ready = (async () => {
  let loaded;
  try {
    loaded = moduleFile.endsWith(".mjs") ? await import(pathToFileURL(moduleFile).href) : require(moduleFile);
  } catch (error) {
    throw runtimeError("Runtime.ImportModuleError", error);
  }
  const handler = loaded && loaded[exportName];
  if (typeof handler !== "function") {
    throw runtimeError("Runtime.HandlerNotFound", new Error(`${handlerName} is undefined or not exported`));
  }
  return handler;
})();
// An init failure is reported on each invocation, as Lambda does, not as an unhandled rejection here.
// Either way the init phase is over: the runner starts its invocations' timeouts from now.
ready.then(
  () => parentPort.postMessage({ type: "initialized" }),
  () => parentPort.postMessage({ type: "initialized" }),
);

function runtimeError(errorType, cause) {
  const error = cause instanceof Error ? cause : new Error(String(cause));
  return Object.assign(new Error(error.message), { errorType, stack: error.stack });
}

function describe(error) {
  if (error instanceof Error) {
    return { errorType: error.errorType || error.name || "Error", errorMessage: error.message, stack: error.stack };
  }
  return { errorType: typeof error, errorMessage: String(error) };
}

function lambdaContext(context) {
  return {
    awsRequestId: context.awsRequestId,
    functionName: context.functionName,
    functionVersion: context.functionVersion,
    memoryLimitInMB: context.memoryLimitInMB,
    logGroupName: context.logGroupName,
    logStreamName: context.logStreamName,
    invokedFunctionArn: context.invokedFunctionArn,
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, context.deadline - Date.now()),
  };
}

/** Async handlers return a promise; callback-style handlers (three parameters) call back instead. */
function call(handler, event, context) {
  if (handler.length < 3) return Promise.resolve().then(() => handler(event, context));
  return new Promise((resolve, reject) => {
    const callback = (error, result) => (error ? reject(error) : resolve(result));
    Promise.resolve()
      .then(() => handler(event, context, callback))
      .then((result) => result !== undefined && resolve(result), reject);
  });
}

async function invoke({ id, event, context }) {
  try {
    const handler = await ready;
    const result = await invocation.run(context.awsRequestId, () => call(handler, event, lambdaContext(context)));
    // Lambda returns what JSON.stringify makes of the result; undefined becomes null.
    const payload = result === undefined ? "null" : JSON.stringify(result);
    parentPort.postMessage({ type: "result", id, payload });
  } catch (error) {
    parentPort.postMessage({ type: "error", id, error: describe(error) });
  }
}

parentPort.on("message", (message) => {
  if (message.type === "invoke") void invoke(message);
});
