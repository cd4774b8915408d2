/**
 * SQS in the local runtime, end to end: the chat stack plus queues built by the real FanOutQueue construct,
 * the real @aws-sdk/client-sqs against the local endpoint, and probe consumers running in the runtime's
 * worker-thread Lambda environments, invoked by the emulated event source mappings.
 */
import {
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ListQueuesCommand,
  PurgeQueueCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
} from "@aws-sdk/client-sqs";
import { createHash } from "node:crypto";
import { startLocalRuntime, type LocalRuntime } from "../local/runtime";
import { loadStackModel } from "../local/terraform/stack-model";
import { md5OfMessageAttributes } from "../local/services/sqs/messages";
import { readProbeLog, writeVariant, type TerraformJson } from "./support/local-stacks";
import { consumerName, PRODUCER_NAME, queueName, synthesizeQueueWorkspace, type ProbeQueue, type QueueWorkspace } from "./support/sqs-stacks";
import { LogCollector, TestClient, waitFor } from "./support/ws-client";

let workspace: QueueWorkspace;
let runtime: LocalRuntime;
const logs = new LogCollector();

const md5 = (text: string) => createHash("md5").update(text).digest("hex");

interface ProbeInvocation {
  startedAt: number;
  plannedMs: number;
  event: { Records: Array<{ messageId: string; body: string; attributes: Record<string, string>; [key: string]: unknown }> };
}

const invocations = (queue: ProbeQueue): ProbeInvocation[] => readProbeLog(workspace.probeLog(queue));
/** Every delivery of a message whose body contains `marker`, in order. */
const deliveries = (queue: ProbeQueue, marker: string) =>
  invocations(queue).flatMap((i) => i.event.Records.filter((r) => r.body.includes(marker)).map((record) => ({ ...record, invocation: i })));

function sqsClient(target: LocalRuntime = runtime, credentials = target.adminCredentials): SQSClient {
  return new SQSClient({ endpoint: target.sqsEndpoint, region: target.region, credentials, maxAttempts: 1 });
}

const urlOf = (name: string, target: LocalRuntime = runtime) => target.model.queues.find((q) => q.name === name)!.url;

function credentialsOf(functionName: string) {
  const env = runtime.environmentOf(functionName);
  return { accessKeyId: env.AWS_ACCESS_KEY_ID!, secretAccessKey: env.AWS_SECRET_ACCESS_KEY!, sessionToken: env.AWS_SESSION_TOKEN! };
}

let sqs: SQSClient;
beforeAll(async () => {
  workspace = synthesizeQueueWorkspace("local-sqs");
  runtime = await startLocalRuntime({ stackDir: workspace.stackDir, port: 0, log: logs.log });
  sqs = sqsClient();
}, 60_000);

afterAll(async () => {
  sqs?.destroy();
  await runtime?.stop();
  workspace?.remove();
});

describe("the model of queues and event source mappings", () => {
  test("queues keep their settings and redrive policy, and their URLs point at the local runtime", () => {
    const retries = runtime.model.queues.find((q) => q.name === "chat-retries")!;
    expect(retries).toMatchObject({
      arn: "arn:aws:sqs:us-east-1:000000000000:chat-retries",
      url: `${runtime.sqsEndpoint}/000000000000/chat-retries`,
      visibilityTimeoutSeconds: 2,
      redrivePolicy: { deadLetterTargetArn: "arn:aws:sqs:us-east-1:000000000000:chat-retries-dlq", maxReceiveCount: 2 },
      sqsManagedSseEnabled: true,
    });
    expect(runtime.environmentOf(PRODUCER_NAME).QUEUE_URL).toBe(retries.url);
    expect(runtime.environmentOf(PRODUCER_NAME).AWS_ENDPOINT_URL_SQS).toBe(runtime.sqsEndpoint);
  });

  test("a consumer no route reaches runs, because an event source mapping invokes it", () => {
    const mapping = runtime.model.eventSourceMappings.find((m) => m.functionName === consumerName("batches"));
    expect(mapping).toMatchObject({ batchSize: 3, maximumConcurrency: 2, reportBatchItemFailures: true, enabled: true });
    expect(runtime.model.functions.map((f) => f.name)).toContain(consumerName("batches"));
  });
});

