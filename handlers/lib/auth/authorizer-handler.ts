import { authSettings, tableSettings } from "../env/contract";
import { accountBannedUntil } from "../store/account-bans";
import { dynamoDbJson } from "../store/dynamodb-json";
import { allow, deny, type AuthorizerResult } from "./authorizer-response";
import { logError, logInfo } from "../observability/log";
import { publishDenial } from "../observability/metrics";
import { type ClaimNames, userOf } from "./token-user";
import { InvalidTokenError, type VerifierFactory, type VerifyToken } from "./token-verifier";

/** The identity source the stack configures: `route.request.querystring.token` (browsers cannot set WebSocket headers). */
export const TOKEN_QUERY_PARAMETER = "token";

/** The parts of API Gateway's WebSocket REQUEST authorizer event the authorizer reads. */
export interface WebsocketAuthorizerEvent {
  readonly methodArn: string;
  readonly queryStringParameters?: Readonly<Record<string, string | undefined>> | null;
  readonly requestContext?: { readonly connectionId?: string; readonly requestId?: string };
}

/** What the authorizer reads of Lambda's context; tests may leave it out. */
export interface AuthorizerContext {
  readonly awsRequestId?: string;
}

/**
 * The $connect authorizer: verifies the token in `?token=` and lets the connection in as the token's
 * user, or answers an explicit Deny (403) for a token that is not good or a user whose account is banned
 * (one strongly consistent GetItem of `ban#<sub>`, docs/moderation.md). The verifier is made on the first
 * invocation and reused by the container's later invocations (see jose-verifier.ts for how long it
 * trusts the keys it has fetched).
 *
 * A fault on our side (the issuer's keys cannot be fetched) is thrown, so API Gateway refuses the
 * connection with 500 rather than telling the client its token is bad. The token is never logged.
 */
export function authorizerHandler(makeVerifier: VerifierFactory): (event: WebsocketAuthorizerEvent, context?: AuthorizerContext) => Promise<AuthorizerResult> {
  let verify: VerifyToken | undefined;
  let claimNames: ClaimNames | undefined;
  return async (event, context) => {
    const log = { route: "authorizer", connectionId: event.requestContext?.connectionId, apiRequestId: event.requestContext?.requestId };
    const denied = async (reason: string, detail: string) => {
      logInfo(log, { decision: "deny", reason, detail });
      await publishDenial(reason, { requestId: context?.awsRequestId, connectionId: log.connectionId });
      return deny(event.methodArn);
    };
    const token = event.queryStringParameters?.[TOKEN_QUERY_PARAMETER];
    // API Gateway answers 401 itself when the identity source is missing, so this only happens when the
    // stack's identity source and this handler disagree. "Unauthorized" is the error API Gateway maps to 401.
    if (!token) throw new Error("Unauthorized");
    if (!verify) {
      const settings = authSettings();
      verify = makeVerifier(settings);
      claimNames = settings;
    }
    let user;
    try {
      user = userOf(await verify(token), claimNames!);
    } catch (error) {
      if (!(error instanceof InvalidTokenError)) {
        logError(log, error);
        throw error;
      }
      return denied(error.reason, error.message);
    }
    if (!user) return denied("NO_SUBJECT", 'the token has no usable "sub" claim');
    let bannedUntil;
    try {
      bannedUntil = await accountBannedUntil(dynamoDbJson(), tableSettings().tableName, user.userId, Date.now());
    } catch (error) {
      logError(log, error);
      throw error;
    }
    if (bannedUntil !== undefined) return denied("BANNED", `the account is banned until ${new Date(bannedUntil * 1000).toISOString()}`);
    return allow(event.methodArn, user);
  };
}
