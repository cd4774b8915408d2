import { PostToConnectionCommand } from "@aws-sdk/client-apigatewaymanagementapi";
import { notAMember, Target, unknownRecipient, validateSendMessage } from "./lib/client-frames";
import { managementApi } from "./lib/clients";
import { ConnectionStore, connectionStore, ListedRecipient } from "./lib/connection-store";
import { fanOut, NEW_CONNECTION_GRACE_MS, Recipient } from "./lib/fan-out";
import { ErrorFrame, MessageFrame, notConnected } from "./lib/frames";
import { logError } from "./lib/log";
import { messageId } from "./lib/message-id";
import { clientRoute } from "./lib/route-result";
import { fanOutConcurrency } from "./lib/settings";

const ACTION = "send-message";

/**
 * send-message: validates the frame, checks the sender and the target against the table, then posts one
 * message (one id, the same bytes) to everyone, a room's other members, one connection or every
 * connection of a user. Recipients found gone are removed. The reply comes once every post has been
 * answered; once anyone was posted to it is `sent` (never an error, which would invite a duplicating
 * retry), with `failed` and `incomplete` saying what did not happen.
 */
export const handler = clientRoute(ACTION, async ({ event, frame, connectionId, requestId, log, remainingTimeMs }) => {
  const request = validateSendMessage(frame, ACTION);
  if (!request.ok) return request.error;
  const { message, target } = request.value;
  // Settings first: a misconfigured function fails before it has sent anything.
  const store = connectionStore();
  const concurrency = fanOutConcurrency();

  const [sender, resolved] = await Promise.all([store.connection(connectionId), resolveTarget(store, target, connectionId)]);
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
  const data = Buffer.from(JSON.stringify(outgoing), "utf8");
  const api = managementApi(event.requestContext);

  const counts = await fanOut<Recipient & Partial<ListedRecipient>>({
    recipients: excluding(connectionId, resolved.recipients),
    post: (recipient) => api.send(new PostToConnectionCommand({ ConnectionId: recipient.connectionId, Data: data })),
    onGone: (recipient) => removeGone(store, recipient),
    onFailure: (recipient, error) => logError(log, error, { recipient: recipient.connectionId }),
    onReadFailure: (error) => logError(log, error, { messageId: id, while: "reading recipients" }),
    concurrency,
    remainingTimeMs,
  });
  return { type: "sent", id, ...counts };
});

type Resolved = { readonly recipients: AsyncIterable<Recipient & Partial<ListedRecipient>> | Iterable<Recipient> } | { readonly error: ErrorFrame };

/** The recipients, or the error that rejects the frame before anything is sent. */
async function resolveTarget(store: ConnectionStore, target: Target, sender: string): Promise<Resolved> {
  switch (target.kind) {
    case "everyone":
      return { recipients: store.everyone() };
    case "room":
      return (await store.isMember(sender, target.room)) ? { recipients: store.roomMembers(target.room) } : { error: notAMember(target.room, ACTION) };
    case "connection": {
      const recipient = await store.connection(target.to);
      return recipient ? { recipients: [recipient] } : { error: unknownRecipient(ACTION, "to") };
    }
    case "user": {
      // A user has a handful of connections: read them all, so "none at all" can be refused up front.
      const connections: ListedRecipient[] = [];
      for await (const connection of store.userConnections(target.toUser)) connections.push(connection);
      return connections.length > 0 ? { recipients: connections } : { error: unknownRecipient(ACTION, "toUser") };
    }
  }
}

/** The sender never receives its own message. */
async function* excluding<R extends Recipient>(sender: string, recipients: AsyncIterable<R> | Iterable<R>): AsyncGenerator<R> {
  for await (const recipient of recipients) if (recipient.connectionId !== sender) yield recipient;
}

/** A recipient that answered 410 and is old enough to be really gone: remove it and what lists it. */
async function removeGone(store: ConnectionStore, recipient: Recipient & Partial<ListedRecipient>): Promise<void> {
  const { outcome } = await store.removeConnection(recipient.connectionId, {
    connectedBefore: Date.now() - NEW_CONNECTION_GRACE_MS,
    ...(recipient.key && { listedAs: recipient.key }),
    ...(recipient.userId !== undefined && { userId: recipient.userId }),
  });
  if (outcome === "too-new") throw new Error("the connection's record is too new to remove: its handshake may still be completing");
}
