import { Token } from "cdktf";
import { Construct } from "constructs";
import { IamRolePolicy } from "@cdktf/provider-aws/lib/iam-role-policy";
import { LambdaEventSourceMapping } from "@cdktf/provider-aws/lib/lambda-event-source-mapping";
import { SqsQueue } from "@cdktf/provider-aws/lib/sqs-queue";
import { SqsQueueRedriveAllowPolicy } from "@cdktf/provider-aws/lib/sqs-queue-redrive-allow-policy";
import type { BundledFunction } from "./bundled-function";
import { policyDocument, type PolicyStatement } from "./policy";

export interface FanOutQueueProps {
  /** The function Lambda invokes with batches of the queue's messages; it is granted what Lambda's poller needs. */
  readonly consumer: BundledFunction;
  /** Name of the queue (letters, digits, `-`, `_`; at most 76 characters); the dead-letter queue is `<queueName>-dlq`. */
  readonly queueName: string;
  /** Messages per invocation, 1–10,000; above 10 needs `maximumBatchingWindowSeconds` of at least 1. @default 10 */
  readonly batchSize?: number;
  /** Seconds Lambda may wait to fill a batch, 0–300. @default 0 */
  readonly maximumBatchingWindowSeconds?: number;
  /**
   * Concurrent invocations of the consumer the queue may cause, 2–1,000. Each invocation posts with the
   * handler's own concurrency, and every post counts against the account's 10,000 requests per second of
   * API Gateway, so a few invocations saturate it; more only buy 429s. @default 10
   */
  readonly maximumConcurrency?: number;
  /**
   * Receives of a message before SQS moves it to the dead-letter queue, 1–1,000. AWS recommends at least 5,
   * to give Lambda a few retries first (services-sqs-configure.html). @default 5
   */
  readonly maxReceiveCount?: number;
  /**
   * How long a received message stays invisible, in seconds (at most 43,200). Lambda refuses a mapping whose
   * queue's visibility timeout is below the function's timeout. @default 6 × the consumer's timeout, as AWS recommends
   */
  readonly visibilityTimeoutSeconds?: number;
  /** How long the queue keeps an unprocessed message, in seconds, 60–1,209,600. @default 345600 (4 days, SQS's default) */
  readonly messageRetentionSeconds?: number;
  /**
   * How long the dead-letter queue keeps a message, in seconds, 60–1,209,600; more than `messageRetentionSeconds`,
   * since SQS counts a standard queue's retention from the original enqueue time. @default 1209600 (14 days, the maximum)
   */
  readonly deadLetterRetentionSeconds?: number;
}

/** SQS's maximums (SetQueueAttributes) and Lambda's event source mapping limits (CreateEventSourceMapping, ScalingConfig). */
const LIMITS = {
  batchSize: [1, 10_000],
  maximumBatchingWindowSeconds: [0, 300],
  maximumConcurrency: [2, 1_000],
  maxReceiveCount: [1, 1_000],
  visibilityTimeoutSeconds: [0, 43_200],
  messageRetentionSeconds: [60, 1_209_600],
  deadLetterRetentionSeconds: [60, 1_209_600],
} as const;

/** Consumer invocations the queue may cause at once, where props say nothing (see `maximumConcurrency`). */
export const DEFAULT_MAXIMUM_CONCURRENCY = 10;

/** Lambda's default timeout, when a function sets none. */
const LAMBDA_DEFAULT_TIMEOUT_SECONDS = 3;

/**
 * The queue a large fan-out is handed to: an SQS queue (server-side encrypted) consumed by one function through
 * an event source mapping with partial batch responses, and a dead-letter queue that receives a message after
 * `maxReceiveCount` failed attempts, with its body and attributes intact so it can be redriven.
 *
 * The consumer's role gets its own inline policy with exactly what Lambda's poller calls on the queue; a
 * producer's statements come from `producerStatements()`.
 */
export class FanOutQueue extends Construct {
  public readonly queue: SqsQueue;
  public readonly deadLetterQueue: SqsQueue;
  public readonly eventSourceMapping: LambdaEventSourceMapping;

