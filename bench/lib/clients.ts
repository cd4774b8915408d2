import { WebSocket } from "ws";

export type Frame = Record<string, unknown>;

/**
 * Many WebSocket clients of one server, in this process. Every frame any of them receives goes to
 * `onFrame`, which a figure sets to whatever it is measuring.
 */
export class ClientPool {
  readonly sockets: WebSocket[] = [];
  onFrame: (client: number, frame: Frame) => void = () => undefined;

  constructor(private readonly url: string) {}

  /** Opens clients, `parallel` handshakes at a time, until the pool holds `total`. */
  async grow(total: number, parallel = 50): Promise<void> {
    let next = this.sockets.length;
    this.sockets.length = Math.max(this.sockets.length, total);
    const opener = async () => {
      while (next < total) {
        const index = next++;
        this.sockets[index] = await this.open(index);
      }
    };
    await Promise.all(Array.from({ length: parallel }, opener));
  }

  send(client: number, frame: Frame): void {
    this.sockets[client].send(JSON.stringify(frame));
  }

  /** The next frame client `client` receives that `match` accepts. */
  next(client: number, match: (frame: Frame) => boolean, timeoutMs = 30_000): Promise<Frame> {
    const previous = this.onFrame;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.onFrame = previous;
        reject(new Error(`client ${client} got no matching frame within ${timeoutMs} ms`));
      }, timeoutMs);
      this.onFrame = (index, frame) => {
        if (index === client && match(frame)) {
          clearTimeout(timer);
          this.onFrame = previous;
          resolve(frame);
        } else {
          previous(index, frame);
        }
      };
    });
  }

  /** The connection id the server gave a client, from the `info` frame `$default` answers with. */
  async connectionId(client: number): Promise<string> {
    const info = this.next(client, (frame) => frame.type === "info");
    this.send(client, { action: "whoami" });
    return String((await info).connectionId);
  }

  closeAll(): void {
    for (const socket of this.sockets) socket?.terminate();
    this.sockets.length = 0;
  }

  private open(index: number): Promise<WebSocket> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(this.url, { perMessageDeflate: false });
      socket.on("message", (data) => {
        const frame = parseFrame(data.toString());
        if (frame) this.onFrame(index, frame);
      });
      socket.once("open", () => resolve(socket));
      socket.once("error", (error) => reject(new Error(`client ${index} could not connect: ${error.message}`)));
      socket.once("unexpected-response", (_request, response) => reject(new Error(`client ${index} was refused: HTTP ${response.statusCode}`)));
    });
  }
}

function parseFrame(text: string): Frame | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === "object" && value !== null ? (value as Frame) : undefined;
  } catch {
    return undefined;
  }
}
