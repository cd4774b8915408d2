/**
 * The WebSocket side of API Gateway for the synthesized API and stage:
 * - $connect runs before the upgrade completes; a non-2xx result or a failure rejects the handshake with
 *   that HTTP status (500 for a failure, 504 when the integration times out).
 * - Each frame is routed by the route_selection_expression; no match goes to $default, and with no
 *   $default the client gets API Gateway's `Forbidden` message.
 * - A route with a route response sends the integration's body back; a failed integration sends
 *   `Internal server error` (or `Endpoint request timed out`), with or without a route response.
 * - $disconnect runs once for every connection that was accepted, however it ends.
 * - Limits: 32 KB per frame and 128 KB per message (close 1009), idle timeout and maximum connection
 *   duration (close 1001 "Going away").
 */
import { STATUS_CODES, type IncomingMessage } from "node:http";
import type { Duplex } from "node:stream";
import { setTimeout as delay } from "node:timers/promises";
import { WebSocket, WebSocketServer, type RawData } from "ws";
import { authorizeConnect, requestAuthorizer } from "./authorizer";
import { ConnectionRegistry, type ConnectionLedger, type LiveConnection } from "./connections";
import { connectEvent, disconnectEvent, gatewayId, messageEvent, type ApiDetails, type ConnectionDetails } from "./events";
import type { FunctionRunner } from "../functions/function-runner";
import { ENDPOINT_TIMED_OUT, INTERNAL_SERVER_ERROR, invokeIntegration, type IntegrationResult } from "./integration";
import { DEFAULT_ROUTE, routeSelector, type RouteSelector } from "./route-selection";
import type { RouteModel, StackModel } from "../terraform/stack-model-types";

/** API Gateway's WebSocket frame size quota. */
export const FRAME_LIMIT_BYTES = 32 * 1024;
/** API Gateway's WebSocket message payload size quota. */
export const MESSAGE_LIMIT_BYTES = 128 * 1024;
export const DEFAULT_IDLE_TIMEOUT_MS = 10 * 60 * 1000;
export const DEFAULT_MAX_CONNECTION_MS = 2 * 60 * 60 * 1000;

const GOING_AWAY = 1001;
const MESSAGE_TOO_BIG = 1009;
/** How long a closing client gets to answer the close frame before the socket is dropped. */
const CLOSE_GRACE_MS = 1000;

/** Told what API Gateway counts in its CloudWatch metrics (local/observability records them). */
export interface GatewayObserver {
  /** An integration call and how it ended (ConnectCount, IntegrationError, ExecutionError, IntegrationLatency). */
  integration(routeKey: string, result: IntegrationResult): void;
  /** A frame from a client (MessageCount). */
  messageIn(): void;
  /** A frame to a client (MessageCount). */
  messageOut(): void;
  /** A 4XX API Gateway answered before any integration ran (ClientError). */
  clientError(): void;
}

export interface GatewayOptions {
  readonly model: StackModel;
  readonly runner: (functionName: string) => FunctionRunner;
  readonly connections: ConnectionRegistry;
  readonly ledger: ConnectionLedger;
  /** @default DEFAULT_IDLE_TIMEOUT_MS */
  readonly idleTimeoutMs?: number;
  /** @default DEFAULT_MAX_CONNECTION_MS */
  readonly maxConnectionMs?: number;
  readonly log: (line: string) => void;
  readonly observer?: GatewayObserver;
}

export class WebSocketGateway {
  private readonly wss: WebSocketServer;
  private readonly routes: ReadonlyMap<string, RouteModel>;
  private readonly selectRoute: RouteSelector;
  private readonly api: ApiDetails;
  /** Headers a $connect integration returned, for the 101 response of that handshake. */
  private readonly handshakeHeaders = new WeakMap<IncomingMessage, Record<string, string>>();
  /** Handshakes waiting for $connect, messages being handled and $disconnects running: shutdown waits for them. */
  private readonly inFlight = new Set<Promise<unknown>>();
  private accepting = true;
  /** Set by abandon(): sockets end without $disconnect, as in a crash. */
  private abandoned = false;

