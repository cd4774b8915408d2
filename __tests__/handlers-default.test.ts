import { handler } from "../handlers/default";
import { LocalDynamo } from "./support/dynalite";
import { connectEvent, replyFrame, websocketEvent } from "./support/events";
import { handler as connectHandler } from "../handlers/connect";

let dynamo: LocalDynamo;

beforeAll(async () => {
  dynamo = await LocalDynamo.start();
  await dynamo.freshTable();
  await dynamo.connect("alice");
});

afterAll(async () => {
  await dynamo.stop();
});

function defaultEvent(body?: string) {
  return websocketEvent({ routeKey: "$default", connectionId: "alice", body });
}

describe("$default", () => {
  test("a JSON frame without a known action gets an info frame with who you are and the client routes", async () => {
    const result = await handler(defaultEvent(JSON.stringify({ hello: "there" })));

    expect(result.statusCode).toBe(200);
    expect(replyFrame(result)).toEqual({
      type: "info",
      connectionId: "alice",
      user: { id: "alice", name: "alice", verified: false },
      routes: ["send-message", "join", "leave", "members", "history", "create-room", "invite", "kick", "ban"],
      broadcast: "off",
      message: expect.stringContaining('"action"'),
    });
  });

  test("the info frame says the stack's broadcast policy, so the page offers everyone only to those allowed", async () => {
    for (const policy of ["everyone", "admins", "off"]) {
      process.env.BROADCAST = policy;
      try {
        expect(replyFrame(await handler(defaultEvent("{}")))).toMatchObject({ broadcast: policy });
      } finally {
        delete process.env.BROADCAST;
      }
    }
  });

  test("an admin's info frame says so: user.admin is kept with the stored user", async () => {
    await connectHandler(connectEvent("boss", { authorizer: { userId: "user-9", userName: "Boss", admin: true, principalId: "user-9" } }));
    const info = replyFrame(await handler(websocketEvent({ routeKey: "$default", connectionId: "boss", body: "{}" })));
    expect(info).toMatchObject({ user: { id: "user-9", name: "Boss", verified: true, admin: true } });
  });

  test("the info frame echoes the frame's requestId", async () => {
    expect(replyFrame(await handler(defaultEvent(JSON.stringify({ action: "whoami", requestId: "w-1" }))))).toMatchObject({ type: "info", requestId: "w-1" });
  });

  test("an invalid requestId gets INVALID_REQUEST_ID", async () => {
    expect(replyFrame(await handler(defaultEvent(JSON.stringify({ requestId: "no spaces please" }))))).toMatchObject({ code: "INVALID_REQUEST_ID" });
  });

  test("the info frame names the unknown action the client sent", async () => {
    const result = await handler(defaultEvent(JSON.stringify({ action: "dance" })));

    expect(replyFrame(result).message).toContain('Unknown action "dance"');
  });

  test("a JSON value that is not an object still gets the info frame", async () => {
    expect(replyFrame(await handler(defaultEvent("[1,2,3]"))).type).toBe("info");
  });

  test.each([
    ["plain text", "hello"],
    ["truncated JSON", '{"action":"send-message"'],
    ["an empty frame", ""],
  ])("%s gets an INVALID_JSON error frame", async (_, body) => {
    const result = await handler(defaultEvent(body));

    expect(result.statusCode).toBe(400);
    expect(replyFrame(result)).toEqual({ type: "error", code: "INVALID_JSON", message: expect.any(String) });
  });
});
