import { createServer, IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A real HTTP server speaking the part of API Gateway's management API the handlers use:
 * `POST /<stage>/@connections/{id}`, and GET and DELETE on it (probing and closing a connection). It answers like API Gateway, so the real
 * @aws-sdk/client-apigatewaymanagementapi parses its errors: the SDK reads the error's name from the
 * `x-amzn-ErrorType` header (rest-json protocol) and its message from the JSON body.
 */
export class FakeManagementApi {
  /** Bodies posted to each connection id, in arrival order. */
  readonly posted = new Map<string, string[]>();
  /** Ids answered 410 GoneException, as API Gateway does for closed connections. */
  readonly gone = new Set<string>();
  /** Ids answered 403 ForbiddenException: a failure that retrying does not fix. */
  readonly forbidden = new Set<string>();
  /** Id → how many of its next posts are answered 429 LimitExceededException. */
  readonly throttled = new Map<string, number>();
  /** Id → how many of its next posts are answered 500. */
  readonly broken = new Map<string, number>();
  /** Id → how many of its next posts, probes and closes are answered 410, as for a connection whose handshake is still completing. */
  readonly opening = new Map<string, number>();
  /** Ids whose posts are never answered (a hung request). */
  readonly hanging = new Set<string>();
  /** Added before every answer. */
  latencyMs = 0;
  /** Ids closed with DELETE, in order. */
  readonly closed: string[] = [];
  /** Every request, answered or not, as "METHOD path". */
  readonly requests: string[] = [];

  private constructor(private readonly server: Server, readonly port: number) {}

  static async start(): Promise<FakeManagementApi> {
    let api: FakeManagementApi | undefined;
    const server = createServer((request, response) => api!.handle(request, response));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    api = new FakeManagementApi(server, (server.address() as AddressInfo).port);
    return api;
  }

  /** The callback URL the local runtime would set as AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI. */
  endpoint(stage = "prod"): string {
    return `http://127.0.0.1:${this.port}/${stage}`;
  }

  /** The frames a connection received, parsed. */
  received(connectionId: string): Record<string, unknown>[] {
    return (this.posted.get(connectionId) ?? []).map((body) => JSON.parse(body) as Record<string, unknown>);
  }

  reset(): void {
    for (const collection of [this.posted, this.gone, this.forbidden, this.throttled, this.broken, this.opening, this.hanging]) collection.clear();
    this.requests.length = 0;
    this.closed.length = 0;
    this.latencyMs = 0;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve, reject) => this.server.close((error) => (error ? reject(error) : resolve())));
  }

  private handle(request: IncomingMessage, response: ServerResponse): void {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", () => setTimeout(() => this.answer(request, response, chunks), this.latencyMs));
  }

  private answer(request: IncomingMessage, response: ServerResponse, chunks: Buffer[]): void {
    this.requests.push(`${request.method} ${request.url}`);
    const match = /^\/([^/]+)\/@connections\/([^/?]+)$/.exec(request.url ?? "");
    if (!["POST", "GET", "DELETE"].includes(request.method ?? "") || !match) return answer(response, 404, "NotFoundException", "No such route");
    const id = decodeURIComponent(match[2]);
    if (request.method === "DELETE") {
      if (this.gone.has(id) || takeOne(this.opening, id)) return answer(response, 410, "GoneException", null);
      // Closed: API Gateway answers its later calls 410.
      this.gone.add(id);
      this.closed.push(id);
      return void response.writeHead(204).end();
    }
    if (request.method === "GET") {
      if (this.gone.has(id) || takeOne(this.opening, id)) return answer(response, 410, "GoneException", null);
      return void response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ connectedAt: new Date().toISOString() }));
    }
    if (this.hanging.has(id)) return;
    if (this.gone.has(id) || takeOne(this.opening, id)) return answer(response, 410, "GoneException", null);
    if (this.forbidden.has(id)) return answer(response, 403, "ForbiddenException", "Forbidden");
    if (takeOne(this.throttled, id)) return answer(response, 429, "LimitExceededException", "Rate exceeded");
    if (takeOne(this.broken, id)) return answer(response, 500, "InternalServerErrorException", "Internal error");
    const bodies = this.posted.get(id) ?? [];
    bodies.push(Buffer.concat(chunks).toString("utf8"));
    this.posted.set(id, bodies);
    response.writeHead(200).end();
  }
}

function answer(response: ServerResponse, status: number, errorType: string, message: string | null): void {
  response
    .writeHead(status, { "content-type": "application/json", "x-amzn-ErrorType": errorType })
    .end(JSON.stringify({ message }));
}

function takeOne(counters: Map<string, number>, id: string): boolean {
  const left = counters.get(id) ?? 0;
  if (left <= 0) return false;
  counters.set(id, left - 1);
  return true;
}
