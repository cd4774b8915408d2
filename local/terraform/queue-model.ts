/**
 * The SQS queues of the stack and the Lambda event source mappings that consume them, read from the JSON like
 * the rest of the model. What `terraform apply` would refuse (a mapping whose function's role cannot receive
 * from the queue, a queue visibility timeout below the function's timeout, a dead-letter queue that does not
 * allow the source queue) stops startup here too, with AWS's reason; what the runtime cannot run faithfully
 * (FIFO queues, event filters, other event sources) stops it with the setting named.
 */
import { authorize } from "../iam/policy";
import { blockList, type TerraformBlock, type TerraformDocument } from "./terraform-document";
import { StackModelError } from "./stack-errors";
import type { EventSourceMappingModel, FunctionModel, QueueModel, RedrivePolicy } from "./stack-model-types";

/** SQS's defaults for what a queue does not set (CreateQueue attributes). */
const QUEUE_DEFAULTS = {
  visibilityTimeoutSeconds: 30,
  messageRetentionSeconds: 345_600,
  maximumMessageSizeBytes: 262_144,
  delaySeconds: 0,
  receiveWaitTimeSeconds: 0,
};

/** The resource types this file reads. */
export const SQS_RESOURCE_TYPES = [
  "aws_sqs_queue",
  "aws_sqs_queue_policy",
  "aws_sqs_queue_redrive_policy",
  "aws_sqs_queue_redrive_allow_policy",
  "aws_lambda_event_source_mapping",
];

const fail = (block: TerraformBlock, message: string): never => {
  throw new StackModelError(`${block.address}: ${message}`);
};

/** A whole number argument within a range, or its default. */
function integer(doc: TerraformDocument, block: TerraformBlock, name: string, fallback: number, min: number, max: number): number {
  const raw = doc.argument(block.address, name);
  const value = raw === undefined ? fallback : Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) fail(block, `${name} ${JSON.stringify(raw)} is not a whole number from ${min} to ${max}`);
  return value;
}

function parseJsonArgument(block: TerraformBlock, name: string, value: unknown): Record<string, unknown> {
  try {
    const parsed: unknown = typeof value === "string" ? JSON.parse(value) : value;
    if (parsed !== null && typeof parsed === "object" && !Array.isArray(parsed)) return parsed as Record<string, unknown>;
  } catch {
    // reported below
  }
  return fail(block, `${name} is not a JSON object: ${String(value)}`);
}

