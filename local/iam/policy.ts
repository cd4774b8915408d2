/**
 * A small evaluator for the identity policies synthesized into `aws_iam_role_policy.policy`, so the local
 * runtime can refuse a DynamoDB or @connections call that AWS would refuse: a missing grant should fail on
 * the laptop, not on the first deploy.
 *
 * Scope (what AWS does for a single identity policy set, nothing more):
 * - Statement elements: Sid, Effect, Action | NotAction, Resource | NotResource, Condition.
 * - Actions match case-insensitively, resources case-sensitively; both support `*` (any run of characters,
 *   including `:` and `/`) and `?` (exactly one character), matched against the whole string.
 * - Explicit Deny wins over any Allow; with no matching statement the answer is an implicit deny.
 * - Conditions with the operators conditions.ts evaluates, on the condition keys the request's check
 *   carries (DynamoDB's `dynamodb:LeadingKeys`, when the caller knows the tables' partition keys).
 * - Fail closed on what cannot be evaluated locally: any other `Condition`, or a policy variable such as
 *   `${aws:username}` in a Resource. Such a statement is treated as NOT matching when it is an Allow (the grant
 *   cannot be proven) and as matching when it is a Deny (the denial cannot be ruled out). Locally that can
 *   only make things stricter than AWS, never more permissive; the decision lists what was not evaluated.
 * - Documents that AWS would reject (unknown elements, Principal in an identity policy, both Action and
 *   NotAction, bad Effect, ...) are rejected by `parsePolicy` with a PolicyError, so the runtime can stop at
 *   startup instead of silently evaluating something `terraform apply` would never create.
 *
 * Not modelled: resource-based policies, permission boundaries, SCPs, session policies, PartiQL actions.
 */

import { evaluateConditions, type RequestContext } from "./conditions";

export type Effect = "Allow" | "Deny";

/** One statement, normalized: every list is an array, and exactly one of each pair is set. */
export interface Statement {
  readonly sid?: string;
  readonly effect: Effect;
  readonly action?: readonly string[];
  readonly notAction?: readonly string[];
  readonly resource?: readonly string[];
  readonly notResource?: readonly string[];
  /** Present only when non-empty; evaluated where conditions.ts can (see the fail-closed rule above). */
  readonly condition?: Readonly<Record<string, unknown>>;
}

/** A validated, normalized policy document. `name` is only used in decisions and error messages. */
export interface Policy {
  readonly name: string;
  readonly statements: readonly Statement[];
}

/** One authorization question: may the caller perform `action` on `resource`? */
export interface AccessCheck {
  readonly action: string;
  readonly resource: string;
  /** The request's condition keys known locally; without it no Condition can be evaluated. */
  readonly context?: RequestContext;
}

export type DecisionReason = "explicit-deny" | "allowed" | "implicit-deny";

/** Points at a statement, for logs: policy name, 0-based statement index, Sid when there is one. */
export interface StatementRef {
  readonly policy: string;
  readonly index: number;
  readonly sid?: string;
  readonly effect: Effect;
  /** What could not be evaluated locally (condition operators, policy variables), when anything. */
  readonly unevaluated?: readonly string[];
}

export interface Decision extends AccessCheck {
  readonly allowed: boolean;
  readonly reason: DecisionReason;
  /** The deciding statement: the Deny for "explicit-deny", the first matching Allow for "allowed". */
  readonly statement?: StatementRef;
  /**
   * Allow statements that would have matched but were skipped because part of them could not be
   * evaluated locally. Worth logging with an implicit deny: it says why the grant was not found.
   */
  readonly skipped?: readonly StatementRef[];
}

export class PolicyError extends Error {
  override name = "PolicyError";
}

// ---------------------------------------------------------------------------------------------------------
// Parsing and validation

const DOCUMENT_KEYS = new Set(["Version", "Id", "Statement"]);
const STATEMENT_KEYS = new Set(["Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Condition"]);
const VERSIONS = new Set(["2012-10-17", "2008-10-17"]);

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/**
 * Validates and normalizes one policy document. Accepts the parsed object or its JSON text (what
 * `jsonencode(...)` produces in `aws_iam_role_policy.policy`). Throws PolicyError naming the policy and the
 * offending statement.
 */
