/**
 * The connections table's layout, shared by the construct that creates the table and the handlers that
 * read and write it, so the two cannot drift apart.
 *
 * One item per open connection and one per room membership, all under the connection's id:
 *   { connectionId, sk: "#connection", connectedAt, expiresAt }
 *   { connectionId, sk: "room#<room>", room, expiresAt }
 * The room index (hash `room`, range `connectionId`, keys only) is sparse: only memberships carry `room`,
 * so a room's members are one Query away and never need a table scan.
 */
export const HASH_KEY = "connectionId";
export const SORT_KEY = "sk";
export const CONNECTION_SK = "#connection";
export const ROOM_SK_PREFIX = "room#";
export const ROOM_ATTRIBUTE = "room";
export const TTL_ATTRIBUTE = "expiresAt";
export const ROOM_INDEX_NAME = "room-index";

/**
 * API Gateway closes every WebSocket connection after 2 hours; items of connections that vanished without
 * a $disconnect expire a little after that.
 */
export const ITEM_TTL_SECONDS = 2 * 60 * 60 + 15 * 60;

/** Environment variables the stack gives every function. */
export const ENV_TABLE_NAME = "TABLE_NAME";
export const ENV_ROOM_INDEX_NAME = "ROOM_INDEX_NAME";
