import { managementApi } from "./lib/aws/clients";
import { handshakeTimeoutMs, tableSettings } from "./lib/env/contract";
import { validateBan } from "./lib/frames/room-frames";
import { errorFrame, notConnected } from "./lib/frames/frames";
import { clientRoute } from "./lib/frames/route-result";
import { closeUserConnections } from "./lib/moderation/close-user-connections";
import { logInfo } from "./lib/observability/log";
import { liftAccountBan, putAccountBan } from "./lib/store/account-bans";
import { connectionStore } from "./lib/store/connection-store";
import { dynamoDbJson } from "./lib/store/dynamodb-json";

const ACTION = "ban";
/** Kept back from the function's deadline when retrying DELETEs, so the reply still goes out. */
const REPLY_RESERVE_MS = 1_000;

/**
 * ban (admins only): bans the user's account for `seconds` and closes every connection they hold, or lifts
 * the ban with `seconds: 0`. The ban is written first, then the user's list read: a handshake whose $connect
 * commits after the write is refused by its transaction's check, and one that committed before is in the
 * list (docs/moderation.md, "Account bans").
 */
export const handler = clientRoute(ACTION, async ({ frame, connectionId, event, log, remainingTimeMs }) => {
  const request = validateBan(frame, ACTION);
  if (!request.ok) return request.error;
  const store = connectionStore();
  const me = await store.connection(connectionId);
  if (!me) return notConnected(ACTION);
  // In none mode nobody is an admin.
  if (!me.user.admin) return errorFrame("FORBIDDEN", "Only admins may ban a user.", ACTION);

  const { user, seconds } = request.value;
  const { tableName } = tableSettings();
  if (seconds === 0) {
    await liftAccountBan(dynamoDbJson(), tableName, user);
    logInfo(log, { moderation: "ban", by: me.user.id, user, seconds });
    return { type: "banned", user };
  }
  const until = Math.floor(Date.now() / 1000) + seconds;
  await putAccountBan(dynamoDbJson(), tableName, user, until, me.user);
  logInfo(log, { moderation: "ban", by: me.user.id, user, seconds, until });
  const outcome = await closeUserConnections(store, managementApi(event.requestContext), user, {
    handshakeTimeoutMs: handshakeTimeoutMs(),
    deadlineMs: Date.now() + remainingTimeMs() - REPLY_RESERVE_MS,
  });
  logInfo(log, { moderation: "ban-closed", by: me.user.id, user, ...outcome });
  return { type: "banned", user, until: new Date(until * 1000).toISOString() };
});
