/**
 * send-message's hand-off to the fan-out queue (handlers/lib/fan-out/fan-out-handoff.ts), with the real SQS client
 * against an endpoint that can refuse single entries as SQS does.
 */
import { handOff } from "../handlers/lib/fan-out/fan-out-handoff";
import { decodeJob, FanOutJob, JobRecipient } from "../handlers/lib/fan-out/fan-out-job";
import { useFakeAwsEnvironment } from "./support/dynalite";
import { FakeSqs } from "./support/fake-sqs";

let sqs: FakeSqs;
beforeAll(async () => {
  useFakeAwsEnvironment();
  sqs = await FakeSqs.start();
  process.env.AWS_ENDPOINT_URL_SQS = sqs.endpoint;
});
afterAll(() => sqs?.stop());
beforeEach(() => sqs.reset());

const recipients = (count: number, key?: (i: number) => JobRecipient["key"]): JobRecipient[] =>
  Array.from({ length: count }, (_, i) => ({ connectionId: `conn-${String(i).padStart(4, "0")}=`, connectedAt: 1_700_000_000_000 + i, ...(key && { key: key(i) }) }));

const jobs = (bodies: readonly string[]) => bodies.map((body) => decodeJob(body) as FanOutJob);
const reached = (bodies: readonly string[]) => jobs(bodies).flatMap((job) => job.recipients.map((r) => r.connectionId));

function send(options: { frame: string; to: JobRecipient[]; jobSize: number }) {
  const failures: unknown[] = [];
  const result = handOff({
    queueUrl: `${sqs.endpoint}/123456789012/chat-fan-out`,
    jobSize: options.jobSize,
    messageId: "m-1",
    frame: options.frame,
    recipients: options.to,
    remainingTimeMs: () => 60_000,
    onFailure: (error) => failures.push(error),
  });
  return { result, failures };
}

test("a job SQS refuses costs only its own recipients: the ones after it, the last partial job too, are still queued", async () => {
  // 23 recipients in jobs of 2: a first batch of 10 jobs, then job 11 and the last job of 1.
  const to = recipients(23);
  sqs.refuse = (body) => (body.includes(to[0]!.connectionId) ? { code: "KMS.ThrottlingException", senderFault: true } : undefined);

  const { result, failures } = send({ frame: '{"type":"message"}', to, jobSize: 2 });

  expect(await result).toEqual({ queued: 21, incomplete: true });
  expect(reached(sqs.accepted)).toEqual(to.slice(2).map((r) => r.connectionId));
  expect(failures).toEqual([expect.objectContaining({ name: "KMS.ThrottlingException" })]);
});

test("a frame that escaping makes larger is split into jobs that each fit SQS's 256 KiB, and everyone is queued once", async () => {
  // 21,000 control characters: 21 KB of message, ~126 KB as JSON in the frame (within API Gateway's 128 KB
  // both ways), ~147 KB escaped again in the job, whose 1,000 recipients (room list keys) add ~120 KB more.
  const frame = JSON.stringify({ type: "message", id: "m-1", message: "\u0001".repeat(21_000) });
  expect(Buffer.byteLength(frame)).toBeLessThanOrEqual(128 * 1024);
  const to = recipients(1000, (i) => ({ pk: `room#${"r".repeat(64)}`, sk: `conn#conn-${String(i).padStart(4, "0")}=` }));

  const { result, failures } = send({ frame, to, jobSize: 1000 });

  expect(await result).toEqual({ queued: 1000, incomplete: false });
  expect(sqs.refused).toEqual([]);
  expect(failures).toEqual([]);
  expect(sqs.accepted.length).toBeGreaterThan(1);
  for (const body of sqs.accepted) expect(Buffer.byteLength(body)).toBeLessThanOrEqual(256 * 1024);
  expect(reached(sqs.accepted)).toEqual(to.map((r) => r.connectionId));
  for (const job of jobs(sqs.accepted)) expect(job.frame).toBe(frame);
});