/** Every aws_sqs_queue, with the redrive policies attached to it inline or by separate resources. */
export function queueModels(doc: TerraformDocument): QueueModel[] {
  const blocks = doc.resources("aws_sqs_queue");
  const byUrl = (url: unknown) => blocks.find((b) => doc.attribute(b.address, "url") === url);
  // A separate aws_sqs_queue_redrive_(allow_)policy replaces the inline argument, as it does on AWS.
  const attached = (type: string, argument: string) =>
    new Map(
      doc.resources(type).map((policy) => {
        const queue = byUrl(doc.argument(policy.address, "queue_url"));
        if (!queue) fail(policy, `queue_url ${JSON.stringify(doc.argument(policy.address, "queue_url"))} is not the url of an aws_sqs_queue of this stack`);
        return [queue!.address, { block: policy, value: doc.argument(policy.address, argument) }];
      }),
    );
  const redrivePolicies = attached("aws_sqs_queue_redrive_policy", "redrive_policy");
  const allowPolicies = attached("aws_sqs_queue_redrive_allow_policy", "redrive_allow_policy");

  const queues = blocks.map((block): QueueModel => {
    if (doc.argument(block.address, "fifo_queue") === true) {
      fail(block, "fifo_queue is not supported locally: FIFO ordering, message groups and deduplication are not emulated");
    }
    const redrive = redrivePolicies.get(block.address) ?? { block, value: doc.argument(block.address, "redrive_policy") };
    const allow = allowPolicies.get(block.address) ?? { block, value: doc.argument(block.address, "redrive_allow_policy") };
    const kmsKey = doc.argument(block.address, "kms_master_key_id");
    return {
      address: block.address,
      name: String(doc.attribute(block.address, "name")),
      arn: String(doc.attribute(block.address, "arn")),
      url: String(doc.attribute(block.address, "url")),
      visibilityTimeoutSeconds: integer(doc, block, "visibility_timeout_seconds", QUEUE_DEFAULTS.visibilityTimeoutSeconds, 0, 43_200),
      messageRetentionSeconds: integer(doc, block, "message_retention_seconds", QUEUE_DEFAULTS.messageRetentionSeconds, 60, 1_209_600),
      maximumMessageSizeBytes: integer(doc, block, "max_message_size", QUEUE_DEFAULTS.maximumMessageSizeBytes, 1_024, 1_048_576),
      delaySeconds: integer(doc, block, "delay_seconds", QUEUE_DEFAULTS.delaySeconds, 0, 900),
      receiveWaitTimeSeconds: integer(doc, block, "receive_wait_time_seconds", QUEUE_DEFAULTS.receiveWaitTimeSeconds, 0, 20),
      ...(redrive.value === undefined || redrive.value === "" ? {} : { redrivePolicy: redrivePolicyOf(redrive.block, redrive.value) }),
      ...(allow.value === undefined || allow.value === "" ? {} : { redriveAllowPolicy: typeof allow.value === "string" ? allow.value : JSON.stringify(allow.value) }),
      sqsManagedSseEnabled: doc.argument(block.address, "sqs_managed_sse_enabled") !== false && kmsKey === undefined,
      ...(kmsKey === undefined ? {} : { kmsMasterKeyId: String(kmsKey) }),
    };
  });

  for (const queue of queues) {
    if (!queue.redrivePolicy) continue;
    const block = doc.block(queue.address)!;
    const target = queues.find((q) => q.arn === queue.redrivePolicy!.deadLetterTargetArn);
    if (!target) fail(block, `redrive_policy's deadLetterTargetArn ${queue.redrivePolicy.deadLetterTargetArn} is not a queue of this stack`);
    if (target === queue) fail(block, "redrive_policy names the queue itself as its dead-letter queue");
    // SQS refuses a RedrivePolicy whose dead-letter queue's RedriveAllowPolicy does not admit the source queue.
    if (target!.redriveAllowPolicy !== undefined) {
      const allow = parseJsonArgument(doc.block(target!.address)!, "redrive_allow_policy", target!.redriveAllowPolicy);
      const sources = Array.isArray(allow.sourceQueueArns) ? allow.sourceQueueArns : [];
      const allowed = allow.redrivePermission === "allowAll" || (allow.redrivePermission === "byQueue" && sources.includes(queue.arn));
      if (!allowed) fail(block, `the dead-letter queue ${target!.name} does not allow ${queue.name} to redrive into it (its redrive_allow_policy is ${target!.redriveAllowPolicy}), so SQS would refuse this redrive_policy`);
    }
  }
  return queues;
}

function redrivePolicyOf(block: TerraformBlock, value: unknown): RedrivePolicy {
  const policy = parseJsonArgument(block, "redrive_policy", value);
  const maxReceiveCount = Number(policy.maxReceiveCount);
  if (typeof policy.deadLetterTargetArn !== "string") fail(block, "redrive_policy has no deadLetterTargetArn");
  if (!Number.isInteger(maxReceiveCount) || maxReceiveCount < 1 || maxReceiveCount > 1_000) {
    fail(block, `redrive_policy's maxReceiveCount ${JSON.stringify(policy.maxReceiveCount)} is not a whole number from 1 to 1000`);
  }
  return { deadLetterTargetArn: policy.deadLetterTargetArn as string, maxReceiveCount };
}

/** The aws_lambda_function a mapping's function_name names (by name, ARN or $LATEST ARN). */
function mappedFunction(doc: TerraformDocument, mapping: TerraformBlock): TerraformBlock {
  const target = doc.argument(mapping.address, "function_name");
  const fn = doc
    .resources("aws_lambda_function")
    .find((f) => ["function_name", "arn", "qualified_arn"].some((attribute) => doc.attribute(f.address, attribute) === target));
  return fn ?? fail(mapping, `function_name ${JSON.stringify(target)} is not a function of this stack (aliases and versions are not supported locally)`);
}

/** The functions event source mappings invoke, so they are runnable even when no route reaches them. */
export function mappedFunctionBlocks(doc: TerraformDocument): TerraformBlock[] {
  return doc.resources("aws_lambda_event_source_mapping").map((mapping) => mappedFunction(doc, mapping));
}

/** What Lambda's poller calls with the function's role (sqs-configure-lambda-function-trigger.html). */
const POLLER_ACTIONS = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"];

