import type { APIGatewayEventWebsocketRequestContextV2 } from "aws-lambda";
import { managementApi } from "../aws/clients";
import type { ConnectionStore } from "../store/connection-store";
import { fanOut, FanOutCounts } from "./fan-out";
import type { PresenceFrame } from "../frames/frames";
import { LogContext, logError } from "../observability/log";
import { fanOutConcurrency } from "../env/contract";
import type { User } from "../auth/user";

export interface PresenceChange {
  readonly room: string;
  readonly event: PresenceFrame["event"];
  readonly connectionId: string;
  readonly user: User;
}

/**
 * Tells a room's other members that a connection joined or left. Best effort: a member that is gone is
 * only counted (send-message and $disconnect remove gone connections), and a failure is logged, never
 * turned into an error for the connection that joined or left.
 */
export async function announcePresence(
  store: ConnectionStore,
  change: PresenceChange,
  context: { readonly requestContext: APIGatewayEventWebsocketRequestContextV2; readonly log: LogContext; readonly remainingTimeMs: () => number },
): Promise<FanOutCounts> {
  const frame: PresenceFrame = { type: "presence", ...change };
  const data = Buffer.from(JSON.stringify(frame), "utf8");
  const api = managementApi(context.requestContext);
  return fanOut({
    recipients: othersIn(store, change.room, change.connectionId),
    post: (member, abortSignal) => api.post(member.connectionId, data, abortSignal),
    onFailure: (member, error) => logError(context.log, error, { recipient: member.connectionId, room: change.room }),
    onReadFailure: (error) => logError(context.log, error, { room: change.room }),
    concurrency: fanOutConcurrency(),
    remainingTimeMs: context.remainingTimeMs,
  });
}

async function* othersIn(store: ConnectionStore, room: string, connectionId: string) {
  for await (const member of store.roomMembers(room)) if (member.connectionId !== connectionId) yield member;
}