  constructor(private readonly options: GatewayOptions) {
    const { model } = options;
    this.api = { apiId: model.api.id, stage: model.stage.name, ...(model.stage.variables ? { stageVariables: model.stage.variables } : {}) };
    this.routes = new Map(model.routes.map((route) => [route.routeKey, route]));
    this.selectRoute = routeSelector(model.api.routeSelectionExpression, this.routes.keys());
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: MESSAGE_LIMIT_BYTES,
      // API Gateway negotiates no extensions.
      perMessageDeflate: false,
      // A subprotocol is accepted only when $connect returns it in Sec-WebSocket-Protocol, as on AWS.
      handleProtocols: (protocols, request) => {
        const chosen = headerValue(this.handshakeHeaders.get(request), "sec-websocket-protocol");
        return chosen !== undefined && protocols.has(chosen) ? chosen : false;
      },
    });
    this.wss.on("headers", (headers, request) => {
      for (const [name, value] of Object.entries(this.handshakeHeaders.get(request) ?? {})) {
        if (!/^(sec-websocket-|connection$|upgrade$|content-length$)/i.test(name)) headers.push(`${name}: ${value}`);
      }
    });
  }

  /** Whether an upgrade request is for this stage's path (`/<stage>`). */
  isStagePath(url: string | undefined): boolean {
    const path = new URL(url ?? "/", "http://localhost").pathname;
    return path === `/${this.api.stage}` || path === `/${this.api.stage}/`;
  }

  /** Handles an HTTP upgrade request: $connect first, then the WebSocket handshake. */
  handleUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): void {
    this.track(
      this.connect(request, socket, head).catch((error: unknown) => {
        rejectHandshake(socket, 500, { message: INTERNAL_SERVER_ERROR });
        throw error;
      }),
    );
  }

  private async connect(request: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on("error", () => undefined);
    if (!this.accepting) return rejectHandshake(socket, 503, { message: "Service Unavailable" });
    if (!this.isStagePath(request.url)) return rejectHandshake(socket, 403, { message: "Forbidden" });
    const key = request.headers["sec-websocket-key"];
    if (
      request.method !== "GET" ||
      request.headers.upgrade?.toLowerCase() !== "websocket" ||
      typeof key !== "string" ||
      !/^[+/0-9A-Za-z]{22}==$/.test(key) ||
      request.headers["sec-websocket-version"] !== "13"
    ) {
      return rejectHandshake(socket, 400, { message: "Bad Request" });
    }

    let connection: ConnectionDetails = {
      connectionId: gatewayId(),
      connectedAt: Date.now(),
      sourceIp: clientIp(socket),
      ...(request.headers["user-agent"] === undefined ? {} : { userAgent: request.headers["user-agent"] }),
      domainName: request.headers.host ?? "localhost",
    };
    const route = this.routes.get("$connect");
    if (route) {
      const localPort = (socket as { localPort?: number }).localPort ?? 0;
      const event = connectEvent(this.api, connection, request, localPort);
      if (route.authorizer) {
        const { authorizer } = route;
        const decision = await authorizeConnect(authorizer, () => this.options.runner(authorizer.functionName), event);
        const outcome = decision.allowed ? "allowed" : `${decision.status} (${decision.detail})`;
        this.options.log(`authorizer ${authorizer.name} ${connection.connectionId} ${outcome} ${decision.durationMs}ms`);
        if (!decision.allowed && decision.status < 500) this.options.observer?.clientError();
        if (!decision.allowed) return rejectHandshake(socket, decision.status, { message: decision.message, connectionId: connection.connectionId, requestId: event.requestContext.requestId });
        connection = { ...connection, authorizer: requestAuthorizer(decision) };
        event.requestContext.authorizer = requestAuthorizer(decision);
      }
      const result = await invokeIntegration(route, this.options.runner(route.functionName), event);
      this.logInvocation("$connect", connection.connectionId, result);
      if (result.kind !== "response" || result.statusCode < 200 || result.statusCode > 299) {
        const status = result.kind === "response" ? result.statusCode : result.kind === "timeout" ? 504 : 500;
        const message = result.kind === "timeout" ? ENDPOINT_TIMED_OUT : result.kind === "error" ? INTERNAL_SERVER_ERROR : undefined;
        return rejectHandshake(socket, status, message ? { message, connectionId: connection.connectionId, requestId: event.requestContext.requestId } : undefined);
      }
      this.handshakeHeaders.set(request, result.headers);
    }
    this.options.ledger.add(connection);

    if (socket.destroyed || !socket.writable) {
      // The client gave up while $connect ran; the connection was accepted, so it gets its $disconnect.
      this.track(this.disconnect(connection, 1006, "Client went away before the handshake completed"));
      return;
    }
    if (!this.accepting) {
      // Shutdown began while $connect ran: too late to open, but $connect's work must be undone.
      rejectHandshake(socket, 503, { message: "Service Unavailable" });
      if (!this.abandoned) this.track(this.disconnect(connection, GOING_AWAY, "Going away"));
      return;
    }
    this.wss.handleUpgrade(request, socket, head, (ws) => this.open(ws, connection));
  }

  private open(ws: WebSocket, details: ConnectionDetails): void {
    const idleTimeoutMs = this.options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
    // What resets the idle timeout: AWS's quota table says only "Idle Connection Timeout: 10 minutes"
    // (https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-execution-service-websocket-limits-table.html).
    // What is observed on AWS: data frames in either direction count, so a server that posts through
    // @connections keeps a silent client connected up to the 2-hour limit (https://hotsock.io/docs/connections/keep-alive),
    // while WebSocket ping/pong control frames do not (https://github.com/andyrichardson/subscriptionless/issues/3).
    // So here: client frames, @connections posts and route replies reset it; pings do not.
    const idle = setTimeout(() => this.close(connection, GOING_AWAY, "Going away"), idleTimeoutMs).unref();
    const connection: LiveConnection = {
      ...details,
      socket: ws,
      lastActiveAt: Date.now(),
      markActive: () => {
        connection.lastActiveAt = Date.now();
        idle.refresh();
      },
    };
    this.options.connections.add(connection);
    limitFrameSize(ws, FRAME_LIMIT_BYTES);
    const lifetime = setTimeout(() => this.close(connection, GOING_AWAY, "Going away"), this.options.maxConnectionMs ?? DEFAULT_MAX_CONNECTION_MS).unref();

    ws.on("message", (data: RawData, isBinary: boolean) => {
      connection.markActive();
      this.track(this.onMessage(connection, toBuffer(data), isBinary));
    });
    ws.on("error", (error: Error & { code?: string }) => {
      // ws closes the connection itself after a protocol error; remember the code it closes with.
      connection.serverClose ??= { code: statusCodeOf(error) ?? 1002, reason: error.message };
      this.options.log(`gateway: connection ${connection.connectionId} closed by the gateway: ${error.message}`);
    });
    ws.on("close", (code: number, reason: Buffer) => {
      clearTimeout(idle);
      clearTimeout(lifetime);
      this.options.connections.remove(connection.connectionId);
      if (this.abandoned) return;
      const close = connection.serverClose ?? { code, reason: reason.toString("utf8") };
      this.track(this.disconnect(connection, close.code, close.reason));
    });
  }

  private async onMessage(connection: LiveConnection, data: Buffer, isBinary: boolean): Promise<void> {
    const routeKey = isBinary ? DEFAULT_ROUTE : this.selectRoute(data.toString("utf8"));
    const route = this.routes.get(routeKey);
    const event = messageEvent(this.api, connection, routeKey, data, isBinary);
    const { requestId } = event.requestContext;
    this.options.observer?.messageIn();
    if (!route) {
      this.options.observer?.clientError();
      this.options.log(`route (none) ${connection.connectionId} 403 0ms: no route matches and there is no $default route`);
      return send(connection, JSON.stringify({ message: "Forbidden", connectionId: connection.connectionId, requestId }));
    }
    const result = await invokeIntegration(route, this.options.runner(route.functionName), event);
    this.logInvocation(routeKey, connection.connectionId, result);
    if (result.kind !== "response") {
      const message = result.kind === "timeout" ? ENDPOINT_TIMED_OUT : INTERNAL_SERVER_ERROR;
      this.options.observer?.messageOut();
      return send(connection, JSON.stringify({ message, connectionId: connection.connectionId, requestId }));
    }
    if (route.hasRouteResponse && result.body !== undefined) {
      this.options.observer?.messageOut();
      send(connection, result.isBase64Encoded ? Buffer.from(result.body, "base64") : result.body);
    }
  }

  private async disconnect(connection: ConnectionDetails, code: number, reason: string): Promise<void> {
    const route = this.routes.get("$disconnect");
    if (route) {
      const event = disconnectEvent(this.api, connection, code, reason);
      const result = await invokeIntegration(route, this.options.runner(route.functionName), event);
      this.logInvocation("$disconnect", connection.connectionId, result);
    }
    this.options.ledger.remove(connection.connectionId);
  }

  /** Runs the stack's $disconnect for a connection this process never saw close (left over from a crash). */
  cleanUp(connection: ConnectionDetails): Promise<void> {
    return this.disconnect(connection, 1006, "Going away: the local runtime restarted");
  }

  /** Closes a connection from the server side (DELETE @connections, timeouts, shutdown). */
  close(connection: LiveConnection, code: number, reason: string): void {
    const ws = connection.socket;
    if (ws.readyState === WebSocket.CLOSED) return;
    connection.serverClose ??= { code, reason };
    if (ws.readyState === WebSocket.OPEN) ws.close(code, reason);
    // A client that never answers the close frame is dropped, as it would be by API Gateway.
    setTimeout(() => ws.terminate(), CLOSE_GRACE_MS).unref();
  }

  /** Stops accepting, closes every connection with 1001 and waits until every invocation, $disconnect included, has ended. */
  async shutdown(): Promise<void> {
    this.accepting = false;
    for (const connection of this.options.connections.all()) this.close(connection, GOING_AWAY, "Going away");
    while (this.inFlight.size > 0 || this.options.connections.size > 0) {
      await Promise.race([...this.inFlight, delay(50)]);
    }
    this.wss.close();
  }

  /** Drops every socket at once without running $disconnect: what a crash does (for tests). */
  abandon(): void {
    this.accepting = false;
    this.abandoned = true;
    for (const connection of this.options.connections.all()) connection.socket.terminate();
    this.wss.close();
  }

  /** Keeps a task for shutdown to wait on; a bug in it is logged, never an unhandled rejection. */
  private track(task: Promise<unknown>): void {
    const tracked = task
      .catch((error: unknown) => this.options.log(`gateway: ${(error as Error).stack ?? String(error)}`))
      .finally(() => this.inFlight.delete(tracked));
    this.inFlight.add(tracked);
  }

  private logInvocation(routeKey: string, connectionId: string, result: IntegrationResult): void {
    this.options.observer?.integration(routeKey, result);
    const status = result.kind === "response" ? String(result.statusCode) : result.kind === "timeout" ? "504" : "500";
    const detail = result.kind === "response" ? "" : ` (${result.kind === "timeout" ? ENDPOINT_TIMED_OUT : INTERNAL_SERVER_ERROR}: ${result.detail})`;
    this.options.log(`route ${routeKey} ${connectionId} ${status} ${result.durationMs}ms${detail}`);
  }
}

