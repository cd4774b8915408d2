/**
 * The FanOutQueue construct, synthesized in a small stack of its own: the queue and its dead-letter queue, the
 * event source mapping to the consumer, the consumer's and a producer's least-privilege grants, and the
 * settings it refuses.
 */
import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy";
import { LambdaEventSourceMapping } from "@cdktf/provider-aws/lib/lambda-event-source-mapping";
import { AwsProvider } from "@cdktf/provider-aws/lib/provider";
import { SqsQueue } from "@cdktf/provider-aws/lib/sqs-queue";
import { SqsQueueRedriveAllowPolicy } from "@cdktf/provider-aws/lib/sqs-queue-redrive-allow-policy";
import { TerraformStack, Testing } from "cdktf";
import { join } from "node:path";
import { BundledFunction } from "../constructs/bundled-function";
import { FanOutQueue, type FanOutQueueProps } from "../constructs/fan-out-queue";
import { ref, resources, resourceWhere, type TerraformJson } from "./support/synth";

const CONSUMER_ENTRY = join(__dirname, "support", "sqs-probe-consumer.ts");

interface Synthesized {
  readonly json: string;
  readonly tf: TerraformJson;
}

/** A stack with a consumer (timeout 10 s), a FanOutQueue, and a producer granted what the queue says. */
function synthFanOut(props: Partial<Omit<FanOutQueueProps, "consumer">> = {}, consumerTimeout = 10): Synthesized {
  const stack = new TerraformStack(Testing.app(), "fan-out-test");
  new AwsProvider(stack, "aws", { region: "eu-west-1" });
  const consumer = new BundledFunction(stack, "consumer", { functionName: "fan-out-worker", region: "us-east-1", entry: CONSUMER_ENTRY, timeout: consumerTimeout, statements: [] });
  const fanOut = new FanOutQueue(stack, "fan-out", { consumer, queueName: "chat-fan-out", ...props });
  new BundledFunction(stack, "producer", { functionName: "fan-out-producer", region: "us-east-1", entry: CONSUMER_ENTRY, statements: fanOut.producerStatements() });
  const json = Testing.synth(stack);
  return { json, tf: JSON.parse(json) as TerraformJson };
}

function construct(props: Partial<Omit<FanOutQueueProps, "consumer">>, consumerTimeout = 10): () => void {
  return () => {
    const stack = new TerraformStack(Testing.app(), "fan-out-invalid");
    const consumer = new BundledFunction(stack, "consumer", { functionName: "fan-out-worker", region: "us-east-1", entry: CONSUMER_ENTRY, timeout: consumerTimeout, statements: [] });
    new FanOutQueue(stack, "fan-out", { consumer, queueName: "chat-fan-out", ...props });
  };
}

/** The parsed inline policy named `name`. */
function policyNamed(tf: TerraformJson, name: string): { role: string; statements: Array<{ Effect: string; Action: string | string[]; Resource: string | string[] }> } {
  const [, policy] = resourceWhere(tf, "aws_iam_role_policy", "name", name);
  return { role: policy.role, statements: JSON.parse(policy.policy).Statement };
}

const queueName = (tf: TerraformJson, name: string) => resourceWhere(tf, "aws_sqs_queue", "name", name)[0];

let defaults: Synthesized;
beforeAll(() => {
  defaults = synthFanOut();
});

describe("the queues", () => {
  test("the fan-out queue is encrypted with SQS-managed keys and hides a message for six times the consumer's timeout", () => {
    expect(defaults.json).toHaveResourceWithProperties(SqsQueue, {
      name: "chat-fan-out",
      sqs_managed_sse_enabled: true,
      visibility_timeout_seconds: 60,
      message_retention_seconds: 345600,
    });
  });

  test("a message that failed maxReceiveCount times moves to the dead-letter queue", () => {
    const [, queue] = resourceWhere(defaults.tf, "aws_sqs_queue", "name", "chat-fan-out");
    expect(JSON.parse(queue.redrive_policy)).toEqual({
      deadLetterTargetArn: ref("aws_sqs_queue", queueName(defaults.tf, "chat-fan-out-dlq"), "arn"),
      maxReceiveCount: 5,
    });
  });

  test("the dead-letter queue is encrypted and keeps messages longer than the queue does", () => {
    expect(defaults.json).toHaveResourceWithProperties(SqsQueue, {
      name: "chat-fan-out-dlq",
      sqs_managed_sse_enabled: true,
      message_retention_seconds: 1209600,
    });
  });

  test("only the fan-out queue may redrive into the dead-letter queue", () => {
    const [, allow] = resources(defaults.tf, "aws_sqs_queue_redrive_allow_policy")[0]!;
    expect(allow.queue_url).toBe(ref("aws_sqs_queue", queueName(defaults.tf, "chat-fan-out-dlq"), "url"));
    expect(JSON.parse(allow.redrive_allow_policy)).toEqual({
      redrivePermission: "byQueue",
      sourceQueueArns: [ref("aws_sqs_queue", queueName(defaults.tf, "chat-fan-out"), "arn")],
    });
    expect(defaults.json).toHaveResource(SqsQueueRedriveAllowPolicy);
  });
});

