import type { APIGatewayEventWebsocketRequestContextV2 } from "aws-lambda";
import { managementApi } from "../aws/clients";
import { fanOutConcurrency } from "../env/contract";
import type { InvitationFrame, RemovedFrame } from "../frames/frames";
import { LogContext, logError } from "../observability/log";
import { fanOut, type FanOutCounts, type Recipient } from "./fan-out";

/**
 * Posts one frame to a few chosen connections (a user's: an invitation, a removal). Best effort, like
 * presence: a connection that is gone (410) is only counted, since its own $disconnect removes it, and a
 * failure is logged, never turned into an error for the moderator whose action has already taken effect.
 */
export function notify(
  recipients: AsyncIterable<Recipient> | Iterable<Recipient>,
  frame: InvitationFrame | RemovedFrame,
  context: { readonly requestContext: APIGatewayEventWebsocketRequestContextV2; readonly log: LogContext; readonly remainingTimeMs: () => number },
): Promise<FanOutCounts> {
  const data = Buffer.from(JSON.stringify(frame), "utf8");
  const api = managementApi(context.requestContext);
  return fanOut({
    recipients,
    post: (recipient, abortSignal) => api.post(recipient.connectionId, data, abortSignal),
    onFailure: (recipient, error) => logError(context.log, error, { recipient: recipient.connectionId, room: frame.room }),
    onReadFailure: (error) => logError(context.log, error, { room: frame.room }),
    concurrency: fanOutConcurrency(),
    remainingTimeMs: context.remainingTimeMs,
  });
}
