/**
 * The open WebSocket connections (shared by the gateway, which opens and closes them, and the management
 * API, which posts to, describes and deletes them), and the ledger of connection ids whose $disconnect
 * has not run yet, which survives a crash when the runtime keeps its data on disk.
 */
import { appendFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { WebSocket } from "ws";
import type { ConnectionDetails } from "./events";

export interface LiveConnection extends ConnectionDetails {
  readonly socket: WebSocket;
  /** Epoch ms of the last data frame either way: what API Gateway's idle timeout counts from. */
  lastActiveAt: number;
  /** Records a data frame sent or received now, restarting the idle timeout. */
  markActive(): void;
  /** Set when the server closes the connection: what $disconnect reports, whatever the client answers. */
  serverClose?: { readonly code: number; readonly reason: string };
}

export class ConnectionRegistry {
  private readonly open = new Map<string, LiveConnection>();

  add(connection: LiveConnection): void {
    this.open.set(connection.connectionId, connection);
  }

  remove(id: string): void {
    this.open.delete(id);
  }

  /** The connection if it is open (not closing): only those can be posted to. */
  get(id: string): LiveConnection | undefined {
    const connection = this.open.get(id);
    return connection && connection.socket.readyState === connection.socket.OPEN ? connection : undefined;
  }

  all(): LiveConnection[] {
    return [...this.open.values()];
  }

  get size(): number {
    return this.open.size;
  }
}

/**
 * Connections that passed $connect and have not finished $disconnect. With a data dir it is also a journal
 * on disk (one line appended per change, so thousands of connections cost no more than one write each),
 * from which the next start learns what a crash left behind and runs the stack's own $disconnect for it.
 */
export class ConnectionLedger {
  private readonly entries = new Map<string, ConnectionDetails>();
  private readonly file?: string;

  constructor(dataDir?: string) {
    this.file = dataDir ? join(dataDir, "connections.jsonl") : undefined;
    if (this.file && existsSync(this.file)) {
      for (const line of readFileSync(this.file, "utf8").split("\n")) this.replay(line);
    }
    // Start the journal afresh with just what is pending.
    if (this.file) writeFileSync(this.file, [...this.entries.values()].map((e) => `${JSON.stringify({ open: e })}\n`).join(""));
  }

  /** Connections left over from an earlier run of the runtime on the same data dir. */
  pending(): ConnectionDetails[] {
    return [...this.entries.values()];
  }

  add(connection: ConnectionDetails): void {
    this.entries.set(connection.connectionId, connection);
    this.append({ open: connection });
  }

  remove(id: string): void {
    if (this.entries.delete(id)) this.append({ closed: id });
  }

  private append(record: JournalRecord): void {
    if (this.file) appendFileSync(this.file, `${JSON.stringify(record)}\n`);
  }

  private replay(line: string): void {
    let record: JournalRecord;
    try {
      record = JSON.parse(line) as JournalRecord;
    } catch {
      return; // an empty line, or the torn last line of a crash
    }
    if ("open" in record && typeof record.open?.connectionId === "string") this.entries.set(record.open.connectionId, record.open);
    else if ("closed" in record) this.entries.delete(record.closed);
  }
}

type JournalRecord = { readonly open: ConnectionDetails } | { readonly closed: string };
