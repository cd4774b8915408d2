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

const ACTION = "send-message";

/**
 * send-message: validates the frame, checks the sender and the target against the table, then posts one
 * message (one id, the same bytes) to everyone, a room's other members, one connection or every
 * connection of a user. Recipients found gone are removed. The reply comes once every post has been
 * answered; once anyone was posted to it is `sent` (never an error, which would invite a duplicating
 * retry), with `failed` and `incomplete` saying what did not happen. An audience larger than the inline
 * limit is handed to the fan-out queue instead, and `sent` says how many recipients were `queued`.
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
  const outgoing: MessageFrame = {
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
  const serialized = JSON.stringify(outgoing);
  const data = Buffer.from(serialized, "utf8");
  if (data.byteLength > MAX_DELIVERED_BYTES) return frameTooLarge(data.byteLength, ACTION);
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
    return { type: "sent", id, sentAt: outgoing.sentAt, delivered: 0, stale: 0, failed: 0, incomplete, queued };
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
  return { type: "sent", id, sentAt: outgoing.sentAt, ...counts };
});

/** FORBIDDEN when the policy does not let this sender send to everyone; nothing is sent. */
function broadcastRefusal(policy: BroadcastPolicy, admin: boolean): ErrorFrame | undefined {
  if (policy === "everyone" || (policy === "admins" && admin)) return undefined;
  const why = policy === "off" ? "nobody may send to everyone on this chat" : "only admins may send to everyone on this chat";
  return errorFrame("FORBIDDEN", `${why}: send to a room, a connection or a user instead`, ACTION);
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