describe("the SQS API, with the real SDK", () => {
  test("a function sends with its own grant, through the endpoint its environment names, and the consumer gets Lambda's SQS event", async () => {
    const client = await TestClient.connect(runtime.wsUrl);
    const reply = await client.exchange({ action: "enqueue", messages: ['{"note":"from the producer"}'] }, 10_000);
    client.socket.terminate();
    expect(reply).toEqual({ sent: 1, failed: [] });
    const [record] = await waitFor(() => deliveries("retries", "from the producer").length > 0 && deliveries("retries", "from the producer"), 10_000);
    expect(record).toMatchObject({
      body: '{"note":"from the producer"}',
      md5OfBody: md5('{"note":"from the producer"}'),
      messageAttributes: { kind: { stringValue: "probe", stringListValues: [], binaryListValues: [], dataType: "String" } },
      md5OfMessageAttributes: md5OfMessageAttributes({ kind: { DataType: "String", StringValue: "probe" } }),
      eventSource: "aws:sqs",
      eventSourceARN: "arn:aws:sqs:us-east-1:000000000000:chat-retries",
      awsRegion: "us-east-1",
      attributes: { ApproximateReceiveCount: "1", SenderId: expect.stringMatching(/^AROA[A-Z2-7]{17}:chat-enqueue$/) },
    });
    expect(record!.messageId).toMatch(/^[0-9a-f-]{36}$/);
    expect(Number(record!.attributes.ApproximateFirstReceiveTimestamp)).toBeGreaterThanOrEqual(Number(record!.attributes.SentTimestamp));
  });

  test("a function without the grant is denied SendMessage with SQS's AccessDenied, and the runtime logs it", async () => {
    const denied = sqsClient(runtime, credentialsOf("chat-join"));
    await expect(denied.send(new SendMessageCommand({ QueueUrl: urlOf("chat-retries"), MessageBody: "not allowed" }))).rejects.toMatchObject({
      name: "AccessDenied",
      message:
        "User: arn:aws:sts::000000000000:assumed-role/chat-join-us-east-1-fn/chat-join is not authorized to perform: sqs:sendmessage on resource: arn:aws:sqs:us-east-1:000000000000:chat-retries because no identity-based policy allows the sqs:sendmessage action",
      $metadata: { httpStatusCode: 403 },
    });
    expect(logs.matching(/^IAM denied chat-join: sqs:SendMessage on arn:aws:sqs:us-east-1:000000000000:chat-retries /)).toHaveLength(1);
    denied.destroy();
  });

  test("a consumer's grant covers only what Lambda's poller needs: it may not send to its own queue", async () => {
    const consumer = sqsClient(runtime, credentialsOf(consumerName("batches")));
    await expect(consumer.send(new SendMessageCommand({ QueueUrl: urlOf("chat-batches"), MessageBody: "x" }))).rejects.toMatchObject({ name: "AccessDenied" });
    const attributes = await consumer.send(new GetQueueAttributesCommand({ QueueUrl: urlOf("chat-batches"), AttributeNames: ["QueueArn"] }));
    expect(attributes.Attributes).toEqual({ QueueArn: "arn:aws:sqs:us-east-1:000000000000:chat-batches" });
    consumer.destroy();
  });

  test("SendMessageBatch sends the valid entries and lists the invalid ones apart", async () => {
    const result = await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: urlOf("chat-timeouts-dlq"),
        Entries: [
          { Id: "good", MessageBody: "fine" },
          { Id: "bad", MessageBody: "not \u0000 allowed" },
        ],
      }),
    );
    expect(result.Successful).toEqual([{ Id: "good", MessageId: expect.any(String), MD5OfMessageBody: md5("fine") }]);
    expect(result.Failed).toEqual([{ Id: "bad", SenderFault: true, Code: "InvalidMessageContents", Message: expect.stringMatching(/^Invalid characters found/) }]);
  });

  test.each([
    ["more than 10 entries", "TooManyEntriesInBatchRequest", Array.from({ length: 11 }, (_, i) => ({ Id: `m${i}`, MessageBody: "x" }))],
    ["no entries", "EmptyBatchRequest", []],
    ["a repeated id", "BatchEntryIdsNotDistinct", [{ Id: "a", MessageBody: "x" }, { Id: "a", MessageBody: "y" }]],
    ["an id with a space", "InvalidBatchEntryId", [{ Id: "a b", MessageBody: "x" }]],
    ["over 1 MiB in all", "BatchRequestTooLong", Array.from({ length: 5 }, (_, i) => ({ Id: `m${i}`, MessageBody: "x".repeat(250_000) }))],
  ])("a batch with %s is refused whole with %s", async (_what, name, entries) => {
    await expect(sqs.send(new SendMessageBatchCommand({ QueueUrl: urlOf("chat-timeouts-dlq"), Entries: entries }))).rejects.toMatchObject({
      name,
      $metadata: { httpStatusCode: 400 },
    });
  });

  test("a message over the queue's maximum size is refused", async () => {
    await expect(sqs.send(new SendMessageCommand({ QueueUrl: urlOf("chat-timeouts-dlq"), MessageBody: "x".repeat(262_145) }))).rejects.toMatchObject({
      name: "InvalidParameterValue",
      message: "One or more parameters are invalid. Reason: Message must be shorter than 262144 bytes.",
    });
  });

  test("a received message stays invisible until deleted with its latest receipt handle, or made visible again", async () => {
    // The dead-letter queue of `batches` has no event source mapping: only these calls touch it.
    const QueueUrl = urlOf("chat-batches-dlq");
    await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: "by hand", MessageAttributes: { n: { DataType: "Number", StringValue: "7" } } }));
    const first = await sqs.send(new ReceiveMessageCommand({ QueueUrl, MessageSystemAttributeNames: ["All"], MessageAttributeNames: ["All"] }));
    expect(first.Messages).toEqual([
      expect.objectContaining({
        Body: "by hand",
        MD5OfBody: md5("by hand"),
        MessageAttributes: { n: { DataType: "Number", StringValue: "7" } },
        Attributes: expect.objectContaining({ ApproximateReceiveCount: "1" }),
      }),
    ]);
    expect((await sqs.send(new ReceiveMessageCommand({ QueueUrl }))).Messages).toBeUndefined();
    const counts = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"] }));
    expect(counts.Attributes).toEqual({ ApproximateNumberOfMessages: "0", ApproximateNumberOfMessagesNotVisible: "1" });

    const oldHandle = first.Messages![0]!.ReceiptHandle!;
    await sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl, ReceiptHandle: oldHandle, VisibilityTimeout: 0 }));
    const second = await sqs.send(new ReceiveMessageCommand({ QueueUrl, MessageSystemAttributeNames: ["ApproximateReceiveCount"] }));
    expect(second.Messages![0]).toMatchObject({ Body: "by hand", Attributes: { ApproximateReceiveCount: "2" } });

    // An older handle "succeeds" without deleting, as on SQS; the latest one deletes.
    await sqs.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: oldHandle }));
    await sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl, ReceiptHandle: second.Messages![0]!.ReceiptHandle!, VisibilityTimeout: 0 }));
    const third = await sqs.send(new ReceiveMessageCommand({ QueueUrl }));
    await sqs.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: third.Messages![0]!.ReceiptHandle! }));
    await sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl, ReceiptHandle: third.Messages![0]!.ReceiptHandle!, VisibilityTimeout: 0 })).catch(() => undefined);
    const after = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ["All"] }));
    expect(after.Attributes).toMatchObject({ ApproximateNumberOfMessages: "0", ApproximateNumberOfMessagesNotVisible: "0", QueueArn: "arn:aws:sqs:us-east-1:000000000000:chat-batches-dlq" });
  });

  test("a long poll returns as soon as a message arrives", async () => {
    const QueueUrl = urlOf("chat-batches-dlq");
    const started = Date.now();
    const receive = sqs.send(new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 10 }));
    setTimeout(() => void sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: "worth the wait" })), 300);
    const { Messages } = await receive;
    expect(Messages?.[0]?.Body).toBe("worth the wait");
    expect(Date.now() - started).toBeLessThan(5_000);
    await sqs.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: Messages![0]!.ReceiptHandle! }));
  });

  test("errors carry SQS's names: an unknown queue, a bad receipt handle, a call the stack owns", async () => {
    await expect(sqs.send(new ReceiveMessageCommand({ QueueUrl: `${runtime.sqsEndpoint}/000000000000/no-such-queue` }))).rejects.toMatchObject({
      name: "QueueDoesNotExist",
      Code: "AWS.SimpleQueueService.NonExistentQueue",
    });
    await expect(sqs.send(new DeleteMessageCommand({ QueueUrl: urlOf("chat-batches-dlq"), ReceiptHandle: "bm90IGEgaGFuZGxl" }))).rejects.toMatchObject({
      name: "ReceiptHandleIsInvalid",
      $metadata: { httpStatusCode: 404 },
    });
    await expect(sqs.send(new CreateQueueCommand({ QueueName: "extra" }))).rejects.toMatchObject({ name: "UnsupportedOperation" });
  });

  test("DeleteMessageBatch deletes what it can and lists the invalid receipt handles apart", async () => {
    const QueueUrl = urlOf("chat-batches-dlq");
    await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: "batch delete" }));
    const { Messages } = await sqs.send(new ReceiveMessageCommand({ QueueUrl }));
    const result = await sqs.send(
      new DeleteMessageBatchCommand({ QueueUrl, Entries: [{ Id: "good", ReceiptHandle: Messages![0]!.ReceiptHandle! }, { Id: "bad", ReceiptHandle: "bm9wZQ==" }] }),
    );
    expect(result.Successful).toEqual([{ Id: "good" }]);
    expect(result.Failed).toEqual([{ Id: "bad", SenderFault: true, Code: "ReceiptHandleIsInvalid", Message: expect.any(String) }]);
  });

  test("PurgeQueue empties a queue, once a minute", async () => {
    const QueueUrl = urlOf("chat-timeouts-dlq");
    await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: "to be purged" }));
    await sqs.send(new PurgeQueueCommand({ QueueUrl }));
    expect((await sqs.send(new ReceiveMessageCommand({ QueueUrl }))).Messages).toBeUndefined();
    await expect(sqs.send(new PurgeQueueCommand({ QueueUrl }))).rejects.toMatchObject({ name: "PurgeQueueInProgress", $metadata: { httpStatusCode: 403 } });
  });

  test("ListQueues lists the stack's queues by name prefix", async () => {
    const { QueueUrls } = await sqs.send(new ListQueuesCommand({ QueueNamePrefix: "chat-batches" }));
    expect([...(QueueUrls ?? [])].sort()).toEqual([urlOf("chat-batches"), urlOf("chat-batches-dlq")].sort());
  });

  test("GetQueueUrl answers the URL the stack resolves to", async () => {
    expect(await sqs.send(new GetQueueUrlCommand({ QueueName: "chat-retries" }))).toMatchObject({ QueueUrl: urlOf("chat-retries") });
  });

  test("message attributes get the MD5 SQS computes (AWS's published examples)", () => {
    expect(md5OfMessageAttributes({ attribName1: { DataType: "String", StringValue: "attribValue 1" } })).toBe("19e27d4e946b072f3f58da80d94fd778");
    const binaryAttribute = { DataType: "Binary", BinaryValue: Buffer.from("Hello binary world!").toString("base64") };
    expect(md5OfMessageAttributes({ binaryAttribute })).toBe("31a92b15d92f8db860eda32aceb656c3");
    expect(
      md5OfMessageAttributes({
        attribName1: { DataType: "String", StringValue: "attribValue 1" },
        customNumberTypeAttrib: { DataType: "Number.float", StringValue: "4563442423554324324264524243.32543234" },
        binaryAttribute,
      }),
    ).toBe("c932db14a896c663f83c260297d594ff");
  });
});

