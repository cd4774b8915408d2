import { handler } from "../handlers/default";
import { replyFrame, websocketEvent } from "./support/events";

function defaultEvent(body?: string) {
  return websocketEvent({ routeKey: "$default", connectionId: "alice", body });
}

describe("$default", () => {
  test("a JSON frame without a known action gets an info frame listing the client routes", async () => {
    const result = await handler(defaultEvent(JSON.stringify({ hello: "there" })));

    expect(result.statusCode).toBe(200);
    expect(replyFrame(result)).toEqual({
      type: "info",
      connectionId: "alice",
      routes: ["send-message", "join", "leave"],
      message: expect.stringContaining('"action"'),
    });
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