export function parsePolicy(input: unknown, name = "policy"): Policy {
  const fail = (message: string): never => {
    throw new PolicyError(`${name}: ${message}`);
  };
  let document = input;
  if (typeof input === "string") {
    try {
      document = JSON.parse(input);
    } catch (error) {
      fail(`not valid JSON (${(error as Error).message})`);
    }
  }
  if (!isObject(document)) return fail("a policy document must be a JSON object");
  for (const key of Object.keys(document)) {
    if (!DOCUMENT_KEYS.has(key)) fail(`unknown top-level element "${key}"`);
  }
  if (document.Version !== undefined && !VERSIONS.has(document.Version as string)) {
    fail(`unsupported Version ${JSON.stringify(document.Version)} (use "2012-10-17")`);
  }
  const raw = document.Statement;
  if (raw === undefined) return fail("missing Statement");
  const list = Array.isArray(raw) ? raw : [raw];
  const statements = list.map((statement, index) => parseStatement(statement, (message) => fail(`Statement[${index}]: ${message}`)));
  return { name, statements };
}

function parseStatement(input: unknown, fail: (message: string) => never): Statement {
  if (!isObject(input)) return fail("must be an object");
  for (const key of Object.keys(input)) {
    if (key === "Principal" || key === "NotPrincipal") fail(`${key} is not allowed in an identity policy`);
    if (!STATEMENT_KEYS.has(key)) fail(`unknown element "${key}"`);
  }
  const { Sid, Effect, Condition } = input;
  if (Effect !== "Allow" && Effect !== "Deny") return fail(`Effect must be "Allow" or "Deny", got ${JSON.stringify(Effect)}`);
  if (Sid !== undefined && typeof Sid !== "string") fail("Sid must be a string");
  if (Condition !== undefined && !isObject(Condition)) fail("Condition must be an object");

  for (const [yes, no] of [["Action", "NotAction"], ["Resource", "NotResource"]] as const) {
    if ((input[yes] === undefined) === (input[no] === undefined)) fail(`needs exactly one of ${yes} or ${no}`);
  }
  const action = stringList(input.Action, "Action", fail);
  const notAction = stringList(input.NotAction, "NotAction", fail);
  for (const name of action ?? notAction!) {
    // AWS requires "service:name" (or "*"); catching a typo here beats a confusing AccessDenied later.
    if (name !== "*" && !/^[a-z0-9-]+:[A-Za-z0-9*?]+$/i.test(name)) fail(`malformed action "${name}"`);
  }
  const resource = stringList(input.Resource, "Resource", fail);
  const notResource = stringList(input.NotResource, "NotResource", fail);
  return {
    ...(Sid === undefined ? {} : { sid: Sid as string }),
    effect: Effect,
    ...(action ? { action } : { notAction: notAction! }),
    ...(resource ? { resource } : { notResource: notResource! }),
    // An empty Condition block constrains nothing; keep only the ones that do.
    ...(Condition && Object.keys(Condition).length > 0 ? { condition: Condition as Record<string, unknown> } : {}),
  };
}

function stringList(value: unknown, element: string, fail: (message: string) => never): string[] | undefined {
  if (value === undefined) return undefined;
  const list = Array.isArray(value) ? value : [value];
  if (list.length === 0) fail(`${element} must not be empty`);
  for (const item of list) if (typeof item !== "string" || item === "") fail(`${element} entries must be non-empty strings`);
  return list as string[];
}

// ---------------------------------------------------------------------------------------------------------
// Matching

/**
 * A statement's patterns compiled once into one anchored alternation per element: evaluating runs for every
 * DynamoDB and @connections call, where building each pattern's cache key and testing the patterns one by
 * one was most of IAM's cost.
 */
