/**
 * SQS for the local runtime: the stack's queues in memory (nothing survives a restart, with or without
 * --data), the JSON API the SDK calls (api.ts), and one Lambda poller per enabled event source mapping
 * (event-source-mapping.ts).
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { FunctionRunner } from "../../functions/function-runner";
import type { IdentityRegistry } from "../../iam/identities";
import type { StackModel } from "../../terraform/stack-model-types";
import { handleSqsRequest, isSqsRequest } from "./api";
import { EventSourceMappingPoller } from "./event-source-mapping";
import type { SqsScope } from "./operations";
import { LocalQueue } from "./queue";

export { isSqsRequest };

export interface LocalSqsOptions {
  readonly model: StackModel;
  readonly identities: IdentityRegistry;
  /** The execution environments of a function, started on first use. */
  readonly runner: (functionName: string) => FunctionRunner;
  readonly log: (line: string) => void;
}

export class LocalSqs {
  /** The stack's queues by name. */
  readonly queues: ReadonlyMap<string, LocalQueue>;
  private readonly scope: SqsScope;
  private readonly pollers: EventSourceMappingPoller[];

  constructor(private readonly options: LocalSqsOptions) {
    const { model, log } = options;
    const queues = new Map(model.queues.map((q) => [q.name, new LocalQueue(q, log)]));
    const byArn = (arn: string) => [...queues.values()].find((q) => q.arn === arn);
    for (const queue of queues.values()) {
      if (queue.model.redrivePolicy) queue.deadLetterQueue = byArn(queue.model.redrivePolicy.deadLetterTargetArn);
    }
    this.queues = queues;
    this.scope = { region: model.region, account: model.account, queues };
    this.pollers = model.eventSourceMappings
      .filter((mapping) => mapping.enabled)
      .map((mapping) => new EventSourceMappingPoller(mapping, byArn(mapping.queueArn)!, { region: model.region, runner: () => options.runner(mapping.functionName), log }));
  }

  /** Starts Lambda's pollers. */
  start(): void {
    for (const poller of this.pollers) poller.start();
  }

  /** Answers one SQS API call (see isSqsRequest). */
  handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    return handleSqsRequest(req, res, { scope: this.scope, identities: this.options.identities, log: this.options.log });
  }

  /**
   * Stops polling and ends long polls. Batches being processed are left to their invocations, which end
   * when the functions stop; their messages would reappear, but the queues are in memory and go too.
   */
  async stop(): Promise<void> {
    const stopped = Promise.all(this.pollers.map((poller) => poller.stop()));
    for (const queue of this.queues.values()) queue.close();
    await stopped;
  }
}
