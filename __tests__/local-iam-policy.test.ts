import {
  accessDeniedMessage,
  authorize,
  connectionsCheck,
  describeDecision,
  dynamodbChecks,
  dynamodbIndexArn,
  dynamodbTableArn,
  evaluate,
  executeApiConnectionsArn,
  parseConnectionsPath,
  parsePolicy,
  PolicyError,
} from "../local/iam/policy";

const REGION = "us-east-1";
const ACCOUNT = "000000000000";
const scope = { region: REGION, account: ACCOUNT };
const TABLE = dynamodbTableArn(REGION, ACCOUNT, "chat-connections");
const INDEX = dynamodbIndexArn(REGION, ACCOUNT, "chat-connections", "byRoom");
const CONNECTIONS = `arn:aws:execute-api:${REGION}:${ACCOUNT}:abc123/prod/POST/@connections`;

const allow = (Action: string | string[], Resource: string | string[]) => ({ Effect: "Allow", Action, Resource });
const policy = (...Statement: object[]) => parsePolicy({ Version: "2012-10-17", Statement }, "fn-policy");

describe("IAM policy evaluation", () => {
  it("allows an action listed exactly on the resource listed", () => {
    const decision = evaluate([policy(allow("dynamodb:PutItem", TABLE))], { action: "dynamodb:PutItem", resource: TABLE });
    expect(decision).toMatchObject({ allowed: true, reason: "allowed", statement: { policy: "fn-policy", index: 0 } });
  });

  it("matches a wildcard action such as dynamodb:Get*", () => {
    const policies = [policy(allow("dynamodb:Get*", TABLE))];
    expect(evaluate(policies, { action: "dynamodb:GetItem", resource: TABLE }).allowed).toBe(true);
    expect(evaluate(policies, { action: "dynamodb:PutItem", resource: TABLE }).allowed).toBe(false);
  });

  it("matches ? as exactly one character", () => {
    const policies = [policy(allow("dynamodb:?etItem", TABLE))];
    expect(evaluate(policies, { action: "dynamodb:GetItem", resource: TABLE }).allowed).toBe(true);
    expect(evaluate(policies, { action: "dynamodb:BatchGetItem", resource: TABLE }).allowed).toBe(false);
  });

  it("matches a resource wildcard such as .../@connections/*", () => {
    const policies = [policy(allow("execute-api:ManageConnections", `${CONNECTIONS}/*`))];
    expect(evaluate(policies, { action: "execute-api:ManageConnections", resource: `${CONNECTIONS}/conn-1=` }).allowed).toBe(true);
    expect(evaluate(policies, { action: "execute-api:ManageConnections", resource: CONNECTIONS.replace("POST", "DELETE") + "/c" }).allowed).toBe(false);
  });

  it("does not let a grant on the table ARN cover the table's index", () => {
    const decision = evaluate([policy(allow("dynamodb:Query", TABLE))], { action: "dynamodb:Query", resource: INDEX });
    expect(decision).toMatchObject({ allowed: false, reason: "implicit-deny" });
  });

  it("lets an explicit Deny win over an Allow", () => {
    const policies = [policy(allow("dynamodb:*", "*"), { Sid: "NoDeletes", Effect: "Deny", Action: "dynamodb:DeleteItem", Resource: TABLE })];
    const decision = evaluate(policies, { action: "dynamodb:DeleteItem", resource: TABLE });
    expect(decision).toMatchObject({ allowed: false, reason: "explicit-deny", statement: { index: 1, sid: "NoDeletes", effect: "Deny" } });
  });

  it("applies an Allow with NotAction to every action except the listed ones", () => {
    const policies = [policy({ Effect: "Allow", NotAction: "dynamodb:DeleteItem", Resource: TABLE })];
    expect(evaluate(policies, { action: "dynamodb:PutItem", resource: TABLE }).allowed).toBe(true);
    expect(evaluate(policies, { action: "dynamodb:DeleteItem", resource: TABLE }).allowed).toBe(false);
  });

  it("applies a statement with NotResource to every resource except the listed ones", () => {
    const policies = [policy(allow("dynamodb:*", "*"), { Effect: "Deny", Action: "dynamodb:*", NotResource: [TABLE, `${TABLE}/index/*`] })];
    expect(evaluate(policies, { action: "dynamodb:Query", resource: INDEX }).allowed).toBe(true);
    const other = dynamodbTableArn(REGION, ACCOUNT, "other");
    expect(evaluate(policies, { action: "dynamodb:GetItem", resource: other })).toMatchObject({ allowed: false, reason: "explicit-deny" });
  });

  it("denies implicitly when no statement matches", () => {
    const decision = evaluate([policy(allow("dynamodb:GetItem", TABLE))], { action: "dynamodb:Scan", resource: TABLE });
    expect(decision).toEqual({ action: "dynamodb:Scan", resource: TABLE, allowed: false, reason: "implicit-deny" });
  });

  it("denies implicitly when there are no policies at all", () => {
    expect(evaluate([], { action: "dynamodb:GetItem", resource: TABLE }).reason).toBe("implicit-deny");
  });

  it("matches actions case-insensitively but resources case-sensitively", () => {
    const policies = [policy(allow("DynamoDB:getitem", TABLE))];
    expect(evaluate(policies, { action: "dynamodb:GetItem", resource: TABLE }).allowed).toBe(true);
    expect(evaluate(policies, { action: "dynamodb:GetItem", resource: TABLE.toUpperCase() }).allowed).toBe(false);
  });

  it("accepts Statement as a single object and Action/Resource as strings", () => {
    const single = parsePolicy({ Version: "2012-10-17", Statement: allow("dynamodb:GetItem", TABLE) });
    expect(single.statements).toHaveLength(1);
    expect(evaluate([single], { action: "dynamodb:GetItem", resource: TABLE }).allowed).toBe(true);
  });

  it("accepts a policy as JSON text, as jsonencode produces it", () => {
    const text = JSON.stringify({ Version: "2012-10-17", Statement: [allow(["dynamodb:GetItem"], [TABLE])] });
    expect(evaluate([parsePolicy(text)], { action: "dynamodb:GetItem", resource: TABLE }).allowed).toBe(true);
  });

  it("combines several policies: an Allow in one, a Deny in another", () => {
    const reads = parsePolicy({ Statement: allow("dynamodb:GetItem", TABLE) }, "reads");
    const writes = parsePolicy({ Statement: allow("dynamodb:PutItem", TABLE) }, "writes");
    expect(evaluate([reads, writes], { action: "dynamodb:PutItem", resource: TABLE })).toMatchObject({ allowed: true, statement: { policy: "writes" } });
    const guard = parsePolicy({ Statement: { Effect: "Deny", Action: "dynamodb:PutItem", Resource: "*" } }, "guard");
    expect(evaluate([reads, writes, guard], { action: "dynamodb:PutItem", resource: TABLE })).toMatchObject({ reason: "explicit-deny", statement: { policy: "guard" } });
  });

  it("fails closed on a Condition: an Allow with one does not grant, and is reported as skipped", () => {
    const conditional = { ...allow("dynamodb:GetItem", TABLE), Condition: { StringEquals: { "aws:SourceVpc": "vpc-1" } } };
    const decision = evaluate([policy(conditional)], { action: "dynamodb:GetItem", resource: TABLE });
    expect(decision).toMatchObject({ allowed: false, reason: "implicit-deny", skipped: [{ index: 0, unevaluated: ["Condition StringEquals"] }] });
    expect(describeDecision(decision)).toContain("not evaluated locally: Condition StringEquals");
  });

  it("fails closed on a Condition: a Deny with one applies", () => {
    const deny = { Effect: "Deny", Action: "dynamodb:*", Resource: "*", Condition: { Bool: { "aws:SecureTransport": "false" } } };
    const decision = evaluate([policy(allow("dynamodb:*", "*"), deny)], { action: "dynamodb:GetItem", resource: TABLE });
    expect(decision).toMatchObject({ allowed: false, reason: "explicit-deny", statement: { index: 1, unevaluated: ["Condition Bool"] } });
  });

  it("treats an empty Condition block as no condition", () => {
    const decision = evaluate([policy({ ...allow("dynamodb:GetItem", TABLE), Condition: {} })], { action: "dynamodb:GetItem", resource: TABLE });
    expect(decision.allowed).toBe(true);
  });

  it("fails closed on a policy variable in a Resource", () => {
    const decision = evaluate([policy(allow("dynamodb:GetItem", "arn:aws:dynamodb:*:*:table/${aws:username}"))], { action: "dynamodb:GetItem", resource: TABLE });
    expect(decision).toMatchObject({ allowed: false, skipped: [{ unevaluated: ['policy variable in "arn:aws:dynamodb:*:*:table/${aws:username}"'] }] });
  });

  it("requires every check of a request to pass, and reports the first denied one", () => {
    const other = dynamodbTableArn(REGION, ACCOUNT, "other");
    const result = authorize([policy(allow("dynamodb:BatchWriteItem", TABLE))], [
      { action: "dynamodb:BatchWriteItem", resource: TABLE },
      { action: "dynamodb:BatchWriteItem", resource: other },
    ]);
    expect(result.allowed).toBe(false);
    expect(result.denied).toMatchObject({ resource: other, reason: "implicit-deny" });
    expect(result.decisions.map((d) => d.allowed)).toEqual([true, false]);
  });

  it("refuses to authorize a request that maps to no checks", () => {
    expect(() => authorize([policy(allow("*", "*"))], [])).toThrow(/no access checks/);
  });

  it("formats AccessDenied messages the way AWS words them", () => {
    const principal = `arn:aws:sts::${ACCOUNT}:assumed-role/send-message/send-message`;
    const implicit = evaluate([], { action: "dynamodb:Query", resource: INDEX });
    expect(accessDeniedMessage(principal, implicit)).toBe(
      `User: ${principal} is not authorized to perform: dynamodb:Query on resource: ${INDEX} because no identity-based policy allows the dynamodb:Query action`,
    );
    const explicit = evaluate([policy({ Effect: "Deny", Action: "*", Resource: "*" })], { action: "dynamodb:Query", resource: INDEX });
    expect(accessDeniedMessage(principal, explicit)).toMatch(/with an explicit deny in an identity-based policy$/);
  });
});

