import { createHash } from "node:crypto";
import { createServer, IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** What SQS says of one refused entry of a SendMessageBatch. */
export interface EntryRefusal {
  readonly code: string;
  /** True when the entry itself is at fault (sending it again cannot help). */
  readonly senderFault: boolean;
}

/**
 * A real HTTP server answering SendMessageBatch in SQS's JSON protocol, for the real @aws-sdk/client-sqs:
 * it keeps every accepted body and refuses, entry by entry, what SQS would (an entry over 256 KiB) and what
 * a test asks it to. The local runtime's SQS (local/services/sqs) is the real part for everything else; it
 * cannot be told to refuse one valid entry of a batch, which SQS may do (KMS throttling, an internal error).
 */
export class FakeSqs {
  /** Bodies accepted, in arrival order. */
  readonly accepted: string[] = [];
  /** Bodies refused, in arrival order. */
  readonly refused: string[] = [];
  /** Decides, entry by entry, what to refuse besides oversized entries. */
  refuse: (body: string) => EntryRefusal | undefined = () => undefined;

  private constructor(private readonly server: Server, readonly endpoint: string) {}

  static async start(): Promise<FakeSqs> {
    let sqs: FakeSqs | undefined;
    const server = createServer((request, response) => void sqs!.handle(request, response));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    sqs = new FakeSqs(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    return sqs;
  }

  reset(): void {
    this.accepted.length = 0;
    this.refused.length = 0;
    this.refuse = () => undefined;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve, reject) => this.server.close((error) => (error ? reject(error) : resolve())));
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const target = String(request.headers["x-amz-target"] ?? "");
    if (target !== "AmazonSQS.SendMessageBatch") return answer(response, 400, { __type: "com.amazon.coral.service#UnknownOperationException", message: target });
    const { Entries } = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { Entries: Array<{ Id: string; MessageBody: string }> };
    const Successful: object[] = [];
    const Failed: object[] = [];
    for (const { Id, MessageBody } of Entries) {
      const refusal =
        Buffer.byteLength(MessageBody) > MAX_MESSAGE_BYTES ? { code: "InvalidParameterValue", senderFault: true } : this.refuse(MessageBody);
      if (refusal) {
        this.refused.push(MessageBody);
        Failed.push({ Id, Code: refusal.code, SenderFault: refusal.senderFault, Message: `refused: ${refusal.code}` });
      } else {
        this.accepted.push(MessageBody);
        Successful.push({ Id, MessageId: `m-${this.accepted.length}`, MD5OfMessageBody: createHash("md5").update(MessageBody).digest("hex") });
      }
    }
    answer(response, 200, { Successful, Failed });
  }
}

/** SQS's default (and this queue's) MaximumMessageSize. */
const MAX_MESSAGE_BYTES = 262_144;

function answer(response: ServerResponse, status: number, body: object): void {
  response.writeHead(status, { "content-type": "application/x-amz-json-1.0" }).end(JSON.stringify(body));
}
