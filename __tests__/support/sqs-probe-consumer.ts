/**
 * A queue consumer for probing the local runtime's event source mappings, bundled like any handler. Every
 * event is appended to PROBE_LOG as it arrives (one JSON line per invocation: when it started, how long it
 * means to take, the event), so even an invocation that times out is seen; each message's body says what to
 * do with it:
 *   {"sleep": ms}       wait before answering (the invocation's time is the longest sleep of its batch)
 *   {"fail": true}      report the message in batchItemFailures
 *   {"throw": "why"}    fail the whole invocation
 *   {"respond": value}  return `value` as the whole response, verbatim (malformed responses)
 * Anything else succeeds.
 */
import { appendFileSync } from "node:fs";

interface SqsRecord {
  readonly messageId: string;
  readonly body: string;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function instructionOf(record: SqsRecord): { sleep?: number; fail?: boolean; throw?: string; respond?: unknown } {
  try {
    const parsed: unknown = JSON.parse(record.body);
    return parsed !== null && typeof parsed === "object" ? (parsed as object) : {};
  } catch {
    return {};
  }
}

export const handler = async (event: { Records: SqsRecord[] }) => {
  const instructions = event.Records.map(instructionOf);
  const plannedMs = Math.max(0, ...instructions.map((i) => Number(i.sleep ?? 0)));
  if (process.env.PROBE_LOG) appendFileSync(process.env.PROBE_LOG, `${JSON.stringify({ startedAt: Date.now(), plannedMs, event })}\n`);
  await sleep(plannedMs);
  const thrown = instructions.find((i) => i.throw);
  if (thrown) throw new Error(thrown.throw);
  const respond = instructions.find((i) => "respond" in i);
  if (respond) return respond.respond;
  return { batchItemFailures: event.Records.filter((_, index) => instructions[index]!.fail).map((r) => ({ itemIdentifier: r.messageId })) };
};
