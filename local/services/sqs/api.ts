/**
 * The SQS endpoint for the real @aws-sdk/client-sqs, which speaks the AWS JSON 1.0 protocol: POST with
 * `X-Amz-Target: AmazonSQS.<Operation>` and a JSON body. Every call is SigV4-verified (service "sqs") and
 * authorized against the caller's synthesized policies as the IAM action SQS checks for it, on the queue's
 * ARN; a denied call gets AccessDenied with SQS's message, and the runtime logs it.
 */
import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { checkAccess, type Identity, type IdentityRegistry } from "../../iam/identities";
import { readBody } from "../../http/request-body";
import { SigV4Error, type SigV4ErrorKind } from "../../iam/sigv4";
import { errors, SqsError } from "./errors";
import { NOT_EMULATED, OPERATIONS, queueOfArn, type SqsScope } from "./operations";

export interface SqsApiOptions {
  readonly scope: SqsScope;
  readonly identities: IdentityRegistry;
  readonly log: (line: string) => void;
}

const TARGET_PREFIX = "AmazonSQS.";
/** Far above what any call may carry (1 MiB of messages in a batch), so only garbage is refused unread. */
const MAX_REQUEST_BYTES = 4 * 1024 * 1024;

/** Whether a request is an SQS JSON call (the runtime serves SQS on its own port, beside the gateway). */
export function isSqsRequest(req: IncomingMessage): boolean {
  const target = req.headers["x-amz-target"];
  return req.method === "POST" && typeof target === "string" && target.startsWith(TARGET_PREFIX);
}

/** What SQS answers for each way a signature can be wrong. */
const SIGV4_ERRORS: Readonly<Record<SigV4ErrorKind, readonly [type: string, code: string, status: number]>> = {
  missing: ["MissingAuthenticationTokenException", "MissingAuthenticationToken", 403],
  malformed: ["IncompleteSignatureException", "IncompleteSignature", 400],
  "wrong-scope": ["InvalidSignatureException", "SignatureDoesNotMatch", 403],
  expired: ["InvalidSignatureException", "RequestExpired", 400],
  "unknown-key": ["UnrecognizedClientException", "InvalidClientTokenId", 403],
  "bad-signature": ["InvalidSignatureException", "SignatureDoesNotMatch", 403],
};

function respond(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, {
    "Content-Type": "application/x-amz-json-1.0",
    "Content-Length": Buffer.byteLength(body),
    "x-amzn-RequestId": randomUUID(),
    ...headers,
  });
  res.end(body);
}

export async function handleSqsRequest(req: IncomingMessage, res: ServerResponse, options: SqsApiOptions): Promise<void> {
  const aborted = new AbortController();
  res.on("close", () => aborted.abort());
  try {
    const result = await call(req, options, aborted.signal);
    if (!res.destroyed) respond(res, 200, JSON.stringify(result));
  } catch (error) {
    if (!(error instanceof SqsError)) throw error;
    const { status, headers, body } = error.response();
    if (!res.destroyed) respond(res, status, body, headers);
  }
}

async function call(req: IncomingMessage, options: SqsApiOptions, signal: AbortSignal): Promise<unknown> {
  const body = await readBody(req, MAX_REQUEST_BYTES);
  if (!body) throw errors.payloadTooLarge(`Request bodies are limited to ${MAX_REQUEST_BYTES} bytes.`);
  const { scope } = options;

  let caller: Identity;
  try {
    caller = options.identities.authenticate({ method: "POST", url: req.url ?? "/", headers: req.headers, body }, "sqs", scope.region);
  } catch (error) {
    if (!(error instanceof SigV4Error)) throw error;
    options.log(`SQS request refused: ${error.code}: ${error.message}`);
    const [type, code, status] = SIGV4_ERRORS[error.kind];
    throw new SqsError(`com.amazon.coral.service#${type}`, code, status, error.message);
  }

  let input: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(body.toString("utf8") || "{}");
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) throw new Error("not an object");
    input = parsed as Record<string, unknown>;
  } catch {
    throw errors.serialization("The request body is not a JSON object.");
  }

  const name = String(req.headers["x-amz-target"]).slice(TARGET_PREFIX.length);
  const operation = OPERATIONS[name];
  if (!operation) {
    if (NOT_EMULATED.has(name)) throw errors.unsupportedOperation(`${name} is not emulated locally: the queues and their settings come from the synthesized stack.`);
    throw errors.invalidAction(`The action ${name} is not valid for this web service.`);
  }

  const resource = operation.resource(input, scope);
  const access = checkAccess(caller, [{ action: operation.action, resource }], options.log);
  if (!access.allowed) {
    // SQS words the action in lower case: "is not authorized to perform: sqs:sendmessage on resource: ...".
    throw errors.accessDenied(access.message.split(access.decision.action).join(access.decision.action.toLowerCase()));
  }
  const queue = queueOfArn(resource, scope, name);
  return operation.run(input, queue, { caller, scope, signal });
}