  constructor(scope: Construct, id: string, props: FanOutQueueProps) {
    super(scope, id);
    const fail = (message: string): never => {
      throw new Error(`FanOutQueue "${id}": ${message}`);
    };
    const setting = (name: keyof typeof LIMITS, value: number | undefined, fallback: number): number => {
      const [min, max] = LIMITS[name];
      const chosen = value ?? fallback;
      if (!Number.isInteger(chosen) || chosen < min || chosen > max) {
        fail(`${name} must be a whole number from ${min.toLocaleString("en")} to ${max.toLocaleString("en")}, got ${value}`);
      }
      return chosen;
    };

    if (!/^[A-Za-z0-9_-]{1,76}$/.test(props.queueName)) {
      fail(`queueName must be 1 to 76 letters, digits, '-' or '_' (the dead-letter queue appends "-dlq"), got "${props.queueName}"`);
    }
    const batchSize = setting("batchSize", props.batchSize, 10);
    const batchingWindow = setting("maximumBatchingWindowSeconds", props.maximumBatchingWindowSeconds, 0);
    // CreateEventSourceMapping refuses a batch size above 10 for SQS without a batching window.
    if (batchSize > 10 && batchingWindow < 1) {
      fail(`batchSize ${batchSize} needs maximumBatchingWindowSeconds of at least 1 (allowed without a window: 1 to 10)`);
    }
    const maximumConcurrency = setting("maximumConcurrency", props.maximumConcurrency, DEFAULT_MAXIMUM_CONCURRENCY);
    const maxReceiveCount = setting("maxReceiveCount", props.maxReceiveCount, 5);

    const consumerTimeout = props.consumer.function.timeoutInput ?? LAMBDA_DEFAULT_TIMEOUT_SECONDS;
    if (Token.isUnresolved(consumerTimeout) && props.visibilityTimeoutSeconds === undefined) {
      fail("visibilityTimeoutSeconds must be set when the consumer's timeout is not a number known at synth");
    }
    // "Set the source queue's visibility timeout to at least six times the timeout that you configure on your
    // function": https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html
    const visibilityTimeout = setting("visibilityTimeoutSeconds", props.visibilityTimeoutSeconds, 6 * consumerTimeout);
    if (!Token.isUnresolved(consumerTimeout) && visibilityTimeout < consumerTimeout) {
      // Lambda validates this when the mapping is created (same page).
      fail(`visibilityTimeoutSeconds ${visibilityTimeout} is below the consumer's timeout of ${consumerTimeout} s; allowed: ${consumerTimeout} to 43,200`);
    }
    const retention = setting("messageRetentionSeconds", props.messageRetentionSeconds, 345_600);
    const deadLetterRetention = setting("deadLetterRetentionSeconds", props.deadLetterRetentionSeconds, 1_209_600);
    if (deadLetterRetention <= retention) {
      // A message keeps its original enqueue time in a standard queue's DLQ, so a shorter retention there
      // would expire it soon after (or before) it arrives.
      fail(`deadLetterRetentionSeconds (${deadLetterRetention}) must be longer than messageRetentionSeconds (${retention})`);
    }

    this.deadLetterQueue = new SqsQueue(this, "dead-letter-queue", {
      name: `${props.queueName}-dlq`,
      messageRetentionSeconds: deadLetterRetention,
      sqsManagedSseEnabled: true,
    });
    this.queue = new SqsQueue(this, "queue", {
      name: props.queueName,
      visibilityTimeoutSeconds: visibilityTimeout,
      messageRetentionSeconds: retention,
      sqsManagedSseEnabled: true,
      redrivePolicy: JSON.stringify({ deadLetterTargetArn: this.deadLetterQueue.arn, maxReceiveCount }),
    });
    // Only this queue may redrive into the DLQ. A separate resource, since written inline on the DLQ it would
    // reference the source queue that references the DLQ: a cycle.
    new SqsQueueRedriveAllowPolicy(this, "dead-letter-allow-policy", {
      queueUrl: this.deadLetterQueue.url,
      redriveAllowPolicy: JSON.stringify({ redrivePermission: "byQueue", sourceQueueArns: [this.queue.arn] }),
    });

    // Lambda checks the execution role when the mapping is created, so the grant must exist first.
    const consumerPolicy = new IamRolePolicy(this, "consumer-policy", {
      role: props.consumer.role.id,
      name: `${props.queueName}-consumer`,
      policy: policyDocument(this.consumerStatements()),
    });
    this.eventSourceMapping = new LambdaEventSourceMapping(this, "event-source-mapping", {
      eventSourceArn: this.queue.arn,
      functionName: props.consumer.function.arn,
      batchSize,
      maximumBatchingWindowInSeconds: batchingWindow,
      scalingConfig: { maximumConcurrency },
      functionResponseTypes: ["ReportBatchItemFailures"],
      enabled: true,
      dependsOn: [consumerPolicy],
    });
  }

  /** What a producer needs to hand messages to the queue: SendMessage (which also covers SendMessageBatch). */
  public producerStatements(): PolicyStatement[] {
    // "Setting permissions for SendMessage ... sets permissions for the corresponding batch versions":
    // https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-batch-api.html
    return [{ actions: ["sqs:SendMessage"], resources: [this.queue.arn] }];
  }

  /**
   * What Lambda's poller calls on the queue with the consumer's role, narrowed to this queue ("The Lambda
   * execution role must include sqs:DeleteMessage, sqs:GetQueueAttributes, sqs:ReceiveMessage":
   * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-configure-lambda-function-trigger.html).
   * SSE-SQS needs no kms:Decrypt (only a KMS key would); the DLQ needs nothing, since SQS itself moves messages there.
   */
  public consumerStatements(): PolicyStatement[] {
    return [{ actions: ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"], resources: [this.queue.arn] }];
  }
}
