import { managementApi, managementApiEndpoint } from "../handlers/lib/aws/clients";
import { authMode, DEFAULT_FANOUT_CONCURRENCY, DEFAULT_HISTORY_DAYS, fanOutConcurrency, historyDays, tableSettings } from "../handlers/lib/env/contract";

const context = { domainName: "abc123.execute-api.eu-west-1.amazonaws.com", stage: "prod" };

describe("settings", () => {
  test("history days: 7 when HISTORY_DAYS is unset, 0 allowed (history off), anything else refused naming it", () => {
    expect(historyDays({})).toBe(DEFAULT_HISTORY_DAYS);
    expect(DEFAULT_HISTORY_DAYS).toBe(7);
    expect(historyDays({ HISTORY_DAYS: "0" })).toBe(0);
    expect(historyDays({ HISTORY_DAYS: "30" })).toBe(30);
    for (const bad of ["-1", "1.5", "week", "3651"]) expect(() => historyDays({ HISTORY_DAYS: bad })).toThrow(/HISTORY_DAYS must be an integer from 0 to 3650/);
  });

  test("the fan-out concurrency defaults when FANOUT_CONCURRENCY is unset", () => {
    expect(fanOutConcurrency({})).toBe(DEFAULT_FANOUT_CONCURRENCY);
  });

  test("the fan-out concurrency comes from FANOUT_CONCURRENCY", () => {
    expect(fanOutConcurrency({ FANOUT_CONCURRENCY: "7" })).toBe(7);
  });

  test.each(["0", "-3", "1.5", "ten", "1001"])("FANOUT_CONCURRENCY=%s is rejected with an error naming it", (value) => {
    expect(() => fanOutConcurrency({ FANOUT_CONCURRENCY: value })).toThrow(
      /FANOUT_CONCURRENCY must be an integer from 1 to 1000/
    );
  });

  test("table settings come from TABLE_NAME and DYNAMODB_PAGE_SIZE", () => {
    expect(tableSettings({ TABLE_NAME: "t", DYNAMODB_PAGE_SIZE: "10" })).toEqual({ tableName: "t", pageSize: 10 });
  });

  test("pages are left to DynamoDB when DYNAMODB_PAGE_SIZE is unset", () => {
    expect(tableSettings({ TABLE_NAME: "t" }).pageSize).toBeUndefined();
  });

  test("a missing TABLE_NAME is an error naming it", () => {
    expect(() => tableSettings({})).toThrow(/TABLE_NAME is not set/);
  });

  test("an invalid DYNAMODB_PAGE_SIZE is an error naming it", () => {
    expect(() => tableSettings({ TABLE_NAME: "t", DYNAMODB_PAGE_SIZE: "0" })).toThrow(
      /DYNAMODB_PAGE_SIZE/
    );
  });
});

describe("auth mode", () => {
  test("an unset AUTH_MODE means anonymous connections, as in the tutorial", () => {
    expect(authMode({})).toBe("none");
  });

  test("AUTH_MODE=jwt is read as such", () => {
    expect(authMode({ AUTH_MODE: "jwt" })).toBe("jwt");
  });

  test("any other AUTH_MODE is an error naming it", () => {
    expect(() => authMode({ AUTH_MODE: "basic" })).toThrow(/AUTH_MODE must be "none" or "jwt", got "basic"/);
  });
});

describe("management API client", () => {
  const saved = process.env.AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI;

  beforeAll(() => {
    process.env.AWS_REGION ??= "us-east-1";
  });

  afterEach(() => {
    if (saved === undefined) delete process.env.AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI;
    else process.env.AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI = saved;
  });

  test("on AWS the callback endpoint is the invoking API's domain and stage", () => {
    delete process.env.AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI;

    expect(managementApiEndpoint(context)).toBe("https://abc123.execute-api.eu-west-1.amazonaws.com/prod");
  });

  test("the SDK's AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI overrides the callback endpoint", () => {
    process.env.AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI = "http://127.0.0.1:8080/prod";

    expect(managementApiEndpoint(context)).toBe("http://127.0.0.1:8080/prod");
  });

  test("one client serves every call to the same endpoint", () => {
    delete process.env.AWS_ENDPOINT_URL_APIGATEWAYMANAGEMENTAPI;

    expect(managementApi(context)).toBe(managementApi({ ...context }));
    expect(managementApi(context)).not.toBe(managementApi({ ...context, stage: "dev" }));
  });
});