interface Compiled {
  /** Action or NotAction (case-insensitive). */
  readonly actions: RegExp;
  /** Resource or NotResource patterns without a policy variable; undefined when every pattern has one. */
  readonly resources?: RegExp;
  /** Whether some Resource or NotResource pattern has a policy variable. */
  readonly variables: boolean;
  /** The decision's pointer at this statement, made once. */
  ref?: StatementRef;
}

const compiled = new WeakMap<Statement, Compiled>();

function compile(statement: Statement): Compiled {
  let entry = compiled.get(statement);
  if (!entry) {
    const patterns = statement.resource ?? statement.notResource!;
    const resources = patterns.filter((p) => !isPolicyVariable(p));
    entry = {
      actions: anyOf(statement.action ?? statement.notAction!, true),
      ...(resources.length > 0 ? { resources: anyOf(resources, false) } : {}),
      variables: resources.length < patterns.length,
    };
    compiled.set(statement, entry);
  }
  return entry;
}

/** `*` = any run of characters (also `:` and `/`), `?` = one character; everything else literal. */
function anyOf(patterns: readonly string[], ignoreCase: boolean): RegExp {
  const bodies = patterns.map((pattern) => pattern.replace(/[.+^${}()|[\]\\*?]/g, (c) => (c === "*" ? ".*" : c === "?" ? "." : `\\${c}`)));
  return new RegExp(`^(?:${bodies.join("|")})$`, ignoreCase ? "is" : "s");
}

/** A policy variable (`${aws:username}`) depends on request context we do not have locally. */
const isPolicyVariable = (pattern: string) => /\$\{[^}]*\}/.test(pattern);

const actionMatches = (statement: Statement, compiled: Compiled, action: string) => {
  const hit = compiled.actions.test(action);
  return statement.action ? hit : !hit;
};

/**
 * `variablesHit` decides how a pattern with a policy variable counts, since we cannot expand it: the caller
 * picks the assumption that makes the statement apply ("possible") or not apply ("proven" grants only).
 */
const resourceMatches = (statement: Statement, compiled: Compiled, resource: string, variablesHit: boolean) => {
  const hit = (compiled.variables && variablesHit) || (compiled.resources?.test(resource) ?? false);
  return statement.resource ? hit : !hit;
};

/** The parts of a statement this evaluator cannot check, for the decision's StatementRef. */
const unevaluatedParts = (statement: Statement): string[] => [
  ...Object.keys(statement.condition ?? {}).map((operator) => `Condition ${operator}`),
  ...(statement.resource ?? statement.notResource!).filter(isPolicyVariable).map((p) => `policy variable in "${p}"`),
];

function ref(policy: Policy, index: number, compiled: Compiled): StatementRef {
  if (compiled.ref?.policy === policy.name && compiled.ref.index === index) return compiled.ref;
  const statement = policy.statements[index]!;
  const unevaluated = unevaluatedParts(statement);
  return (compiled.ref = {
    policy: policy.name,
    index,
    ...(statement.sid === undefined ? {} : { sid: statement.sid }),
    effect: statement.effect,
    ...(unevaluated.length ? { unevaluated } : {}),
  });
}

/**
 * Evaluates one check against all of a principal's identity policies, the way AWS combines them:
 * any matching Deny → explicit deny; else any matching Allow → allowed; else implicit deny.
 */
export function evaluate(policies: readonly Policy[], check: AccessCheck): Decision {
  let allow: StatementRef | undefined;
  const skipped: StatementRef[] = [];
  for (const policy of policies) {
    const statements = policy.statements;
    for (let index = 0; index < statements.length; index += 1) {
      const statement = statements[index]!;
      const patterns = compile(statement);
      if (!actionMatches(statement, patterns, check.action)) continue;
      // "Could apply": unknown variables assumed to put the resource in scope, conditions assumed true.
      const possible = resourceMatches(statement, patterns, check.resource, statement.resource !== undefined);
      if (!possible) continue;
      // true / false when evaluated; undefined when some part cannot be evaluated locally.
      const conditionHolds = statement.condition ? evaluateConditions(statement.condition, check.context) : true;
      if (conditionHolds === false) continue;
      if (statement.effect === "Deny") {
        // Fail closed: a Deny that could apply does apply.
        return { ...check, allowed: false, reason: "explicit-deny", statement: ref(policy, index, patterns) };
      }
      // Fail closed: an Allow counts only if it applies whatever the unknowns turn out to be.
      const proven = conditionHolds === true && resourceMatches(statement, patterns, check.resource, statement.resource === undefined);
      if (proven) allow ??= ref(policy, index, patterns);
      else skipped.push(ref(policy, index, patterns));
    }
  }
  const extra = skipped.length ? { skipped } : {};
  if (allow) return { ...check, allowed: true, reason: "allowed", statement: allow, ...extra };
  return { ...check, allowed: false, reason: "implicit-deny", ...extra };
}