describe("IAM policy validation", () => {
  it.each([
    ["an unknown statement element", { Effect: "Allow", Action: "dynamodb:GetItem", Resource: "*", Actions: "x" }, /unknown element "Actions"/],
    ["a Principal", { Effect: "Allow", Principal: "*", Action: "dynamodb:GetItem", Resource: "*" }, /Principal is not allowed/],
    ["both Action and NotAction", { Effect: "Allow", Action: "dynamodb:GetItem", NotAction: "dynamodb:PutItem", Resource: "*" }, /exactly one of Action or NotAction/],
    ["no Resource", { Effect: "Allow", Action: "dynamodb:GetItem" }, /exactly one of Resource or NotResource/],
    ["a lower-case Effect", { Effect: "allow", Action: "dynamodb:GetItem", Resource: "*" }, /Effect must be/],
    ["an action without a service prefix", { Effect: "Allow", Action: "GetItem", Resource: "*" }, /malformed action "GetItem"/],
    ["an empty Action list", { Effect: "Allow", Action: [], Resource: "*" }, /Action must not be empty/],
  ])("rejects a statement with %s", (_, statement, message) => {
    expect(() => parsePolicy({ Version: "2012-10-17", Statement: [statement] }, "p")).toThrow(PolicyError);
    expect(() => parsePolicy({ Version: "2012-10-17", Statement: [statement] }, "p")).toThrow(message);
  });

  it("rejects text that is not JSON, naming the policy", () => {
    expect(() => parsePolicy("${jsonencode(x)}", "aws_iam_role_policy.connect")).toThrow(/^aws_iam_role_policy.connect: not valid JSON/);
  });

  it("rejects an unknown Version", () => {
    expect(() => parsePolicy({ Version: "2020-01-01", Statement: [] })).toThrow(/unsupported Version/);
  });
});