describe("event source mappings", () => {
  /** Sends bodies to a queue in batches of 10. */
  async function sendAll(queue: ProbeQueue, bodies: readonly string[]): Promise<void> {
    for (let i = 0; i < bodies.length; i += 10) {
      const Entries = bodies.slice(i, i + 10).map((MessageBody, j) => ({ Id: `m${i + j}`, MessageBody }));
      const result = await sqs.send(new SendMessageBatchCommand({ QueueUrl: urlOf(queueName(queue)), Entries }));
      expect(result.Failed ?? []).toEqual([]);
    }
  }

  test("batches never exceed batch_size, and at most maximum_concurrency invocations run at once", async () => {
    const bodies = Array.from({ length: 14 }, (_, i) => JSON.stringify({ sleep: 400, marker: `batch-${i}` }));
    await sendAll("batches", bodies);
    const all = await waitFor(() => deliveries("batches", "batch-").length === 14 && invocations("batches"), 20_000, "14 deliveries");
    const sizes = all.map((i) => i.event.Records.length);
    expect(Math.max(...sizes)).toBe(3);
    // The most invocations running at one instant (each runs at least its planned time).
    const events = all.flatMap((i) => [[i.startedAt, 1] as const, [i.startedAt + i.plannedMs, -1] as const]).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    let running = 0;
    const mostAtOnce = Math.max(...events.map(([, change]) => (running += change)));
    expect(mostAtOnce).toBe(2);
    // Processed batches are deleted: nothing comes back.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(deliveries("batches", "batch-")).toHaveLength(14);
  });

  test("a message reported in batchItemFailures comes back after the visibility timeout with ApproximateReceiveCount 2; its batch-mates do not", async () => {
    await sendAll("retries", [JSON.stringify({ fail: true, marker: "partial-fail" }), JSON.stringify({ marker: "partial-ok" })]);
    const [first, second] = await waitFor(() => deliveries("retries", "partial-fail").length >= 2 && deliveries("retries", "partial-fail"), 15_000, "a second delivery");
    expect(first!.attributes.ApproximateReceiveCount).toBe("1");
    expect(second!.attributes.ApproximateReceiveCount).toBe("2");
    expect(second!.messageId).toBe(first!.messageId);
    // Not before the queue's 2 s visibility timeout has passed since it was received.
    expect(second!.invocation.startedAt - Number(first!.attributes.ApproximateFirstReceiveTimestamp)).toBeGreaterThanOrEqual(1_900);
    expect(deliveries("retries", "partial-ok")).toHaveLength(1);
  });

  test("after maxReceiveCount failed receives, the message is in the dead-letter queue with its body and attributes", async () => {
    const body = JSON.stringify({ fail: true, marker: "to-the-dlq" });
    await sqs.send(new SendMessageCommand({ QueueUrl: urlOf("chat-retries"), MessageBody: body, MessageAttributes: { origin: { DataType: "String", StringValue: "test" } } }));
    await waitFor(() => deliveries("retries", "to-the-dlq").length >= 2, 15_000, "two deliveries");
    const dlq = urlOf("chat-retries-dlq");
    const moved = await waitFor(
      async () =>
        (await sqs.send(new ReceiveMessageCommand({ QueueUrl: dlq, MessageSystemAttributeNames: ["All"], MessageAttributeNames: ["All"], MaxNumberOfMessages: 10 }))).Messages?.find(
          (m) => m.Body === body,
        ),
      15_000,
      "the message in the dead-letter queue",
    );
    expect(moved).toMatchObject({
      Body: body,
      MessageId: deliveries("retries", "to-the-dlq")[0]!.messageId,
      MessageAttributes: { origin: { DataType: "String", StringValue: "test" } },
      Attributes: { ApproximateReceiveCount: "3", DeadLetterQueueSourceArn: "arn:aws:sqs:us-east-1:000000000000:chat-retries" },
    });
    // Received twice in the source queue, never a third time: the third receive moved it.
    expect(deliveries("retries", "to-the-dlq")).toHaveLength(2);
    await logs.waitFor(/^sqs: message \S+ moved from chat-retries to chat-retries-dlq after 2 receives$/);
  });

  test.each([
    ["an itemIdentifier that is not a message of the batch", { batchItemFailures: [{ itemIdentifier: "not-a-message-id" }] }],
    ["an empty itemIdentifier", { batchItemFailures: [{ itemIdentifier: "" }] }],
    ["a response that is not an object", "all good"],
  ])("a response with %s fails the whole batch", async (_what, respond) => {
    const marker = `malformed-${Math.random()}`;
    const invalid = () => logs.matching(/^sqs: chat-retries-consumer returned an invalid batch response/).length;
    const before = invalid();
    await sendAll("retries", [JSON.stringify({ respond, marker }), JSON.stringify({ marker: `${marker}-mate` })]);
    await waitFor(() => deliveries("retries", `${marker}-mate`).length >= 2, 15_000, "the batch-mate redelivered");
    expect(invalid()).toBeGreaterThan(before);
  });

  test("a consumer that outlives its timeout leaves its batch in flight until the visibility timeout passes", async () => {
    await sendAll("timeouts", [JSON.stringify({ sleep: 1_500, marker: "too-slow" })]);
    const [first, second] = await waitFor(() => deliveries("timeouts", "too-slow").length >= 2 && deliveries("timeouts", "too-slow"), 15_000, "two deliveries");
    expect(first!.attributes.ApproximateReceiveCount).toBe("1");
    expect(second!.attributes.ApproximateReceiveCount).toBe("2");
    expect(second!.invocation.startedAt - Number(first!.attributes.ApproximateFirstReceiveTimestamp)).toBeGreaterThanOrEqual(1_900);
    await logs.waitFor(/^\[chat-timeouts-consumer\] \S+ Task timed out after 1\.00 seconds$/);
    await logs.waitFor(/^sqs: chat-timeouts-consumer failed a batch of 1 from chat-timeouts \(Sandbox\.Timedout/);
  });
});

describe("variants of the stack", () => {
  /** The resource of type `type` whose `key` is `value`, for editing. */
  const find = (tf: TerraformJson, type: string, key: string, value: string) => Object.entries(tf.resource[type]!).find(([, r]) => r[key] === value)!;
  const mappingOf = (tf: TerraformJson, queue: ProbeQueue) => {
    const [name] = find(tf, "aws_sqs_queue", "name", queueName(queue));
    return Object.values(tf.resource.aws_lambda_event_source_mapping!).find((m) => m.event_source_arn === `\${aws_sqs_queue.${name}.arn}`);
  };

  test("without ReportBatchItemFailures, a response naming failures is ignored and the whole batch is deleted", async () => {
    const stackDir = writeVariant(workspace, "no-batch-item-failures", (tf) => {
      delete mappingOf(tf, "batches").function_response_types;
    });
    const variant = await startLocalRuntime({ stackDir, port: 0, log: logs.log });
    try {
      const client = sqsClient(variant);
      const marker = `ignored-${Math.random()}`;
      await client.send(new SendMessageCommand({ QueueUrl: urlOf("chat-batches", variant), MessageBody: JSON.stringify({ fail: true, marker }) }));
      await waitFor(() => deliveries("batches", marker).length === 1, 10_000, "the delivery");
      await waitFor(async () => {
        const { Attributes } = await client.send(new GetQueueAttributesCommand({ QueueUrl: urlOf("chat-batches", variant), AttributeNames: ["All"] }));
        return Attributes?.ApproximateNumberOfMessages === "0" && Attributes.ApproximateNumberOfMessagesNotVisible === "0";
      }, 10_000, "an empty queue");
      client.destroy();
    } finally {
      await variant.stop();
    }
  });

  test("a mapping whose function's role cannot receive from the queue stops startup with AWS's reason", async () => {
    const stackDir = writeVariant(workspace, "no-consumer-grant", (tf) => {
      const [name] = find(tf, "aws_iam_role_policy", "name", "chat-batches-consumer");
      delete tf.resource.aws_iam_role_policy![name];
      for (const mapping of Object.values(tf.resource.aws_lambda_event_source_mapping!)) delete mapping.depends_on;
    });
    await expect(startLocalRuntime({ stackDir, port: 0, log: () => undefined })).rejects.toThrow(
      /aws_lambda_event_source_mapping\.\S+: InvalidParameterValueException: The provided execution role does not have permissions to call ReceiveMessage on SQS \(role chat-batches-consumer-us-east-1-fn of chat-batches-consumer needs sqs:ReceiveMessage, sqs:DeleteMessage, sqs:GetQueueAttributes on arn:aws:sqs:us-east-1:000000000000:chat-batches\)/,
    );
  });

  test("a queue visibility timeout below the function's timeout stops startup with AWS's reason", async () => {
    const stackDir = writeVariant(workspace, "short-visibility", (tf) => {
      find(tf, "aws_sqs_queue", "name", "chat-batches")[1].visibility_timeout_seconds = 4;
    });
    await expect(startLocalRuntime({ stackDir, port: 0, log: () => undefined })).rejects.toThrow(
      /InvalidParameterValueException: Queue visibility timeout: 4 seconds is less than Function timeout: 5 seconds \(chat-batches, chat-batches-consumer\)/,
    );
  });

  test("a dead-letter queue that does not allow the source queue stops startup, as SQS refuses the redrive policy", async () => {
    const stackDir = writeVariant(workspace, "dlq-denies", (tf) => {
      const allow = Object.values(tf.resource.aws_sqs_queue_redrive_allow_policy!)[0]!;
      allow.redrive_allow_policy = JSON.stringify({ redrivePermission: "denyAll" });
    });
    await expect(startLocalRuntime({ stackDir, port: 0, log: () => undefined })).rejects.toThrow(/does not allow chat-\w+ to redrive into it/);
  });

  test("a redrive policy may be its own resource, a queue may be named by Terraform, and what is not checked is noted", () => {
    const stackDir = writeVariant(workspace, "queue-forms", (tf) => {
      const [sourceName, source] = find(tf, "aws_sqs_queue", "name", "chat-retries");
      tf.resource.aws_sqs_queue_redrive_policy = {
        separate: { queue_url: `\${aws_sqs_queue.${sourceName}.url}`, redrive_policy: source.redrive_policy.replace('"maxReceiveCount":2', '"maxReceiveCount":7') },
      };
      delete source.redrive_policy;
      tf.resource.aws_sqs_queue.unnamed = { name_prefix: "scratch-", kms_master_key_id: "alias/aws/sqs" };
      tf.resource.aws_sqs_queue_policy = { open: { queue_url: "${aws_sqs_queue.unnamed.url}", policy: "{}" } };
      mappingOf(tf, "timeouts").enabled = false;
    });
    const model = loadStackModel({ stackDir });
    expect(model.queues.find((q) => q.name === "chat-retries")!.redrivePolicy).toEqual({
      deadLetterTargetArn: "arn:aws:sqs:us-east-1:000000000000:chat-retries-dlq",
      maxReceiveCount: 7,
    });
    const unnamed = model.queues.find((q) => q.address === "aws_sqs_queue.unnamed")!;
    expect(unnamed.name).toMatch(/^scratch-[a-z0-9]{26}$/);
    expect(model.notes).toEqual(
      expect.arrayContaining([
        "aws_sqs_queue_policy.open: queue policies (resource-based) are not evaluated locally; identity policies are",
        `queue ${unnamed.name}: KMS encryption is not emulated (no kms:GenerateDataKey or kms:Decrypt grant is checked)`,
        expect.stringMatching(/^aws_lambda_event_source_mapping\.\S+: disabled, so its queue is not polled$/),
      ]),
    );
  });

  test("a FIFO queue stops startup: its ordering and deduplication are not emulated", async () => {
    const stackDir = writeVariant(workspace, "fifo", (tf) => {
      const [, queue] = find(tf, "aws_sqs_queue", "name", "chat-batches-dlq");
      queue.fifo_queue = true;
      queue.name = "chat-batches-dlq.fifo";
    });
    await expect(startLocalRuntime({ stackDir, port: 0, log: () => undefined })).rejects.toThrow(/aws_sqs_queue\.\S+: fifo_queue is not supported locally/);
  });
});
