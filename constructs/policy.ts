/** A statement of an IAM policy, written the way the constructs think about it. */
export interface PolicyStatement {
  /** @default "Allow" */
  readonly effect?: "Allow" | "Deny";
  readonly actions: readonly string[];
  /** Resource ARNs; omitted only in trust policies, which name principals instead. */
  readonly resources?: readonly string[];
  readonly principals?: Readonly<Record<string, string>>;
  /** The statement's Condition block: operator → condition key → value(s). */
  readonly conditions?: Readonly<Record<string, Readonly<Record<string, string | readonly string[]>>>>;
}

/**
 * The JSON text of a policy document. Terraform tokens inside ARNs stay in the string and are resolved
 * by cdktf at synth, so the synthesized JSON is a plain, readable interpolation.
 */
export function policyDocument(statements: readonly PolicyStatement[]): string {
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: statements.map((s) => ({
      Effect: s.effect ?? "Allow",
      ...(s.principals ? { Principal: s.principals } : {}),
      Action: s.actions.length === 1 ? s.actions[0] : [...s.actions],
      ...(s.resources ? { Resource: s.resources.length === 1 ? s.resources[0] : [...s.resources] } : {}),
      ...(s.conditions ? { Condition: s.conditions } : {}),
    })),
  });
}

/** Holds a statement to items whose partition keys all match the patterns (and refuses a Scan, which names none). */
export function leadingKeys(patterns: readonly string[]): PolicyStatement["conditions"] {
  return { "ForAllValues:StringLike": { "dynamodb:LeadingKeys": patterns }, Null: { "dynamodb:LeadingKeys": "false" } };
}
