import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { ENV_CALLBACK_URL, managementApiEndpointFromEnv } from "../env/contract";
import { ConnectionsApi, connectionsApi } from "./connections-api";

/**
 * SDK clients live as long as the container, so warm invocations reuse their connections. They are
 * created on first use rather than at import so a test can point the environment at local endpoints
 * after loading a handler.
 */
let documentClient: DynamoDBDocumentClient | undefined;
const managementClients = new Map<string, ConnectionsApi>();

/** The SDK reads the endpoint (AWS_ENDPOINT_URL_DYNAMODB when set), region and credentials itself. */
export function dynamoDb(): DynamoDBDocumentClient {
  documentClient ??= DynamoDBDocumentClient.from(new DynamoDBClient({}));
  return documentClient;
}

export interface CallbackContext {
  readonly domainName: string;
  readonly stage: string;
}

/**
 * The @connections endpoint of the API that invoked us. AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI is the
 * SDK's standard per-service override; the local runtime sets it, on AWS it is unset. CALLBACK_URL is the
 * execute-api endpoint the stack sets; the event's host is the fallback, wrong behind a custom domain.
 * A function that no API Gateway event invokes (the fan-out queue's consumer) has only the environment.
 */
export function managementApiEndpoint(context?: CallbackContext): string {
  const endpoint = managementApiEndpointFromEnv();
  if (endpoint) return endpoint;
  if (!context) throw new Error(`Environment variable ${ENV_CALLBACK_URL} is not set`);
  return `https://${context.domainName}/${context.stage}`;
}

/**
 * A post that has not been answered by then fails (and is not retried: it may have been delivered). The
 * fan-out keeps this much time in reserve before the function's deadline.
 */
export const POST_TIMEOUT_MS = 3_000;

/**
 * One client per endpoint (one API and stage per function in practice), keeping its connections open.
 * It makes one attempt per call because the fan-out owns the retry policy: retries underneath would
 * multiply the attempts per recipient. A post times out after POST_TIMEOUT_MS unless the caller's signal
 * says sooner; opening a connection may take a second.
 */
export function managementApi(context?: CallbackContext): ConnectionsApi {
  const endpoint = managementApiEndpoint(context);
  let client = managementClients.get(endpoint);
  if (!client) {
    client = connectionsApi(endpoint, { requestTimeoutMs: POST_TIMEOUT_MS, connectionTimeoutMs: 1_000 });
    managementClients.set(endpoint, client);
  }
  return client;
}
