/**
 * Bench-only baseline for the fan-out figures: the tutorial's send-message, translated to SDK v3 and this
 * stack's table. One Scan (its first page only: no pagination), every post started at once with
 * Promise.all, SDK default retries, and a failed post only logged. bench/fan-out.ts deploys it in place of
 * handlers/send-message.ts in a copy of the synthesized stack; it never ships.
 */
import { ApiGatewayManagementApiClient, PostToConnectionCommand } from "@aws-sdk/client-apigatewaymanagementapi";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, ScanCommand } from "@aws-sdk/lib-dynamodb";
import type { APIGatewayProxyWebsocketEventV2 } from "aws-lambda";
import { managementApiEndpoint } from "../../handlers/lib/clients";
import { CONNECTION_SK, ENV_TABLE_NAME, SORT_KEY } from "../../handlers/lib/table-schema";

const db = DynamoDBDocumentClient.from(new DynamoDBClient({}));

export const handler = async (event: APIGatewayProxyWebsocketEventV2) => {
  const { message } = JSON.parse(event.body ?? "{}") as { message?: string };
  // The tutorial's table holds only connections; this table also holds memberships and lists, hence the filter.
  const { Items = [] } = await db.send(
    new ScanCommand({
      TableName: process.env[ENV_TABLE_NAME],
      ProjectionExpression: "connectionId",
      FilterExpression: "#sk = :connection",
      ExpressionAttributeNames: { "#sk": SORT_KEY },
      ExpressionAttributeValues: { ":connection": CONNECTION_SK },
    }),
  );
  const api = new ApiGatewayManagementApiClient({ endpoint: managementApiEndpoint(event.requestContext) });
  const data = JSON.stringify({ type: "message", message, from: event.requestContext.connectionId, sentAt: new Date().toISOString() });
  await Promise.all(
    Items.map(async ({ connectionId }) => {
      try {
        await api.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: data }));
      } catch (error) {
        console.error(`post to ${connectionId} failed:`, error);
      }
    }),
  );
  return { statusCode: 200, body: JSON.stringify({ type: "sent", delivered: Items.length }) };
};
