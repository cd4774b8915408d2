/**
 * join's check of the user's standing rides in its membership transaction (docs/moderation.md): a room ban,
 * a kick or a withdrawn invitation written after the join read the standing, but before its transaction,
 * still refuses it. The standing is written here with RoomStore, as the kick and invite routes write it.
 */
import { handler as createRoom } from "../handlers/create-room";
import { handler as join } from "../handlers/join";
import { RoomStore } from "../handlers/lib/store/room-store";
import { keys } from "../handlers/lib/store/table-schema";
import type { User } from "../handlers/lib/auth/user";
import type { LocalDynamo } from "./support/dynalite";
import { replyFrame, websocketEvent } from "./support/events";
import type { FaultyDynamoDb } from "./support/faulty-dynamodb";
import { handlerWorldBehindProxy } from "./support/handler-world";

// The moderation lines each create-room, invite and kick logs (asserted where it matters) stay out of the output.
beforeEach(() => void jest.spyOn(console, "info").mockImplementation(() => undefined));

const world = handlerWorldBehindProxy();
let dynamo: LocalDynamo;
let faulty: FaultyDynamoDb;
beforeAll(() => ({ dynamo, faulty } = world));

const user = (id: string): User => ({ id, name: id, verified: true });
const olga = user("olga");
const ivan = user("ivan");

function frame(who: User, body: Record<string, unknown>) {
  return websocketEvent({ routeKey: String(body.action), connectionId: `${who.id}-1`, body, authorizer: { principalId: who.id, userId: who.id, userName: who.name } });
}

const roomStore = () => new RoomStore(dynamo.db, process.env.TABLE_NAME!);
const members = async (room: string) => (await dynamo.partition(keys.roomPartition(room))).map((item) => item.connectionId).sort();

beforeEach(async () => {
  faulty.reset();
  for (const who of [olga, ivan]) await dynamo.connectAs(`${who.id}-1`, who);
});

/** ivan's join of `room`, held at its transaction (its second call, after its one read) while `meanwhile` runs. */
async function joinWhile(room: string, meanwhile: () => Promise<unknown>) {
  const { held, release } = faulty.hold(2);
  const running = join(frame(ivan, { action: "join", room }));
  await held;
  await meanwhile();
  release();
  return replyFrame(await running);
}

test("a room ban written after the join's read refuses the join", async () => {
  await createRoom(frame(olga, { action: "create-room", room: "open", private: false }));

  const joined = await joinWhile("open", () => roomStore().kick("open", ivan.id, 600));

  expect(joined).toMatchObject({ type: "error", code: "FORBIDDEN", action: "join" });
  expect(await members("open")).toEqual(["olga-1"]);
});

test("a kick without a ban after the gateway received the join refuses it", async () => {
  await createRoom(frame(olga, { action: "create-room", room: "open", private: false }));

  const joined = await joinWhile("open", async () => {
    // The kick's clock is past the frame's requestTimeEpoch.
    await new Promise((resolve) => setTimeout(resolve, 5));
    await roomStore().kick("open", ivan.id);
  });

  expect(joined).toMatchObject({ type: "error", code: "FORBIDDEN" });
  expect(await members("open")).toEqual(["olga-1"]);
});

test("an invitation withdrawn after the join's read refuses the join of the private room", async () => {
  await createRoom(frame(olga, { action: "create-room", room: "team", private: true }));
  await roomStore().invite("team", ivan.id, olga);

  const joined = await joinWhile("team", async () => {
    await new Promise((resolve) => setTimeout(resolve, 5));
    await roomStore().kick("team", ivan.id);
  });

  expect(joined).toMatchObject({ type: "error", code: "FORBIDDEN" });
  expect(await members("team")).toEqual(["olga-1"]);
});