/** Result of a request that needs several checks (BatchWriteItem on two tables, ...): all must pass. */
export interface Authorization {
  readonly allowed: boolean;
  readonly decisions: readonly Decision[];
  /** The first failing decision, when there is one: what to report. */
  readonly denied?: Decision;
}

export function authorize(policies: readonly Policy[], checks: readonly AccessCheck[]): Authorization {
  // No checks at all would be a bug in the caller's request mapping; refuse rather than allow by default.
  if (checks.length === 0) throw new Error("authorize: no access checks given");
  const decisions = checks.map((check) => evaluate(policies, check));
  const denied = decisions.find((decision) => !decision.allowed);
  return denied ? { allowed: false, decisions, denied } : { allowed: true, decisions };
}

/**
 * The message AWS puts in AccessDeniedException / 403 bodies, e.g.
 * `User: arn:aws:sts::000000000000:assumed-role/r/fn is not authorized to perform: dynamodb:Query on resource:
 * arn:aws:dynamodb:...:table/t because no identity-based policy allows the dynamodb:Query action`.
 */
export function accessDeniedMessage(principalArn: string, decision: Decision): string {
  const because =
    decision.reason === "explicit-deny"
      ? "with an explicit deny in an identity-based policy"
      : `because no identity-based policy allows the ${decision.action} action`;
  return `User: ${principalArn} is not authorized to perform: ${decision.action} on resource: ${decision.resource} ${because}`;
}

/** One line for the runtime's log: which statement decided, and what could not be evaluated. */
export function describeDecision(decision: Decision): string {
  const at = (s: StatementRef) =>
    `${s.policy} Statement[${s.index}]${s.sid ? ` (Sid ${s.sid})` : ""}` +
    (s.unevaluated ? ` [not evaluated locally: ${s.unevaluated.join(", ")}]` : "");
  const head = `${decision.reason}: ${decision.action} on ${decision.resource}`;
  const parts = [head];
  if (decision.statement) parts.push(`by ${at(decision.statement)}`);
  if (decision.skipped?.length) parts.push(`skipped (fail closed): ${decision.skipped.map(at).join("; ")}`);
  return parts.join(" — ");
}

// ---------------------------------------------------------------------------------------------------------
// Resource ARNs and request → checks mapping

/** Where the local stack pretends to live; must match the values used to resolve the policies' ARNs. */
export interface ArnScope {
  readonly region: string;
  readonly account: string;
}

/** `table` may be a table name or already a table ARN (DynamoDB accepts both in TableName). */
export function dynamodbTableArn(region: string, account: string, table: string): string {
  return table.startsWith("arn:") ? table : `arn:aws:dynamodb:${region}:${account}:table/${table}`;
}

export function dynamodbIndexArn(region: string, account: string, table: string, index: string): string {
  return `${dynamodbTableArn(region, account, table)}/index/${index}`;
}

/**
 * The resource API Gateway authorizes an @connections call against: the REST-style
 * `{apiId}/{stage}/{METHOD}/{path}` form, i.e. `.../prod/POST/@connections/<connectionId>`.
 */
export function executeApiConnectionsArn(
  region: string,
  account: string,
  apiId: string,
  stage: string,
  method: string,
  connectionId: string,
): string {
  return `arn:aws:execute-api:${region}:${account}:${apiId}/${stage}/${method.toUpperCase()}/@connections/${connectionId}`;
}

