/**
 * `ReturnValuesOnConditionCheckFailure: "ALL_OLD"` on PutItem, UpdateItem and DeleteItem, which dynalite
 * ignores (https://github.com/mhart/dynalite/issues/182): on AWS a failed condition's
 * ConditionalCheckFailedException carries the item as it is (`Item`), consuming no read capacity
 * (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_UpdateItem.html). App code decides on
 * it (the rate limiter picks its next branch from it), so the local runtime must return it too.
 *
 * Runs under the exclusive side of the proxy's lock: the old image read after the failed write is the
 * one the condition was evaluated on, as nothing else writes in between.
 */
import type { KeySchemaLookup } from "./transactions";
import { errorType, type StoreClient, type StoreResponse } from "./store-client";

type AttributeMap = Record<string, unknown>;

export async function writeReturningOldOnFailure(store: StoreClient, operation: string, request: AttributeMap, keySchema: KeySchemaLookup): Promise<StoreResponse> {
  const { ReturnValuesOnConditionCheckFailure: _returnValues, ...write } = request;
  const result = await store.call(operation, write);
  if (result.status === 200 || errorType(result.body) !== "ConditionalCheckFailedException") return result;
  const table = typeof request.TableName === "string" ? request.TableName : undefined;
  const names = table ? await keySchema(table) : undefined;
  const source = operation === "PutItem" ? request.Item : request.Key;
  if (!table || !names || !isMap(source)) return result;
  const got = await store.call("GetItem", { TableName: table, Key: Object.fromEntries(names.map((name) => [name, source[name]])), ConsistentRead: true });
  const old = got.status === 200 ? (got.body.Item as AttributeMap | undefined) : undefined;
  return old ? { status: result.status, body: { ...result.body, Item: old } } : result;
}

export function isMap(value: unknown): value is AttributeMap {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
