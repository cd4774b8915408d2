/**
 * An HTTP proxy in front of an S3-compatible server (s3rver) that answers each request as S3 would answer
 * a role holding only a given identity policy: the request is mapped to its S3 action and resource ARN,
 * evaluated with the local runtime's IAM evaluator, and either forwarded untouched (the signature stays
 * valid: the Host header is kept) or refused with S3's 403 AccessDenied. Every request is recorded.
 */
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { evaluate, type Policy } from "../../local/iam/policy";

export interface S3Request {
  readonly method: string;
  /** `s3:GetObject`, ... */
  readonly action: string;
  /** `arn:aws:s3:::bucket` or `arn:aws:s3:::bucket/key`. */
  readonly resource: string;
  readonly key?: string;
  readonly allowed: boolean;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}

export class S3PolicyProxy {
  /** The identity policy requests are checked against; undefined allows everything. */
  policy: Policy | undefined;
  readonly requests: S3Request[] = [];

  private constructor(
    private readonly server: Server,
    private readonly upstreamPort: number,
  ) {}

  static async start(upstreamPort: number): Promise<S3PolicyProxy> {
    let proxy: S3PolicyProxy | undefined;
    const server = createServer((request, response) => proxy!.handle(request, response));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    proxy = new S3PolicyProxy(server, upstreamPort);
    return proxy;
  }

  get endpoint(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(request: IncomingMessage, response: ServerResponse): void {
    const url = new URL(request.url ?? "/", "http://proxy");
    const [bucket, ...keyParts] = url.pathname.slice(1).split("/").map(decodeURIComponent);
    const key = keyParts.length > 0 && keyParts.join("/") !== "" ? keyParts.join("/") : undefined;
    const method = request.method ?? "GET";
    const action = s3Action(method, key !== undefined);
    const resource = `arn:aws:s3:::${bucket}${key === undefined ? "" : `/${key}`}`;
    const allowed = this.policy === undefined || (action !== undefined && evaluate([this.policy], { action, resource }).allowed);
    this.requests.push({ method, action: action ?? `(${method} not modelled)`, resource, key, allowed, headers: request.headers });

    if (!allowed) {
      request.resume();
      const message = `User: arn:aws:sts::123456789012:assumed-role/plan/ci is not authorized to perform: ${action} on resource: "${resource}" because no identity-based policy allows the ${action} action`;
      response
        .writeHead(403, { "content-type": "application/xml" })
        .end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>${message}</Message></Error>`);
      return;
    }
    const upstream = httpRequest(
      { host: "127.0.0.1", port: this.upstreamPort, method, path: request.url, headers: request.headers },
      (answer) => {
        response.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(response);
      },
    );
    upstream.on("error", (error) => response.destroy(error));
    request.pipe(upstream);
  }
}

/** The IAM action of a path-style S3 request (the operations Terraform's S3 backend uses). */
function s3Action(method: string, onObject: boolean): string | undefined {
  if (!onObject) return method === "GET" || method === "HEAD" ? "s3:ListBucket" : undefined;
  switch (method) {
    case "GET":
    case "HEAD":
      return "s3:GetObject";
    case "PUT":
      return "s3:PutObject";
    case "DELETE":
      return "s3:DeleteObject";
    default:
      return undefined;
  }
}