/** Transaction items are authorized as their underlying single-item actions (DynamoDB developer guide). */
const TRANSACT_ACTIONS: Readonly<Record<string, string>> = {
  Put: "PutItem",
  Update: "UpdateItem",
  Delete: "DeleteItem",
  ConditionCheck: "ConditionCheckItem",
  Get: "GetItem",
};

/**
 * Maps a DynamoDB JSON request (X-Amz-Target + parsed body) to the checks AWS makes; all must pass.
 * - Query / Scan with IndexName → the index ARN (a grant on the table ARN alone does not cover an index).
 * - BatchGetItem / BatchWriteItem → that action on every table in RequestItems.
 * - TransactGetItems / TransactWriteItems → per item, GetItem / PutItem / UpdateItem / DeleteItem /
 *   ConditionCheckItem on its table (there is no IAM action named after the transaction call).
 * - Anything else → `dynamodb:<Operation>` on TableName, or on `*` when the request names no table
 *   (ListTables and friends; a malformed request then fails closed unless `*` is granted).
 * Table names may be names or ARNs. Duplicate checks are removed.
 */
export function dynamodbChecks(target: string, body: unknown, scope: ArnScope, partitionKeyOf?: PartitionKeyLookup): AccessCheck[] {
  const operation = target.slice(target.lastIndexOf(".") + 1);
  if (!operation) throw new Error(`DynamoDB request without an operation (X-Amz-Target: "${target}")`);
  const request = isObject(body) ? body : {};
  const table = (name: unknown) => (typeof name === "string" && name ? dynamodbTableArn(scope.region, scope.account, name) : "*");
  // dynamodb:LeadingKeys of the items a call names in `tableName`: known only with the table's partition key.
  const leading = (tableName: unknown, values: () => Array<string | undefined> | null): { context?: RequestContext } => {
    const key = typeof tableName === "string" ? partitionKeyOf?.(tableName) : undefined;
    if (!key) return {};
    const found = values();
    if (found !== null && found.some((value) => value === undefined)) return {};
    return { context: { "dynamodb:leadingkeys": found === null ? null : [...new Set(found as string[])] } };
  };
  const keyValue = (tableName: unknown) => (item: unknown) => {
    const key = typeof tableName === "string" ? partitionKeyOf?.(tableName) : undefined;
    return key && isObject(item) ? scalar(item[key]) : undefined;
  };
  const check = (action: string, resource: string, extra: { context?: RequestContext } = {}): AccessCheck => ({ action: `dynamodb:${action}`, resource, ...extra });

  let checks: AccessCheck[];
  switch (operation) {
    case "Query":
    case "Scan":
      checks = [
        check(
          operation,
          typeof request.IndexName === "string" && typeof request.TableName === "string"
            ? dynamodbIndexArn(scope.region, scope.account, request.TableName, request.IndexName)
            : table(request.TableName),
          // An index has other partition keys than the table: leave its leading keys unknown.
          request.IndexName === undefined
            ? leading(request.TableName, () => (operation === "Scan" ? null : [queriedPartition(request, partitionKeyOf?.(String(request.TableName)))]))
            : {},
        ),
      ];
      break;
    case "BatchGetItem":
    case "BatchWriteItem": {
      const requestItems = isObject(request.RequestItems) ? request.RequestItems : {};
      const tables = Object.keys(requestItems);
      const keysOf = (name: string): unknown[] => {
        const entry = requestItems[name];
        if (operation === "BatchGetItem") return isObject(entry) && Array.isArray(entry.Keys) ? entry.Keys : [];
        return Array.isArray(entry) ? entry.map((w) => (isObject(w) ? (isObject(w.PutRequest) ? w.PutRequest.Item : isObject(w.DeleteRequest) ? w.DeleteRequest.Key : undefined) : undefined)) : [];
      };
      checks = tables.length
        ? tables.map((name) => check(operation, table(name), leading(name, () => keysOf(name).map(keyValue(name)))))
        : [check(operation, "*")];
      break;
    }
    case "TransactGetItems":
    case "TransactWriteItems": {
      const items = Array.isArray(request.TransactItems) ? request.TransactItems : [];
      checks = items.flatMap((item) =>
        isObject(item)
          ? Object.entries(item)
              .filter(([kind]) => kind in TRANSACT_ACTIONS)
              .map(([kind, detail]) => {
                const name = isObject(detail) ? detail.TableName : undefined;
                const keyed = isObject(detail) ? (kind === "Put" ? detail.Item : detail.Key) : undefined;
                return check(TRANSACT_ACTIONS[kind]!, table(name), leading(name, () => [keyValue(name)(keyed)]));
              })
          : [],
      );
      // An empty or malformed transaction still has to be checked against something: fail closed on "*".
      if (checks.length === 0) checks = [check(operation === "TransactGetItems" ? "GetItem" : "PutItem", "*")];
      break;
    }
    case "GetItem":
    case "PutItem":
    case "UpdateItem":
    case "DeleteItem":
      checks = [check(operation, table(request.TableName), leading(request.TableName, () => [keyValue(request.TableName)(operation === "PutItem" ? request.Item : request.Key)]))];
      break;
    default:
      checks = [check(operation, table(request.TableName))];
  }
  if (checks.length === 1) return checks;
  const unique = new Map(checks.map((c) => [`${c.action} ${c.resource} ${JSON.stringify(c.context ?? null)}`, c]));
  return [...unique.values()];
}