describe("resource ARNs", () => {
  it("builds table and index ARNs, accepting a table ARN in place of a name", () => {
    expect(TABLE).toBe("arn:aws:dynamodb:us-east-1:000000000000:table/chat-connections");
    expect(INDEX).toBe("arn:aws:dynamodb:us-east-1:000000000000:table/chat-connections/index/byRoom");
    expect(dynamodbIndexArn(REGION, ACCOUNT, TABLE, "byRoom")).toBe(INDEX);
  });

  it("builds the execute-api ARN API Gateway authorizes @connections calls against", () => {
    expect(executeApiConnectionsArn(REGION, ACCOUNT, "abc123", "prod", "post", "L0SM9cOFvHcCIhw=")).toBe(
      "arn:aws:execute-api:us-east-1:000000000000:abc123/prod/POST/@connections/L0SM9cOFvHcCIhw=",
    );
  });
});

describe("DynamoDB request to checks", () => {
  const checks = (operation: string, body: object) => dynamodbChecks(`DynamoDB_20120810.${operation}`, body, scope);
  const other = dynamodbTableArn(REGION, ACCOUNT, "other");

  it.each(["GetItem", "PutItem", "UpdateItem", "DeleteItem", "DescribeTable"])("maps %s to that action on TableName", (operation) => {
    expect(checks(operation, { TableName: "chat-connections", Key: {} })).toEqual([{ action: `dynamodb:${operation}`, resource: TABLE }]);
  });

  it("accepts a table ARN as TableName", () => {
    expect(checks("GetItem", { TableName: TABLE })).toEqual([{ action: "dynamodb:GetItem", resource: TABLE }]);
  });

  it.each(["Query", "Scan"])("maps %s without IndexName to the table ARN", (operation) => {
    expect(checks(operation, { TableName: "chat-connections" })).toEqual([{ action: `dynamodb:${operation}`, resource: TABLE }]);
  });

  it.each(["Query", "Scan"])("maps %s with IndexName to the index ARN", (operation) => {
    expect(checks(operation, { TableName: "chat-connections", IndexName: "byRoom" })).toEqual([{ action: `dynamodb:${operation}`, resource: INDEX }]);
    expect(checks(operation, { TableName: TABLE, IndexName: "byRoom" })).toEqual([{ action: `dynamodb:${operation}`, resource: INDEX }]);
  });

  it.each(["BatchWriteItem", "BatchGetItem"])("maps %s to that action on every table in RequestItems", (operation) => {
    expect(checks(operation, { RequestItems: { "chat-connections": [], [other]: [] } })).toEqual([
      { action: `dynamodb:${operation}`, resource: TABLE },
      { action: `dynamodb:${operation}`, resource: other },
    ]);
  });

  it("maps TransactWriteItems to each item's underlying action on its table", () => {
    const body = {
      TransactItems: [
        { Put: { TableName: "chat-connections", Item: {} } },
        { Update: { TableName: "chat-connections", Key: {} } },
        { Delete: { TableName: "other", Key: {} } },
        { ConditionCheck: { TableName: "other", Key: {}, ConditionExpression: "attribute_exists(pk)" } },
        { Put: { TableName: "chat-connections", Item: {} } },
      ],
    };
    expect(checks("TransactWriteItems", body)).toEqual([
      { action: "dynamodb:PutItem", resource: TABLE },
      { action: "dynamodb:UpdateItem", resource: TABLE },
      { action: "dynamodb:DeleteItem", resource: other },
      { action: "dynamodb:ConditionCheckItem", resource: other },
    ]);
  });

  it("maps TransactGetItems to GetItem on every table in the items", () => {
    const body = { TransactItems: [{ Get: { TableName: "chat-connections", Key: {} } }, { Get: { TableName: other, Key: {} } }] };
    expect(checks("TransactGetItems", body)).toEqual([
      { action: "dynamodb:GetItem", resource: TABLE },
      { action: "dynamodb:GetItem", resource: other },
    ]);
  });

  it("maps a request that names no table to the * resource", () => {
    expect(checks("ListTables", {})).toEqual([{ action: "dynamodb:ListTables", resource: "*" }]);
    expect(checks("BatchWriteItem", {})).toEqual([{ action: "dynamodb:BatchWriteItem", resource: "*" }]);
  });

  it("accepts an operation name without the service prefix, and rejects an empty one", () => {
    expect(dynamodbChecks("GetItem", { TableName: "chat-connections" }, scope)).toEqual([{ action: "dynamodb:GetItem", resource: TABLE }]);
    expect(() => dynamodbChecks("DynamoDB_20120810.", {}, scope)).toThrow(/without an operation/);
  });

  it("denies a Query on an index when the role only grants the table", () => {
    const result = authorize([policy(allow(["dynamodb:Query"], TABLE))], checks("Query", { TableName: "chat-connections", IndexName: "byRoom" }));
    expect(result.denied).toMatchObject({ action: "dynamodb:Query", resource: INDEX, reason: "implicit-deny" });
  });
});