function send(connection: LiveConnection, data: string | Buffer): void {
  // API Gateway sends text frames; a closed connection simply gets nothing.
  if (connection.socket.readyState !== WebSocket.OPEN) return;
  connection.socket.send(data, { binary: false });
  connection.markActive();
}

function rejectHandshake(socket: Duplex, status: number, body?: Record<string, unknown>): void {
  if (socket.destroyed) return;
  const text = body ? JSON.stringify(body) : "";
  socket.once("finish", () => socket.destroy());
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? "Error"}\r\n` +
      "Connection: close\r\n" +
      "Content-Type: application/json\r\n" +
      `Content-Length: ${Buffer.byteLength(text)}\r\n\r\n${text}`,
  );
}

function clientIp(socket: Duplex): string {
  const address = (socket as { remoteAddress?: string }).remoteAddress ?? "127.0.0.1";
  return address.replace(/^::ffff:/, "");
}

function headerValue(headers: Record<string, string> | undefined, name: string): string | undefined {
  const entry = Object.entries(headers ?? {}).find(([key]) => key.toLowerCase() === name);
  return entry?.[1];
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

/** The close code ws attached to a protocol error (1009 for too big, 1007 for bad UTF-8, ...). */
function statusCodeOf(error: Error): number | undefined {
  const symbol = Object.getOwnPropertySymbols(error).find((s) => s.description === "status-code");
  const code = symbol ? (error as unknown as Record<symbol, unknown>)[symbol] : undefined;
  return typeof code === "number" ? code : undefined;
}

/** The parts of ws's (private) Receiver the frame limit hooks into; ws 8 has had them throughout. */
interface ReceiverInternals {
  _opcode: number;
  _payloadLength: number;
  haveLength(cb: (error?: Error) => void): void;
  createError(ctor: ErrorConstructor, message: string, prefix: boolean, statusCode: number, errorCode: string): Error;
}

/**
 * ws's maxPayload bounds a whole message (128 KB here) and each frame by the same number, but API Gateway
 * also caps each frame at 32 KB. The check goes where ws checks maxPayload, as soon as a frame's length is
 * known, so the error takes ws's own path for an oversized message: close 1009 and drop the socket.
 */
function limitFrameSize(ws: WebSocket, limit: number): void {
  const receiver = (ws as unknown as { _receiver?: ReceiverInternals })._receiver;
  if (!receiver || typeof receiver.haveLength !== "function" || typeof receiver.createError !== "function") {
    throw new Error("ws's Receiver has changed: the local runtime cannot enforce the 32 KB frame limit (see limitFrameSize in local/gateway/websocket-gateway.ts)");
  }
  const haveLength = receiver.haveLength;
  receiver.haveLength = function (this: ReceiverInternals, cb) {
    // Opcodes below 8 are data frames (continuations carry their message's opcode); control frames are ws's.
    if (this._opcode < 0x08 && this._payloadLength > limit) {
      cb(this.createError(RangeError, `Frame size exceeded (${this._payloadLength} > ${limit} bytes)`, false, MESSAGE_TOO_BIG, "WS_ERR_UNSUPPORTED_MESSAGE_LENGTH"));
      return;
    }
    haveLength.call(this, cb);
  };
}
