import { fanOut, FanOutOptions, NEW_CONNECTION_GRACE_MS, Recipient } from "../handlers/lib/fan-out/fan-out";

const noDelay = () => Promise.resolve();

function sdkError(name: string, httpStatusCode: number): Error {
  return Object.assign(new Error(name), { name, $metadata: { httpStatusCode } });
}

/** A recipient whose connection opened long ago (unless `connectedAt` says otherwise). */
const r = (connectionId: string, connectedAt = Date.now() - 3_600_000): Recipient => ({ connectionId, connectedAt });

type Overrides = Omit<Partial<FanOutOptions<Recipient>>, "recipients" | "post" | "onGone" | "onFailure"> & {
  readonly recipients?: Iterable<string> | AsyncIterable<string> | Iterable<Recipient>;
  readonly post?: (id: string) => Promise<unknown>;
  readonly onGone?: (id: string) => Promise<unknown>;
  readonly onFailure?: (id: string, error: unknown) => void;
};

/** Options whose callbacks take plain ids, so each test reads in terms of who was posted to. */
function options(overrides: Overrides): FanOutOptions<Recipient> {
  const { recipients = [], post, onGone, onFailure, ...rest } = overrides;
  return {
    recipients: toRecipients(recipients),
    post: (recipient) => (post ?? (() => Promise.resolve()))(recipient.connectionId),
    onGone: (recipient) => (onGone ?? (() => Promise.resolve()))(recipient.connectionId),
    ...(onFailure && { onFailure: (recipient: Recipient, error: unknown) => onFailure(recipient.connectionId, error) }),
    concurrency: 4,
    sleep: noDelay,
    ...rest,
  };
}

async function* toRecipients(source: Iterable<string> | AsyncIterable<string> | Iterable<Recipient>): AsyncGenerator<Recipient> {
  for await (const item of source as AsyncIterable<string | Recipient>) yield typeof item === "string" ? r(item) : item;
}

function legacyOptions(overrides: Partial<FanOutOptions<Recipient>>): FanOutOptions<Recipient> {
  return {
    recipients: [],
    post: () => Promise.resolve(),
    concurrency: 4,
    sleep: noDelay,
    ...overrides,
  };
}

/** A post that resolves only when the test says so, to observe what is in flight. */
function controlledPosts() {
  const pending = new Map<string, () => void>();
  let maxInFlight = 0;
  const post = (recipient: string) =>
    new Promise<void>((resolve) => {
      pending.set(recipient, () => {
        pending.delete(recipient);
        resolve();
      });
      maxInFlight = Math.max(maxInFlight, pending.size);
    });
  return {
    post,
    pending,
    maxInFlight: () => maxInFlight,
    /** Answers every post in flight, again and again, until `done` settles. */
    async drain(done: Promise<unknown>) {
      let finished = false;
      void done.finally(() => (finished = true));
      while (!finished) {
        await new Promise((resolve) => setImmediate(resolve));
        for (const answer of [...pending.values()]) answer();
      }
    },
  };
}

afterEach(() => {
  jest.restoreAllMocks();
});

