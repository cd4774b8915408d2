/**
 * The environment variable holding the `https://` endpoint of the API's `@connections` (execute-api host
 * and stage). The stack sets it on every function that posts: the event's `domainName` is a custom domain
 * when the API has one, and `@connections` answers only on the execute-api host.
 */
export const ENV_CALLBACK_URL = "CALLBACK_URL";