export function eventSourceMappingModels(
  doc: TerraformDocument,
  queues: readonly QueueModel[],
  functions: readonly FunctionModel[],
): EventSourceMappingModel[] {
  return doc.resources("aws_lambda_event_source_mapping").map((block): EventSourceMappingModel => {
    const arg = (name: string) => doc.argument(block.address, name);
    const source = String(arg("event_source_arn") ?? "");
    const queue = queues.find((q) => q.arn === source);
    if (!queue) {
      fail(block, source.startsWith("arn:aws:sqs:")
        ? `event_source_arn ${source} is not a queue of this stack`
        : `event_source_arn ${JSON.stringify(source)}: only SQS queues of the stack are emulated as event sources locally`);
    }
    if (blockList(arg("filter_criteria")).length > 0) {
      fail(block, "filter_criteria is not supported locally (Lambda would delete the messages no filter matches)");
    }
    const fnBlock = mappedFunction(doc, block);
    const fn = functions.find((f) => f.address === fnBlock.address)!;

    const batchingWindow = integer(doc, block, "maximum_batching_window_in_seconds", 0, 0, 300);
    const batchSize = integer(doc, block, "batch_size", 10, 1, 10_000);
    if (batchSize > 10 && batchingWindow < 1) {
      fail(block, `batch_size ${batchSize} needs maximum_batching_window_in_seconds of at least 1 (Lambda allows at most 10 without a batching window)`);
    }
    const scaling = blockList(arg("scaling_config"))[0];
    const maximumConcurrency = scaling?.maximum_concurrency === undefined ? undefined : Number(scaling.maximum_concurrency);
    if (maximumConcurrency !== undefined && !(Number.isInteger(maximumConcurrency) && maximumConcurrency >= 2 && maximumConcurrency <= 1_000)) {
      fail(block, `scaling_config.maximum_concurrency ${JSON.stringify(scaling!.maximum_concurrency)} is not a whole number from 2 to 1000`);
    }
    const responseTypes = (arg("function_response_types") as unknown[] | undefined) ?? [];
    const unknownTypes = responseTypes.filter((type) => type !== "ReportBatchItemFailures");
    if (unknownTypes.length > 0) fail(block, `function_response_types ${JSON.stringify(unknownTypes)}: only "ReportBatchItemFailures" exists`);

    // CreateEventSourceMapping checks both of these and fails; so does the local runtime's startup.
    // https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html
    const denied = authorize(fn.policies, POLLER_ACTIONS.map((action) => ({ action, resource: queue!.arn }))).denied;
    if (denied) {
      fail(block, `InvalidParameterValueException: The provided execution role does not have permissions to call ${denied.action.slice(4)} on SQS (role ${fn.role.name} of ${fn.name} needs ${POLLER_ACTIONS.join(", ")} on ${queue!.arn})`);
    }
    if (queue!.visibilityTimeoutSeconds < fn.timeoutSeconds) {
      fail(block, `InvalidParameterValueException: Queue visibility timeout: ${queue!.visibilityTimeoutSeconds} seconds is less than Function timeout: ${fn.timeoutSeconds} seconds (${queue!.name}, ${fn.name})`);
    }
    return {
      address: block.address,
      uuid: String(doc.attribute(block.address, "uuid")),
      queueArn: queue!.arn,
      functionName: fn.name,
      batchSize,
      maximumBatchingWindowSeconds: batchingWindow,
      ...(maximumConcurrency === undefined ? {} : { maximumConcurrency }),
      reportBatchItemFailures: responseTypes.includes("ReportBatchItemFailures"),
      enabled: arg("enabled") !== false,
    };
  });
}

/** One line each for what the runtime does not check about the queues. */
export function queueNotes(doc: TerraformDocument, queues: readonly QueueModel[], mappings: readonly EventSourceMappingModel[]): string[] {
  return [
    ...doc.resources("aws_sqs_queue_policy").map((p) => `${p.address}: queue policies (resource-based) are not evaluated locally; identity policies are`),
    ...queues.filter((q) => q.kmsMasterKeyId).map((q) => `queue ${q.name}: KMS encryption is not emulated (no kms:GenerateDataKey or kms:Decrypt grant is checked)`),
    ...mappings.filter((m) => !m.enabled).map((m) => `${m.address}: disabled, so its queue is not polled`),
  ];
}
