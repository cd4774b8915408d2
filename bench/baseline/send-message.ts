/**
 * Bench-only baseline for the fan-out figures: AWS's tutorial send-message (simple-websockets-chat-app and
 * the API Gateway developer guide's WebSocket chat tutorial), translated to SDK v3 and this stack's table.
 * One Scan of the connections, then every post started at once with Promise.all through the SDK's
 * ApiGatewayManagementApiClient, SDK default retries, and a failed post only logged. bench/fan-out.ts deploys
 * it in place of handlers/send-message.ts in a copy of the synthesized stack (bench/lib/stacks.ts, which also
 * grants that copy's role the dynamodb:Scan the shipped stack never needs); it never ships.
 *
 * Ported onto the single-table design (handlers/lib/store/table-schema.ts): the tutorial's table holds one small item
 * per connection, this one also a user-list and a broadcast-list item per connection, memberships and fan-out
 * progress. So the Scan keeps only connection records (`sk = "meta"`), and it follows LastEvaluatedKey: a Scan
 * page stops after 1 MB read *before* the filter, which here is ~3,000 connections (~120 bytes for each of their
 * three items), where on the tutorial's table (~40 bytes a connection) the one page it reads holds over 25,000.
 * Following the pages keeps what the tutorial does at these sizes: every connection read, then posted to.
 */
import { ApiGatewayManagementApiClient, PostToConnectionCommand } from "@aws-sdk/client-apigatewaymanagementapi";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, ScanCommand } from "@aws-sdk/lib-dynamodb";
import type { APIGatewayProxyWebsocketEventV2 } from "aws-lambda";
import { managementApiEndpoint } from "../../handlers/lib/aws/clients";
import { ENV_TABLE_NAME } from "../../handlers/lib/env/contract";
import { CONNECTION_SK, SORT_KEY } from "../../handlers/lib/store/table-schema";

const db = DynamoDBDocumentClient.from(new DynamoDBClient({}));

export const handler = async (event: APIGatewayProxyWebsocketEventV2) => {
  const { message } = JSON.parse(event.body ?? "{}") as { message?: string };
  const connections: Array<Record<string, unknown>> = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await db.send(
      new ScanCommand({
        TableName: process.env[ENV_TABLE_NAME],
        ProjectionExpression: "connectionId",
        FilterExpression: "#sk = :connection",
        ExpressionAttributeNames: { "#sk": SORT_KEY },
        ExpressionAttributeValues: { ":connection": CONNECTION_SK },
        ExclusiveStartKey: startKey,
      }),
    );
    connections.push(...(page.Items ?? []));
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  const api = new ApiGatewayManagementApiClient({ endpoint: managementApiEndpoint(event.requestContext) });
  const data = JSON.stringify({ type: "message", message, from: event.requestContext.connectionId, sentAt: new Date().toISOString() });
  await Promise.all(
    connections.map(async ({ connectionId }) => {
      try {
        await api.send(new PostToConnectionCommand({ ConnectionId: String(connectionId), Data: data }));
      } catch (error) {
        console.error(`post to ${connectionId} failed:`, error);
      }
    }),
  );
  return { statusCode: 200, body: JSON.stringify({ type: "sent", delivered: connections.length }) };
};