describe("@connections request to checks", () => {
  const api = { ...scope, apiId: "abc123", stage: "prod" };

  it.each(["POST", "GET", "DELETE"])("maps %s to ManageConnections on .../prod/<METHOD>/@connections/<id>", (method) => {
    expect(connectionsCheck(api, method, "c1=")).toEqual({
      action: "execute-api:ManageConnections",
      resource: `arn:aws:execute-api:us-east-1:000000000000:abc123/prod/${method}/@connections/c1=`,
    });
  });

  it("is allowed by a grant on .../*/POST/@connections/* only for POST", () => {
    const policies = [policy(allow("execute-api:ManageConnections", `arn:aws:execute-api:${REGION}:${ACCOUNT}:abc123/*/POST/@connections/*`))];
    expect(evaluate(policies, connectionsCheck(api, "POST", "c1")).allowed).toBe(true);
    expect(evaluate(policies, connectionsCheck(api, "DELETE", "c1")).allowed).toBe(false);
  });

  it("reads the stage and decoded connection id from the request path", () => {
    expect(parseConnectionsPath("/prod/@connections/L0SM9cOFvHcCIhw%3D")).toEqual({ stage: "prod", connectionId: "L0SM9cOFvHcCIhw=" });
    expect(parseConnectionsPath("/prod/%40connections/abc?x=1")).toEqual({ stage: "prod", connectionId: "abc" });
    expect(parseConnectionsPath("/@connections/abc")).toEqual({ connectionId: "abc" });
  });

  it.each(["/prod/@connections", "/prod/@connections/a/b", "/prod/other/abc", "/a/b/@connections/c", "/prod/@connections/%E0%A4%A"])(
    "rejects the path %s",
    (path) => {
      expect(parseConnectionsPath(path)).toBeUndefined();
    },
  );
});

