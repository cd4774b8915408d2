import { frameTooLarge, MAX_DELIVERED_BYTES, notAMember, Target, unknownRecipient, validateSendMessage } from "./lib/frames/client-frames";
import { managementApi } from "./lib/aws/clients";
import { ConnectionRecord, ConnectionStore, connectionStore, ListedRecipient } from "./lib/store/connection-store";
import { fanOut, Recipient } from "./lib/fan-out/fan-out";
import { handOff } from "./lib/fan-out/fan-out-handoff";
import { removeGoneRecipient } from "./lib/fan-out/gone-recipients";
import { ErrorFrame, errorFrame, MessageFrame, notConnected } from "./lib/frames/frames";
import { logError } from "./lib/observability/log";
import { messageId } from "./lib/frames/message-id";
import { publishFanOut } from "./lib/observability/metrics";
import { clientRoute } from "./lib/frames/route-result";
import { type BroadcastPolicy, broadcastPolicy, fanOutConcurrency, fanOutQueue } from "./lib/env/contract";
import { verifiedUser, type AuthorizerContext } from "./lib/auth/user";
import { HistoryStore, historyStore, HOT_ROOM_RETRY_AFTER_MS, RoomBusyError } from "./lib/store/history-store";
import { MAX_ROOM_MESSAGE_BYTES } from "./lib/frames/history-frames";

const ACTION = "send-message";

/**
 * send-message: validates the frame, checks the sender and the target against the table, then posts one
 * message (one id, the same bytes) to everyone, a room's other members, one connection or every
 * connection of a user. Recipients found gone are removed. The reply comes once every post has been
 * answered; once anyone was posted to it is `sent` (never an error, which would invite a duplicating
 * retry), with `failed` and `incomplete` saying what did not happen. An audience larger than the inline
 * limit is handed to the fan-out queue instead, and `sent` says how many recipients were `queued`.
 *
 * A room message first takes its seq and is stored with it (history-store.ts), and only then are the room's
 * members read: the order docs/history.md shows loses no message for a member who joins meanwhile.
 */
export const handler = clientRoute(ACTION, async ({ event, frame, connectionId, requestId, log, awsRequestId, remainingTimeMs }) => {
  const request = validateSendMessage(frame, ACTION);
  if (!request.ok) return request.error;
  const { message, target } = request.value;
  // Settings first: a misconfigured function fails before it has sent anything.
  const store = connectionStore();
  const concurrency = fanOutConcurrency();
  if (target.kind === "everyone") {
    // From the authorizer's context, which API Gateway passes every route: refused before any read.
    const authorizer = (event.requestContext as { authorizer?: AuthorizerContext }).authorizer;
    const refusal = broadcastRefusal(broadcastPolicy(), verifiedUser(authorizer)?.admin === true);
    if (refusal) return refusal;
  }

  const { sender, resolved } = await readSenderAndTarget(store, target, connectionId);
  if (!sender) return notConnected(ACTION);
  if ("error" in resolved) return resolved.error;

  const id = messageId({ connectionId, requestId, target: JSON.stringify(target), message });
  let outgoing: MessageFrame = {
    type: "message",
    id,
    message,
    from: connectionId,
    sender: sender.user,
    sentAt: new Date().toISOString(),
    ...(target.kind === "room" && { room: target.room }),
    ...(target.kind === "connection" && { to: target.to }),
    ...(target.kind === "user" && { toUser: target.toUser }),
  };
  // Serialized once: every recipient gets the same bytes.
  let serialized = JSON.stringify(outgoing);
  // A room message also has to fit a history page, with its seq.
  const maxBytes = target.kind === "room" ? MAX_ROOM_MESSAGE_BYTES : MAX_DELIVERED_BYTES;
  const bytes = Buffer.byteLength(serialized, "utf8") + (target.kind === "room" ? SEQ_FIELD_BYTES : 0);
  if (bytes > maxBytes) return frameTooLarge(bytes, ACTION, maxBytes);
  if (target.kind === "room") {
    // The seq first, stored with the message; the members are read after (docs/history.md).
    const sequenced = await sequence(historyStore(), target.room, outgoing);
    if ("error" in sequenced) return sequenced.error;
    ({ outgoing, serialized } = sequenced);
  }
  const data = Buffer.from(serialized, "utf8");
  const api = managementApi(event.requestContext);
  const recipients = excluding(connectionId, resolved.recipients);

  // A large audience goes to the queue, whose consumers post to it in parallel; the first recipients read
  // tell which: more than the inline limit and none is posted here.
  const queue = target.kind === "everyone" || target.kind === "room" ? fanOutQueue() : undefined;
  const head = queue ? await readAhead(recipients, queue.inlineLimit) : { read: [], rest: undefined };
  if (queue && head.rest) {
    const { queued, incomplete } = await handOff({
      queueUrl: queue.url,
      jobSize: queue.jobSize,
      messageId: id,
      frame: serialized,
      recipients: concat(head.read, head.rest),
      remainingTimeMs,
      onFailure: (error) => logError(log, error, { messageId: id, while: "handing off to the fan-out queue" }),
    });
    await publishFanOut({ path: "queue", target: target.kind, message: true, queued, incomplete }, { requestId: awsRequestId, connectionId });
    return { type: "sent", id, sentAt: outgoing.sentAt, ...seqOf(outgoing), delivered: 0, stale: 0, failed: 0, incomplete, queued };
  }

  // Fan-out duration: from the first post to the last answer (fanOut returns once every post is answered).
  let firstPostAt: number | undefined;
  const counts = await fanOut<Addressee>({
    recipients: queue ? head.read : recipients,
    post: (recipient, abortSignal) => {
      firstPostAt ??= performance.now();
      return api.post(recipient.connectionId, data, abortSignal);
    },
    onGone: (recipient) => removeGoneRecipient(store, recipient),
    onFailure: (recipient, error) => logError(log, error, { recipient: recipient.connectionId }),
    onReadFailure: (error) => logError(log, error, { messageId: id, while: "reading recipients" }),
    concurrency,
    remainingTimeMs,
  });
  const durationMs = firstPostAt === undefined ? undefined : Math.round(performance.now() - firstPostAt);
  await publishFanOut({ path: "inline", target: target.kind, message: true, counts, durationMs }, { requestId: awsRequestId, connectionId });
  return { type: "sent", id, sentAt: outgoing.sentAt, ...seqOf(outgoing), ...counts };
});

