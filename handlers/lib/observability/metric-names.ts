/**
 * The custom metrics the handlers publish (CloudWatch Embedded Metric Format) and their dimensions, shared
 * with the constructs that build alarms and the dashboard on them. Dimensions are low-cardinality only:
 * never a room, user or connection id, each of which would make a custom metric per value.
 */

/** On every metric (Powertools names it so): stacks sharing a namespace stay apart. */
export const SERVICE_DIMENSION = "service";
/** Whom a message was sent to: a kind of target, never the target itself. */
export const TARGET_DIMENSION = "Target";
export const TARGETS = ["everyone", "room", "connection", "user"] as const;
export type TargetKind = (typeof TARGETS)[number];
/** Posted by send-message itself, or handed to the fan-out queue and posted by its consumer. */
export const PATH_DIMENSION = "Path";
export const PATHS = ["inline", "queue"] as const;
export type FanOutPath = (typeof PATHS)[number];
/** Why the authorizer denied a token: one of a few error codes (ERR_JWT_EXPIRED, ...). */
export const REASON_DIMENSION = "Reason";

export const METRIC = {
  /** send-message frames answered `sent` (one per message, whatever its audience). */
  messagesSent: "MessagesSent",
  recipientsDelivered: "RecipientsDelivered",
  /** Gone (410) and removed. */
  recipientsStale: "RecipientsStale",
  /** Not reached for any other reason, after retries. */
  recipientsFailed: "RecipientsFailed",
  /** Handed to the fan-out queue. */
  recipientsQueued: "RecipientsQueued",
  /** Fan-outs (or queue batches) that stopped before every recipient was attempted or handed off. */
  incompleteFanOuts: "IncompleteFanOuts",
  /** Milliseconds from the first post of one fan-out (or queue batch) to the last answer. */
  fanOutDuration: "FanOutDuration",
  /** Tokens the $connect authorizer refused with an explicit Deny. */
  authorizerDenials: "AuthorizerDenials",
} as const;