describe("fanOut", () => {
  test("fan-out never has more posts in flight than its concurrency", async () => {
    const posts = controlledPosts();
    const recipients = Array.from({ length: 20 }, (_, index) => `r${index}`);

    const done = fanOut(options({ recipients, post: posts.post, concurrency: 3 }));
    await posts.drain(done);

    expect(await done).toEqual({ delivered: 20, stale: 0, failed: 0, incomplete: false });
    expect(posts.maxInFlight()).toBe(3);
  });

  test("fan-out starts posting before the later pages of recipients have been read", async () => {
    let releaseSecondPage!: () => void;
    const secondPage = new Promise<void>((resolve) => (releaseSecondPage = resolve));
    const posted: string[] = [];
    async function* recipients() {
      yield "first";
      await secondPage;
      yield "second";
    }

    const done = fanOut(options({ recipients: recipients(), post: async (r) => void posted.push(r) }));
    await new Promise((resolve) => setImmediate(resolve));

    expect(posted).toEqual(["first"]);
    releaseSecondPage();
    expect(await done).toEqual({ delivered: 2, stale: 0, failed: 0, incomplete: false });
  });

  test("fan-out removes a recipient answered GoneException and counts it stale", async () => {
    const removed: string[] = [];

    const counts = await fanOut(
      options({
        recipients: ["gone", "here"],
        post: async (r) => {
          if (r === "gone") throw sdkError("GoneException", 410);
        },
        onGone: async (r) => void removed.push(r),
      })
    );

    expect(counts).toEqual({ delivered: 1, stale: 1, failed: 0, incomplete: false });
    expect(removed).toEqual(["gone"]);
  });

  test("fan-out counts a gone recipient as failed when removing it fails", async () => {
    const failures: string[] = [];

    const counts = await fanOut(
      options({
        recipients: ["gone"],
        post: () => Promise.reject(sdkError("GoneException", 410)),
        onGone: () => Promise.reject(new Error("table unavailable")),
        onFailure: (r, error) => failures.push(`${r}: ${(error as Error).message}`),
      })
    );

    expect(counts).toEqual({ delivered: 0, stale: 0, failed: 1, incomplete: false });
    expect(failures).toEqual(["gone: table unavailable"]);
  });

  test.each([
    ["TooManyRequestsException", 429],
    ["LimitExceededException", 429],
    ["ThrottlingException", 400],
    ["AnUnnamedThrottle", 429],
  ])("fan-out retries a post that was refused with %s (HTTP %s)", async (name, status) => {
    let attempts = 0;

    const counts = await fanOut(
      options({
        recipients: ["r"],
        post: async () => {
          attempts += 1;
          if (attempts < 3) throw sdkError(name, status);
        },
      })
    );

    expect(counts).toEqual({ delivered: 1, stale: 0, failed: 0, incomplete: false });
    expect(attempts).toBe(3);
  });

  test("fan-out waits longer before each retry, up to the policy's cap", async () => {
    const delays: number[] = [];
    jest.spyOn(Math, "random").mockReturnValue(0.999);

    await fanOut(
      options({
        recipients: ["r"],
        post: () => Promise.reject(sdkError("TooManyRequestsException", 429)),
        retry: { maxAttempts: 6, baseDelayMs: 10, maxDelayMs: 50 },
        sleep: async (ms) => void delays.push(ms),
      })
    );

    expect(delays).toEqual([9, 19, 39, 49, 49]);
  });

  test("fan-out gives up on a throttled recipient after the last attempt and counts it failed", async () => {
    let attempts = 0;

    const counts = await fanOut(
      options({
        recipients: ["r"],
        post: () => {
          attempts += 1;
          return Promise.reject(sdkError("LimitExceededException", 429));
        },
        retry: { maxAttempts: 4, baseDelayMs: 1, maxDelayMs: 1 },
      })
    );

    expect(counts).toEqual({ delivered: 0, stale: 0, failed: 1, incomplete: false });
    expect(attempts).toBe(4);
  });

  test("fan-out does not retry a failure that retrying cannot fix", async () => {
    let attempts = 0;

    await fanOut(
      options({
        recipients: ["r"],
        post: () => {
          attempts += 1;
          return Promise.reject(sdkError("ForbiddenException", 403));
        },
      })
    );

    expect(attempts).toBe(1);
  });

  test("fan-out keeps delivering to others when one recipient's post and its logger both throw", async () => {
    const counts = await fanOut(
      options({
        recipients: ["a", "bad", "c"],
        post: async (r) => {
          if (r === "bad") throw new Error("boom");
        },
        onFailure: () => {
          throw new Error("logger broke");
        },
      })
    );

    expect(counts).toEqual({ delivered: 2, stale: 0, failed: 1, incomplete: false });
  });

  test("fan-out lets the posts already started finish, then reports incomplete when reading recipients fails part-way", async () => {
    const posts = controlledPosts();
    const delivered: string[] = [];
    const readFailures: unknown[] = [];
    async function* recipients() {
      yield "a";
      yield "b";
      throw new Error("page read failed");
    }

    const done = fanOut(
      options({
        recipients: recipients(),
        post: async (id) => {
          await posts.post(id);
          delivered.push(id);
        },
        onReadFailure: (error) => readFailures.push(error),
      }),
    );
    await posts.drain(done);

    expect(await done).toEqual({ delivered: 2, stale: 0, failed: 0, incomplete: true });
    expect(delivered).toEqual(["a", "b"]);
    expect(readFailures).toEqual([new Error("page read failed")]);
  });

  test("fan-out rethrows a failure to read recipients when nobody was posted to yet", async () => {
    async function* recipients(): AsyncGenerator<string> {
      throw new Error("first page failed");
    }

    await expect(fanOut(options({ recipients: recipients() }))).rejects.toThrow("first page failed");
  });

  test.each([
    ["a 5xx", sdkError("InternalServerErrorException", 500)],
    ["a timeout", Object.assign(new Error("timed out"), { name: "TimeoutError", code: "ETIMEDOUT" })],
    ["a connection reset", Object.assign(new Error("socket hang up"), { code: "ECONNRESET" })],
  ])("fan-out does not retry %s, after which the post may have been delivered", async (_, error) => {
    let attempts = 0;

    const counts = await fanOut(options({ recipients: ["r"], post: () => ((attempts += 1), Promise.reject(error)) }));

    expect(counts).toEqual({ delivered: 0, stale: 0, failed: 1, incomplete: false });
    expect(attempts).toBe(1);
  });

  test("fan-out retries a post whose connection was refused: it never reached the service", async () => {
    let attempts = 0;

    const counts = await fanOut(
      options({
        recipients: ["r"],
        post: async () => {
          attempts += 1;
          if (attempts < 2) throw Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" });
        },
      }),
    );

    expect(counts).toMatchObject({ delivered: 1 });
    expect(attempts).toBe(2);
  });

  test("fan-out retries a 410 from a connection younger than a $connect can take, and never removes it", async () => {
    const removed: string[] = [];
    let attempts = 0;

    const counts = await fanOut(
      options({
        recipients: [r("newcomer", Date.now() - 1000)],
        post: async () => {
          attempts += 1;
          if (attempts < 3) throw sdkError("GoneException", 410);
        },
        onGone: async (id) => void removed.push(id),
      }),
    );

    expect(counts).toEqual({ delivered: 1, stale: 0, failed: 0, incomplete: false });
    expect(removed).toEqual([]);
  });

  test("fan-out removes a recipient answered 410 once its record is older than the grace period", async () => {
    const removed: string[] = [];

    await fanOut(
      options({
        recipients: [r("old", Date.now() - NEW_CONNECTION_GRACE_MS - 1)],
        post: () => Promise.reject(sdkError("GoneException", 410)),
        onGone: async (id) => void removed.push(id),
      }),
    );

    expect(removed).toEqual(["old"]);
  });

  test("fan-out starts no post once the time left is below its reserve, and says it is incomplete", async () => {
    let left = 10_000;
    const posted: string[] = [];

    const counts = await fanOut(
      options({
        recipients: ["a", "b", "c", "d"],
        concurrency: 1,
        post: async (id) => {
          posted.push(id);
          left -= 3_000;
        },
        remainingTimeMs: () => left,
        reserveMs: 3_500,
      }),
    );

    // 10 s, 7 s and 4 s left at the first three: each leaves more than the reserve; 1 s does not.
    expect(posted).toEqual(["a", "b", "c"]);
    expect(counts).toEqual({ delivered: 3, stale: 0, failed: 0, incomplete: true });
  });

  test("with little time left the reserve shrinks to a quarter of it, so a function with a short timeout still posts", async () => {
    const posted: string[] = [];
    const deadline = Date.now() + 2_000;

    const counts = await fanOut(options({ recipients: ["a", "b"], post: async (id) => void posted.push(id), remainingTimeMs: () => deadline - Date.now() }));

    expect(posted).toEqual(["a", "b"]);
    expect(counts).toMatchObject({ delivered: 2, incomplete: false });
  });

  test("each post is aborted before the reserve runs out, and counted failed, not retried", async () => {
    const deadline = Date.now() + 2_000;
    let attempts = 0;
    const started = Date.now();

    const counts = await fanOut({
      recipients: [r("slow")],
      post: (_recipient, signal) =>
        new Promise((_resolve, reject) => {
          attempts += 1;
          signal.addEventListener("abort", () => reject(signal.reason));
        }),
      concurrency: 1,
      remainingTimeMs: () => deadline - Date.now(),
    });

    expect(counts).toMatchObject({ failed: 1, incomplete: false });
    expect(attempts).toBe(1);
    // The reserve is 600 ms (a quarter of 2 s is below the floor), and a post is aborted 200 ms before it ends.
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  test("fan-out does not wait to retry when the wait would run into its reserve", async () => {
    const waits: number[] = [];

    const counts = await fanOut(
      options({
        recipients: ["r"],
        post: () => Promise.reject(sdkError("LimitExceededException", 429)),
        remainingTimeMs: () => 3_600,
        reserveMs: 3_500,
        retry: { maxAttempts: 5, baseDelayMs: 200, maxDelayMs: 200 },
        sleep: async (ms) => void waits.push(ms),
      }),
    );

    expect(waits.every((ms) => ms <= 100)).toBe(true);
    expect(counts).toMatchObject({ failed: 1 });
  });

  test("fan-out rejects a concurrency that is not a positive integer", async () => {
    await expect(fanOut(legacyOptions({ concurrency: 0 }))).rejects.toThrow(/concurrency/);
  });
});