/** FORBIDDEN when the policy does not let this sender send to everyone; nothing is sent. */
function broadcastRefusal(policy: BroadcastPolicy, admin: boolean): ErrorFrame | undefined {
  if (policy === "everyone" || (policy === "admins" && admin)) return undefined;
  const why = policy === "off" ? "nobody may send to everyone on this chat" : "only admins may send to everyone on this chat";
  return errorFrame("FORBIDDEN", `${why}: send to a room, a connection or a user instead`, ACTION);
}

/** `,"seq":` and the most digits a seq has. */
const SEQ_FIELD_BYTES = 8 + String(Number.MAX_SAFE_INTEGER).length;

const seqOf = (frame: MessageFrame) => (frame.seq === undefined ? {} : { seq: frame.seq });

/**
 * Gives a room message its seq and stores it (both at once), or finds the seq a previous sending of the
 * same frame took: a retry then goes out exactly as the first sending did (same sentAt, same seq).
 */
async function sequence(store: HistoryStore, room: string, frame: MessageFrame): Promise<{ outgoing: MessageFrame; serialized: string } | { error: ErrorFrame }> {
  let outgoing: MessageFrame = frame;
  let serialized = "";
  try {
    const sequenced = await store.sequence(room, frame.id, frame.sentAt, (seq) => {
      outgoing = { ...frame, seq };
      return (serialized = JSON.stringify(outgoing));
    });
    if (sequenced.retryOf) {
      outgoing = { ...frame, sentAt: sequenced.retryOf.sentAt, seq: sequenced.seq };
      serialized = JSON.stringify(outgoing);
    }
    return { outgoing, serialized };
  } catch (error) {
    if (!(error instanceof RoomBusyError)) throw error;
    // Nothing was stored or sent: the client may send the same frame again (same requestId, same id).
    return {
      error: {
        ...errorFrame("RATE_LIMITED", `Room "${room}" is too busy right now; send the same frame again in a moment.`, ACTION),
        retryAfterMs: HOT_ROOM_RETRY_AFTER_MS,
      },
    };
  }
}

/** Whom a message goes to, as the lists name them (a direct `to` has no list entry). */
type Addressee = Recipient & Pick<ListedRecipient, "connectedAt"> & Partial<Pick<ListedRecipient, "key" | "userId">>;

type Resolved = { readonly recipients: AsyncIterable<Addressee> | Iterable<Addressee> } | { readonly error: ErrorFrame };

/**
 * The sender's record and the recipients, or the error that rejects the frame before anything is sent. A
 * target named by one item (a room's membership, a connection's record) is read with the sender's record in
 * one strongly consistent BatchGetItem: one signed call instead of two, which is most of a direct message's cost.
 */
async function readSenderAndTarget(store: ConnectionStore, target: Target, sender: string): Promise<{ sender?: ConnectionRecord; resolved: Resolved }> {
  switch (target.kind) {
    case "everyone":
      return { sender: await store.connection(sender), resolved: { recipients: store.everyone() } };
    case "room": {
      const { connection, member } = await store.connectionAndMembership(sender, target.room);
      return { sender: connection, resolved: member ? { recipients: store.roomMembers(target.room) } : { error: notAMember(target.room, ACTION) } };
    }
    case "connection": {
      const [self, recipient] = await store.connections([sender, target.to]);
      return { sender: self, resolved: recipient ? { recipients: [recipient] } : { error: unknownRecipient(ACTION, "to") } };
    }
    case "user": {
      // A user has a handful of connections: read them all, so "none at all" can be refused up front.
      const [self, connections] = await Promise.all([store.connection(sender), allOf(store.userConnections(target.toUser))]);
      return { sender: self, resolved: connections.length > 0 ? { recipients: connections } : { error: unknownRecipient(ACTION, "toUser") } };
    }
  }
}

async function allOf<R>(items: AsyncIterable<R>): Promise<R[]> {
  const all: R[] = [];
  for await (const item of items) all.push(item);
  return all;
}

/**
 * Reads up to `limit` + 1 recipients: all of them when the audience is at most `limit` (`rest` undefined),
 * else the first ones and the iterator positioned after them.
 */
async function readAhead<R>(recipients: AsyncIterable<R>, limit: number): Promise<{ read: R[]; rest?: AsyncIterator<R> }> {
  const iterator = recipients[Symbol.asyncIterator]();
  const read: R[] = [];
  while (read.length <= limit) {
    const next = await iterator.next();
    if (next.done) return { read };
    read.push(next.value);
  }
  return { read, rest: iterator };
}

async function* concat<R>(first: readonly R[], rest: AsyncIterator<R>): AsyncGenerator<R> {
  yield* first;
  for (let next = await rest.next(); !next.done; next = await rest.next()) yield next.value;
}

/** The sender never receives its own message. */
async function* excluding<R extends Recipient>(sender: string, recipients: AsyncIterable<R> | Iterable<R>): AsyncGenerator<R> {
  for await (const recipient of recipients) if (recipient.connectionId !== sender) yield recipient;
}