/** A table's partition key attribute, for `dynamodb:LeadingKeys`; undefined when unknown. */
export type PartitionKeyLookup = (table: string) => string | undefined;

/** An attribute value as a condition key sees it: a string, number or binary as its text. */
function scalar(value: unknown): string | undefined {
  if (!isObject(value)) return undefined;
  for (const type of ["S", "N", "B"]) if (typeof value[type] === "string") return value[type] as string;
  return undefined;
}

/** The partition a Query names: the value its KeyConditionExpression compares the partition key with. */
function queriedPartition(request: Record<string, unknown>, partitionKey: string | undefined): string | undefined {
  const expression = request.KeyConditionExpression;
  if (!partitionKey || typeof expression !== "string") return undefined;
  const names = isObject(request.ExpressionAttributeNames) ? request.ExpressionAttributeNames : {};
  const values = isObject(request.ExpressionAttributeValues) ? request.ExpressionAttributeValues : {};
  for (const [, name, value] of expression.matchAll(/(#?[A-Za-z0-9_]+)\s*=\s*(:[A-Za-z0-9_]+)/g)) {
    const attribute = name!.startsWith("#") ? names[name!] : name;
    if (attribute === partitionKey) return scalar(values[value!]);
  }
  return undefined;
}

/** The API a management call targets: enough to build its execute-api ARN. */
export interface ConnectionsScope extends ArnScope {
  readonly apiId: string;
  readonly stage: string;
}

/** An @connections call (POST = PostToConnection, GET = GetConnection, DELETE = DeleteConnection). */
export function connectionsCheck(scope: ConnectionsScope, method: string, connectionId: string): AccessCheck {
  return {
    action: "execute-api:ManageConnections",
    resource: executeApiConnectionsArn(scope.region, scope.account, scope.apiId, scope.stage, method, connectionId),
  };
}

/**
 * Reads `/{stage}/@connections/{id}` (or `/@connections/{id}` when the endpoint has no stage prefix) from a
 * raw request path as received, query string allowed. The SDK percent-encodes the connection id (`=` → %3D)
 * and some clients encode `@` too, so segments are decoded. Returns undefined for any other path.
 */
export function parseConnectionsPath(rawPath: string): { stage?: string; connectionId: string } | undefined {
  const path = rawPath.split("?")[0]!;
  let segments: string[];
  try {
    segments = path.split("/").filter(Boolean).map(decodeURIComponent);
  } catch {
    return undefined; // malformed percent-encoding
  }
  const at = segments.indexOf("@connections");
  if (at < 0 || at > 1 || segments.length !== at + 2) return undefined;
  return { ...(at === 1 ? { stage: segments[0]! } : {}), connectionId: segments[at + 1]! };
}
