/**
 * Calls straight to dynalite, for what the local runtime does on DynamoDB's behalf (creating tables,
 * running transactions, expiring items): not a caller's request, so neither the SDK nor the IAM proxy.
 */
import { Agent, request } from "node:http";

export interface StoreResponse {
  readonly status: number;
  readonly body: Record<string, unknown>;
}

export class StoreClient {
  private readonly agent = new Agent({ keepAlive: true });

  constructor(
    readonly endpoint: string,
    private readonly region: string,
  ) {}

  /** One DynamoDB JSON call; dynalite checks only that a signature is present. */
  call(operation: string, input: unknown): Promise<StoreResponse> {
    const payload = JSON.stringify(input);
    const date = new Date().toISOString().replace(/[-:]/g, "").replace(/\.\d+/, "");
    return new Promise((resolve, reject) => {
      const req = request(
        `${this.endpoint}/`,
        {
          method: "POST",
          agent: this.agent,
          headers: {
            "Content-Type": "application/x-amz-json-1.0",
            "X-Amz-Target": `DynamoDB_20120810.${operation}`,
            "X-Amz-Date": date,
            Authorization: `AWS4-HMAC-SHA256 Credential=local-runtime/${date.slice(0, 8)}/${this.region}/dynamodb/aws4_request, SignedHeaders=host;x-amz-date, Signature=${"0".repeat(64)}`,
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (chunk: Buffer) => chunks.push(chunk));
          res.on("end", () => {
            const text = Buffer.concat(chunks).toString("utf8");
            resolve({ status: res.statusCode ?? 500, body: (text ? JSON.parse(text) : {}) as Record<string, unknown> });
          });
          res.on("error", reject);
        },
      );
      req.on("error", reject);
      req.end(payload);
    });
  }

  /** Like `call`, but an error answer throws, naming the operation and DynamoDB's message. */
  async must(operation: string, input: unknown): Promise<Record<string, unknown>> {
    const { status, body } = await this.call(operation, input);
    if (status !== 200) throw new Error(`${operation} failed: ${String(body.__type ?? status)}: ${String(body.message ?? body.Message ?? "")}`);
    return body;
  }

  destroy(): void {
    this.agent.destroy();
  }
}

/** The short error type of a DynamoDB error body (`com.amazonaws...#ConditionalCheckFailedException` → the name). */
export function errorType(body: Record<string, unknown>): string {
  const type = String(body.__type ?? "");
  return type.slice(type.lastIndexOf("#") + 1);
}
