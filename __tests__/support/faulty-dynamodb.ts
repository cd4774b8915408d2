import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { readBody } from "../../local/http/request-body";

/** One DynamoDB JSON request as the proxy saw it: the operation and its wire-format input. */
export interface SeenRequest {
  readonly operation: string;
  readonly input: Record<string, any>;
}

/**
 * What to answer instead of forwarding: an error by name and status (with `fields` added to its body, such
 * as a cancelled transaction's CancellationReasons), a body of our own, or nothing at all (the request is
 * read and held, as by a server that stopped answering, until the caller gives up or the proxy stops).
 */
export type Answer =
  | { readonly status: number; readonly error: string; readonly fields?: Record<string, unknown> }
  | { readonly body: Record<string, unknown> }
  | { readonly never: true };

/**
 * A proxy in front of a real DynamoDB (the local runtime's dynalite) that records every request and answers
 * chosen ones itself: a throttled or failing call, a page of UnprocessedKeys. dynalite cannot fail on demand
 * halfway through a handler's work; this makes it do so while the SDK and the handlers' signed requests stay real.
 */
export class FaultyDynamoDb {
  readonly requests: SeenRequest[] = [];
  private readonly rules: Array<{ operation: string; after: number; times: number; answer: Answer }> = [];
  private pendingHold: { remaining: number; arrived: () => void; released: Promise<void> } | undefined;
  private pendingAfter: { seen: (request: SeenRequest) => boolean; triggered: boolean; arrived: () => void; released: Promise<void> } | undefined;

  private constructor(
    private readonly server: Server,
    private readonly target: URL,
  ) {}

  static async start(targetEndpoint: string): Promise<FaultyDynamoDb> {
    let proxy: FaultyDynamoDb | undefined;
    const server = createServer((req, res) => void proxy!.handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    proxy = new FaultyDynamoDb(server, new URL(targetEndpoint));
    return proxy;
  }

  get endpoint(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /**
   * Calls of `operation` get `answer` instead of DynamoDB's: `times` of them (Infinity: all), once `after`
   * of them have been forwarded.
   */
  answer(operation: string, answer: Answer, { times = 1, after = 0 }: { readonly times?: number; readonly after?: number } = {}): void {
    this.rules.push({ operation, after, times, answer });
  }

  /**
   * The `nth` request from now, whatever its operation, waits before it is forwarded: `held` resolves once it
   * has arrived, and `release` lets it go (or, called before it arrived, cancels the hold). For interleaving
   * one handler's calls with another's at a chosen point.
   */
  hold(nth: number): { held: Promise<void>; release: () => void } {
    let arrived!: () => void;
    let release!: () => void;
    const held = new Promise<void>((resolve) => (arrived = resolve));
    const released = new Promise<void>((resolve) => (release = resolve));
    this.pendingHold = { remaining: nth, arrived, released };
    return {
      held,
      release: () => {
        this.pendingHold = undefined;
        release();
      },
    };
  }

  /**
   * The first request that arrives after one `seen` holds, held as `hold` holds it: for pausing a handler
   * right after a chosen call of its (whatever it does next), when how many calls precede it may differ.
   */
  holdAfter(seen: (request: SeenRequest) => boolean): { held: Promise<void>; release: () => void } {
    let arrived!: () => void;
    let release!: () => void;
    const held = new Promise<void>((resolve) => (arrived = resolve));
    const released = new Promise<void>((resolve) => (release = resolve));
    this.pendingAfter = { seen, triggered: false, arrived, released };
    return {
      held,
      release: () => {
        this.pendingAfter = undefined;
        release();
      },
    };
  }

  /** Forward everything again, and forget what was seen. */
  reset(): void {
    this.rules.length = 0;
    this.requests.length = 0;
  }

  /** The inputs of every `operation` call seen, in order. */
  inputs(operation: string): Record<string, any>[] {
    return this.requests.filter((r) => r.operation === operation).map((r) => r.input);
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = (await readBody(req))!;
    const target = String(req.headers["x-amz-target"] ?? "");
    const operation = target.slice(target.lastIndexOf(".") + 1);
    const seenRequest = { operation, input: JSON.parse(body.toString("utf8")) };
    this.requests.push(seenRequest);
    const after = this.pendingAfter;
    if (after?.triggered) {
      this.pendingAfter = undefined;
      after.arrived();
      await after.released;
    } else if (after?.seen(seenRequest)) after.triggered = true;
    const hold = this.pendingHold;
    if (hold && --hold.remaining === 0) {
      this.pendingHold = undefined;
      hold.arrived();
      await hold.released;
    }

    const rule = this.rules.find((r) => r.operation === operation && r.times > 0);
    if (rule && rule.after > 0) rule.after -= 1;
    else if (rule) {
      rule.times -= 1;
      const { answer } = rule;
      if ("never" in answer) return;
      const status = "status" in answer ? answer.status : 200;
      const payload =
        "status" in answer
          ? { __type: `com.amazonaws.dynamodb.v20120810#${answer.error}`, message: `${answer.error} (injected)`, ...answer.fields }
          : answer.body;
      res.writeHead(status, { "content-type": "application/x-amz-json-1.0" }).end(JSON.stringify(payload));
      return;
    }
    const forwarded = httpRequest(
      { hostname: this.target.hostname, port: this.target.port, path: req.url, method: req.method, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 500, answer.headers);
        answer.pipe(res);
      },
    );
    forwarded.on("error", () => res.destroy());
    forwarded.end(body);
  }
}
