/**
 * A route handler that hands the frame's `messages` to the queue at QUEUE_URL with SendMessageBatch, through
 * the SDK's default client (its endpoint and credentials come from the environment, as on AWS), and replies
 * with what SQS answered: `{sent, failed}` or `{error, message}`.
 */
import { SendMessageBatchCommand, SQSClient } from "@aws-sdk/client-sqs";

const sqs = new SQSClient({});

export const handler = async (event: { body?: string }) => {
  const frame = JSON.parse(event.body ?? "{}") as { messages?: string[] };
  try {
    const result = await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: process.env.QUEUE_URL,
        Entries: (frame.messages ?? []).map((body, index) => ({
          Id: `m${index}`,
          MessageBody: body,
          MessageAttributes: { kind: { DataType: "String", StringValue: "probe" } },
        })),
      }),
    );
    return { statusCode: 200, body: JSON.stringify({ sent: result.Successful?.length ?? 0, failed: result.Failed ?? [] }) };
  } catch (error) {
    return { statusCode: 200, body: JSON.stringify({ error: (error as Error).name, message: (error as Error).message }) };
  }
};
