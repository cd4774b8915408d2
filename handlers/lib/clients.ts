import { ApiGatewayManagementApiClient } from "@aws-sdk/client-apigatewaymanagementapi";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { ENV_CALLBACK_URL } from "./callback-url";

/**
 * SDK clients live as long as the container, so warm invocations reuse their connections. They are
 * created on first use rather than at import so a test can point the environment at local endpoints
 * after loading a handler.
 */
let documentClient: DynamoDBDocumentClient | undefined;
const managementClients = new Map<string, ApiGatewayManagementApiClient>();

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
 */
export function managementApiEndpoint(context: CallbackContext): string {
  return (
    process.env.AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI ?? process.env[ENV_CALLBACK_URL] ?? `https://${context.domainName}/${context.stage}`
  );
}

/**
 * One client per endpoint (one API and stage per function in practice). `maxAttempts: 1` because the
 * fan-out owns the retry policy: SDK retries on top of it would multiply the attempts per recipient, and
 * the SDK's shared retry quota would run dry when many posts are throttled at once.
 */
export function managementApi(context: CallbackContext): ApiGatewayManagementApiClient {
  const endpoint = managementApiEndpoint(context);
  let client = managementClients.get(endpoint);
  if (!client) {
    client = new ApiGatewayManagementApiClient({ endpoint, maxAttempts: 1 });
    managementClients.set(endpoint, client);
  }
  return client;
}
