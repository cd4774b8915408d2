/**
 * Who may call the local DynamoDB and @connections endpoints, and with which policies. Each function gets
 * its own access key, so the SigV4 `Credential=<key>/...` of a request names the function, its role and the
 * role's synthesized policies. One more identity, the local administrator, may do anything: it is what
 * tests, benchmarks and tools use, like an operator with admin rights on AWS.
 */
import { createHash, randomBytes } from "node:crypto";
import type { Credentials } from "../functions/function-runner";
import { accessDeniedMessage, authorize, describeDecision, parsePolicy, type AccessCheck, type Decision, type Policy } from "./policy";
import { verifySigV4, type SignedRequest } from "./sigv4";
import type { StackModel } from "../terraform/stack-model-types";

export interface Identity {
  /** The function name, or "local-admin". */
  readonly name: string;
  readonly kind: "function" | "admin";
  /** As AWS names the caller in AccessDenied messages (`arn:aws:sts::<account>:assumed-role/<role>/<function>`). */
  readonly principalArn: string;
  readonly credentials: Credentials;
  readonly policies: readonly Policy[];
}

export const ADMIN_NAME = "local-admin";

const ALLOW_ALL = parsePolicy({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "*", Resource: "*" }] }, "local administrator (allow all)");

/** Access key ids look like AWS's temporary ones: 20 upper-case characters, here starting with LOCAL. */
function accessKeyId(name: string): string {
  const digest = createHash("sha256").update(name).digest();
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  let suffix = "";
  for (let i = 0; suffix.length < 15; i += 1) suffix += alphabet[digest[i]! % alphabet.length];
  return `LOCAL${suffix}`;
}

/** Fresh secrets per start: a key only works against the runtime that issued it. */
function credentials(name: string): Credentials {
  return {
    accessKeyId: accessKeyId(name),
    secretAccessKey: randomBytes(30).toString("base64"),
    sessionToken: randomBytes(48).toString("base64"),
  };
}

export class IdentityRegistry {
  private readonly byKey = new Map<string, Identity>();
  private readonly byName = new Map<string, Identity>();

  constructor(model: StackModel) {
    for (const fn of model.functions) {
      this.add({
        name: fn.name,
        kind: "function",
        principalArn: `arn:aws:sts::${model.account}:assumed-role/${fn.role.name}/${fn.name}`,
        credentials: credentials(fn.name),
        policies: fn.policies,
      });
    }
    this.add({
      name: ADMIN_NAME,
      kind: "admin",
      principalArn: `arn:aws:iam::${model.account}:user/${ADMIN_NAME}`,
      credentials: credentials(ADMIN_NAME),
      policies: [ALLOW_ALL],
    });
  }

  private add(identity: Identity): void {
    if (this.byKey.has(identity.credentials.accessKeyId)) throw new Error(`Two local identities share the access key of ${identity.name}`);
    this.byKey.set(identity.credentials.accessKeyId, identity);
    this.byName.set(identity.name, identity);
  }

  /** The caller an access key id belongs to. */
  byAccessKey(accessKeyId: string): Identity | undefined {
    return this.byKey.get(accessKeyId);
  }

  /** The secret of an access key, for SigV4 verification. */
  secretFor = (accessKeyId: string): string | undefined => this.byKey.get(accessKeyId)?.credentials.secretAccessKey;

  /**
   * The caller of a request signed for `service` in `region`, as AWS identifies it before any policy is
   * read. Throws SigV4Error, which each service answers in its own protocol's shape.
   */
  authenticate(request: SignedRequest, service: string, region: string): Identity {
    const { accessKeyId } = verifySigV4(request, this.secretFor, { service, region });
    // verifySigV4 only accepts keys secretFor knows, so the key names an identity.
    return this.byKey.get(accessKeyId)!;
  }

  function(name: string): Identity {
    const identity = this.byName.get(name);
    if (!identity || identity.kind !== "function") throw new Error(`No local identity for function ${name}`);
    return identity;
  }

  get admin(): Identity {
    return this.byName.get(ADMIN_NAME)!;
  }
}

export type AccessResult = { readonly allowed: true } | { readonly allowed: false; readonly decision: Decision; readonly message: string };

/**
 * Checks a request's actions against the caller's policies. A denial is logged in one line naming the
 * function, the action and the resource, and comes with the message AWS would put in the error.
 */
export function checkAccess(identity: Identity, checks: readonly AccessCheck[], log: (line: string) => void): AccessResult {
  const authorization = authorize(identity.policies, checks);
  if (authorization.allowed) return { allowed: true };
  const decision = authorization.denied!;
  // describeDecision starts with the action and resource already on the line; keep what follows.
  const detail = describeDecision(decision).split(" — ").slice(1);
  log(`IAM denied ${identity.name}: ${decision.action} on ${decision.resource} (${[decision.reason, ...detail].join("; ")})`);
  return { allowed: false, decision, message: accessDeniedMessage(identity.principalArn, decision) };
}
