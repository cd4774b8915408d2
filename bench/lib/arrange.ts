import type { LocalDynamo } from "../../__tests__/support/dynalite";
import { ConnectionStore } from "../../handlers/lib/store/connection-store";
import { anonymousUser } from "../../handlers/lib/auth/user";
import { recordPut } from "../../handlers/lib/store/room-store";

/** Puts connections and room memberships in a figure's dynalite, as $connect and join write them. */
export interface Arranger {
  connect(connectionId: string): Promise<void>;
  /** A connection of a verified admin (as a jwt authorizer vouches for one). */
  connectAdmin(connectionId: string): Promise<void>;
  join(room: string, connectionId: string): Promise<void>;
  /** A private room the connection made with create-room: it is the owner and a member. */
  createRoom(room: string, connectionId: string): Promise<void>;
}

/**
 * Arranges items on `tableName` of this figure's dynalite through LocalDynamo's own client, which names its
 * endpoint. Not `dynamo.connect`/`dynamo.join`: those write through the handlers' process-wide client
 * (handlers/lib/aws/clients.ts memoizes it on first use, with the AWS_ENDPOINT_URL_DYNAMODB of that moment).
 * Jest gives every test file its own modules and dynalite, but `npm run bench` runs its figures in one
 * process, each with a dynalite of its own that it stops at the end: the client the first figure created
 * would send a later figure's writes to a stopped dynalite (ECONNREFUSED).
 */
export function arranger(dynamo: LocalDynamo, tableName: string): Arranger {
  const store = new ConnectionStore(dynamo.db, { tableName });
  return {
    async connect(connectionId) {
      await store.addConnection({ connectionId, connectedAt: Date.now() - 60_000, user: anonymousUser(connectionId, connectionId) });
    },
    async connectAdmin(connectionId) {
      await store.addConnection({ connectionId, connectedAt: Date.now() - 60_000, user: { id: connectionId, name: connectionId, verified: true, admin: true } });
    },
    async join(room, connectionId) {
      const connection = await store.connection(connectionId);
      if (!connection) throw new Error(`${connectionId} is not connected`);
      await store.join(connection, room);
    },
    async createRoom(room, connectionId) {
      const connection = await store.connection(connectionId);
      if (!connection) throw new Error(`${connectionId} is not connected`);
      const record = recordPut(tableName, room, { private: true, owner: connection.user, createdAt: Date.now() });
      if ((await store.join(connection, room, { guards: [{ item: record, refusal: "room-taken" }] })) !== "joined") throw new Error(`${room} exists`);
    },
  };
}