describe("dynamodb:LeadingKeys conditions", () => {
  const partitionKeyOf = (table: string) => (table === "chat-connections" ? "pk" : undefined);
  const checks = (operation: string, body: object) => dynamodbChecks(`DynamoDB_20120810.${operation}`, body, scope, partitionKeyOf);
  const historyPolicy = [
    policy({
      Effect: "Allow",
      Action: ["dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:Scan", "dynamodb:GetItem"],
      Resource: TABLE,
      Condition: { "ForAllValues:StringLike": { "dynamodb:LeadingKeys": ["conn#*", "hist#*"] }, Null: { "dynamodb:LeadingKeys": "false" } },
    }),
  ];
  const allowed = (operation: string, body: object) => authorize(historyPolicy, checks(operation, body)).allowed;
  const key = (pk: string) => ({ pk: { S: pk }, sk: { S: "x" } });

  it("names the partitions a request touches", () => {
    expect(checks("GetItem", { TableName: "chat-connections", Key: key("hist#lobby") })).toEqual([
      { action: "dynamodb:GetItem", resource: TABLE, context: { "dynamodb:leadingkeys": ["hist#lobby"] } },
    ]);
    expect(checks("Scan", { TableName: "chat-connections" })[0]!.context).toEqual({ "dynamodb:leadingkeys": null });
    // Without the table's partition key nothing is known, and a condition cannot be evaluated.
    expect(dynamodbChecks("DynamoDB_20120810.GetItem", { TableName: "chat-connections", Key: key("hist#lobby") }, scope)[0]!.context).toBeUndefined();
  });

  it("allows a Query of an allowed partition, whatever the sort key condition, and refuses another partition", () => {
    const query = (pk: string) => ({
      TableName: "chat-connections",
      KeyConditionExpression: "#pk = :pk AND #sk BETWEEN :from AND :to",
      ExpressionAttributeNames: { "#pk": "pk", "#sk": "sk" },
      ExpressionAttributeValues: { ":pk": { S: pk }, ":from": { S: "seq#1" }, ":to": { S: "seq#9" } },
    });
    expect(allowed("Query", query("hist#lobby"))).toBe(true);
    expect(allowed("Query", query("room#lobby"))).toBe(false);
    expect(allowed("Query", { TableName: "chat-connections", KeyConditionExpression: "pk = :p", ExpressionAttributeValues: { ":p": { S: "conn#a" } } })).toBe(true);
  });

  it("allows a BatchGetItem only when every key is in an allowed partition (ForAllValues)", () => {
    const batch = (...pks: string[]) => ({ RequestItems: { "chat-connections": { Keys: pks.map(key) } } });
    expect(allowed("BatchGetItem", batch("conn#a", "hist#lobby"))).toBe(true);
    expect(allowed("BatchGetItem", batch("conn#a", "user#u"))).toBe(false);
  });

  it("refuses a Scan, which has no leading key and would pass ForAllValues vacuously, by the Null condition", () => {
    expect(allowed("Scan", { TableName: "chat-connections" })).toBe(false);
  });

  it("fails closed on operators it does not evaluate", () => {
    const odd = [policy({ Effect: "Allow", Action: "dynamodb:GetItem", Resource: TABLE, Condition: { DateGreaterThan: { "aws:CurrentTime": "2020-01-01T00:00:00Z" } } })];
    expect(authorize(odd, checks("GetItem", { TableName: "chat-connections", Key: key("hist#x") })).allowed).toBe(false);
  });
});