describe("the event source mapping", () => {
  test("invokes the consumer with batches of the fan-out queue, reporting batch item failures, at bounded concurrency", () => {
    const [consumerName] = resourceWhere(defaults.tf, "aws_lambda_function", "function_name", "fan-out-worker");
    expect(defaults.json).toHaveResourceWithProperties(LambdaEventSourceMapping, {
      event_source_arn: ref("aws_sqs_queue", queueName(defaults.tf, "chat-fan-out"), "arn"),
      function_name: ref("aws_lambda_function", consumerName, "arn"),
      batch_size: 10,
      maximum_batching_window_in_seconds: 0,
      scaling_config: { maximum_concurrency: 10 },
      function_response_types: ["ReportBatchItemFailures"],
      enabled: true,
    });
  });

  test("is created after the consumer's grant, since Lambda checks the role when the mapping is created", () => {
    const [, mapping] = resources(defaults.tf, "aws_lambda_event_source_mapping")[0]!;
    const [policyName] = resourceWhere(defaults.tf, "aws_iam_role_policy", "name", "chat-fan-out-consumer");
    expect(mapping.depends_on).toEqual([`aws_iam_role_policy.${policyName}`]);
  });

  test("batch size, batching window and maximum concurrency are props", () => {
    const { json } = synthFanOut({ batchSize: 100, maximumBatchingWindowSeconds: 2, maximumConcurrency: 4 });
    expect(json).toHaveResourceWithProperties(LambdaEventSourceMapping, {
      batch_size: 100,
      maximum_batching_window_in_seconds: 2,
      scaling_config: { maximum_concurrency: 4 },
    });
  });
});

describe("least privilege", () => {
  test("the consumer's role may receive, delete and read the attributes of the fan-out queue, nothing else", () => {
    const [roleName] = resourceWhere(defaults.tf, "aws_iam_role", "name", "fan-out-worker-us-east-1-fn");
    const policy = policyNamed(defaults.tf, "chat-fan-out-consumer");
    expect(policy.role).toBe(ref("aws_iam_role", roleName, "id"));
    expect(policy.statements).toEqual([
      {
        Effect: "Allow",
        Action: ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"],
        Resource: ref("aws_sqs_queue", queueName(defaults.tf, "chat-fan-out"), "arn"),
      },
    ]);
    expect(defaults.json).toHaveResource(IamRolePolicy);
  });

  test("a producer granted producerStatements() may only send to the fan-out queue", () => {
    const policy = policyNamed(defaults.tf, "fan-out-producer-fn");
    const sqsStatements = policy.statements.filter((s) => [s.Action].flat().some((action) => action.startsWith("sqs:")));
    expect(sqsStatements).toEqual([{ Effect: "Allow", Action: "sqs:SendMessage", Resource: ref("aws_sqs_queue", queueName(defaults.tf, "chat-fan-out"), "arn") }]);
  });

  test("nothing may touch the dead-letter queue's messages", () => {
    const dlqArn = ref("aws_sqs_queue", queueName(defaults.tf, "chat-fan-out-dlq"), "arn");
    const granted = resources(defaults.tf, "aws_iam_role_policy").filter(([, p]) => String(p.policy).includes(dlqArn));
    expect(granted).toEqual([]);
  });
});

describe("settings", () => {
  test("visibility timeout, maxReceiveCount and retention periods are props", () => {
    const { json, tf } = synthFanOut({ visibilityTimeoutSeconds: 120, maxReceiveCount: 3, messageRetentionSeconds: 3600, deadLetterRetentionSeconds: 86400 });
    expect(json).toHaveResourceWithProperties(SqsQueue, { name: "chat-fan-out", visibility_timeout_seconds: 120, message_retention_seconds: 3600 });
    expect(json).toHaveResourceWithProperties(SqsQueue, { name: "chat-fan-out-dlq", message_retention_seconds: 86400 });
    const [, queue] = resourceWhere(tf, "aws_sqs_queue", "name", "chat-fan-out");
    expect(JSON.parse(queue.redrive_policy).maxReceiveCount).toBe(3);
  });

  test.each([
    [{ batchSize: 0 }, /batchSize must be a whole number from 1 to 10,000, got 0/],
    [{ batchSize: 10_001, maximumBatchingWindowSeconds: 1 }, /batchSize must be a whole number from 1 to 10,000/],
    [{ batchSize: 11 }, /batchSize 11 needs maximumBatchingWindowSeconds of at least 1 \(allowed without a window: 1 to 10\)/],
    [{ maximumBatchingWindowSeconds: 301 }, /maximumBatchingWindowSeconds must be a whole number from 0 to 300/],
    [{ maximumConcurrency: 1 }, /maximumConcurrency must be a whole number from 2 to 1,000, got 1/],
    [{ maxReceiveCount: 0 }, /maxReceiveCount must be a whole number from 1 to 1,000/],
    [{ maxReceiveCount: 2.5 }, /maxReceiveCount must be a whole number/],
    [{ visibilityTimeoutSeconds: 9 }, /visibilityTimeoutSeconds 9 is below the consumer's timeout of 10 s; allowed: 10 to 43,200/],
    [{ visibilityTimeoutSeconds: 43_201 }, /visibilityTimeoutSeconds must be a whole number from 0 to 43,200/],
    [{ messageRetentionSeconds: 59 }, /messageRetentionSeconds must be a whole number from 60 to 1,209,600/],
    [{ messageRetentionSeconds: 1_209_600 }, /deadLetterRetentionSeconds \(1209600\) must be longer than messageRetentionSeconds \(1209600\)/],
    [{ queueName: "chat fan-out" }, /queueName must be 1 to 76 letters, digits, '-' or '_'/],
    [{ queueName: "q".repeat(77) }, /queueName must be 1 to 76/],
  ])("%j is refused with a message naming the prop and what it allows", (props, message) => {
    expect(construct(props)).toThrow(message);
    expect(construct(props)).toThrow(/^FanOutQueue "fan-out": /);
  });
});
