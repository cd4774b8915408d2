import { PostToConnectionCommand } from "@aws-sdk/client-apigatewaymanagementapi";
import { notAMember, parseClientFrame, Target, unknownRecipient, validateSendMessage } from "./lib/client-frames";
import { managementApi } from "./lib/clients";
import { ConnectionStore, connectionStore } from "./lib/connection-store";
import { fanOut } from "./lib/fan-out";
import { MessageFrame } from "./lib/frames";
import { logError } from "./lib/log";
import { reply, routeHandler } from "./lib/route-result";
import { fanOutConcurrency } from "./lib/settings";

const ACTION = "send-message";

/**
 * send-message: validates the frame, then posts it to everyone, a room's members or one connection.
 * Recipients found gone are removed; the caller gets the counts once every post has been answered.
 */
export const handler = routeHandler(
  ACTION,
  async (event, log) => {
    const frame = parseClientFrame(event, ACTION);
    if (!frame.ok) return reply(frame.error);
    const request = validateSendMessage(frame.value, ACTION);
    if (!request.ok) return reply(request.error);
    const { message, target } = request.value;
    const sender = event.requestContext.connectionId;
    // Settings first: a misconfigured function fails before it has sent anything.
    const store = connectionStore();
    const concurrency = fanOutConcurrency();

    if (target.kind === "room" && !(await store.isMember(sender, target.room))) {
      return reply(notAMember(target.room, ACTION));
    }
    if (target.kind === "direct" && !(await store.isConnected(target.to))) {
      return reply(unknownRecipient(ACTION));
    }

    const outgoing: MessageFrame = {
      type: "message",
      message,
      from: sender,
      sentAt: new Date().toISOString(),
      ...(target.kind === "room" && { room: target.room }),
      ...(target.kind === "direct" && { to: target.to }),
    };
    // Serialized once: every recipient gets the same bytes.
    const data = Buffer.from(JSON.stringify(outgoing), "utf8");
    const api = managementApi(event.requestContext);

    const counts = await fanOut({
      recipients: excluding(sender, recipientsOf(target, store)),
      post: (recipient) => api.send(new PostToConnectionCommand({ ConnectionId: recipient, Data: data })),
      onGone: (recipient) => store.removeConnection(recipient),
      onFailure: (recipient, error) => logError(log, error, { recipient }),
      concurrency,
    });
    return reply({ type: "sent", ...counts });
  },
  ACTION
);

function recipientsOf(target: Target, store: ConnectionStore): AsyncIterable<string> | Iterable<string> {
  switch (target.kind) {
    case "everyone":
      return store.connectionIds();
    case "room":
      return store.roomMemberIds(target.room);
    case "direct":
      return [target.to];
  }
}

/** The sender never receives its own message. */
async function* excluding(
  sender: string,
  recipients: AsyncIterable<string> | Iterable<string>
): AsyncGenerator<string> {
  for await (const recipient of recipients) if (recipient !== sender) yield recipient;
}
