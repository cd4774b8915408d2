/**
 * What a WebSocket API's Lambda REQUEST authorizer answers API Gateway: a principal, an IAM policy on
 * `execute-api:Invoke` for the event's methodArn, and a flat `context` (string, number or boolean values)
 * that API Gateway hands to every route of the connection as `requestContext.authorizer`.
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-websocket-api-lambda-auth.html
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-lambda-authorizer-output.html
 */

/** The user the chat's handlers read from `event.requestContext.authorizer`. */
export interface AuthorizedUser {
  /** The token's `sub`. */
  readonly userId: string;
  /** A display name (see displayName). */
  readonly userName: string;
  /** The token names the admin group in its groups claim. */
  readonly admin: boolean;
  /** The token's `exp` (epoch seconds): the connection's frames are refused from then on. */
  readonly expiresAt?: number;
}

export interface AuthorizerResult {
  readonly principalId: string;
  readonly policyDocument: {
    readonly Version: "2012-10-17";
    readonly Statement: ReadonlyArray<{ readonly Action: string; readonly Effect: "Allow" | "Deny"; readonly Resource: string }>;
  };
  readonly context?: Readonly<Record<string, string | number | boolean>>;
}

/** Lets this one connection in: the policy names only the $connect of this API and stage that was asked. */
export function allow(methodArn: string, user: AuthorizedUser): AuthorizerResult {
  return {
    principalId: user.userId,
    policyDocument: policy("Allow", methodArn),
    context: {
      userId: user.userId,
      userName: user.userName,
      admin: user.admin,
      ...(user.expiresAt !== undefined && { tokenExpiresAt: user.expiresAt }),
    },
  };
}

/** An explicit Deny: API Gateway refuses the handshake with 403 and runs nothing else. */
export function deny(methodArn: string): AuthorizerResult {
  return { principalId: "anonymous", policyDocument: policy("Deny", methodArn) };
}

function policy(effect: "Allow" | "Deny", methodArn: string): AuthorizerResult["policyDocument"] {
  return { Version: "2012-10-17", Statement: [{ Action: "execute-api:Invoke", Effect: effect, Resource: methodArn }] };
}
