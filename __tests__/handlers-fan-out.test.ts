import { fanOut, FanOutOptions } from "../handlers/lib/fan-out";

const noDelay = () => Promise.resolve();

function sdkError(name: string, httpStatusCode: number): Error {
  return Object.assign(new Error(name), { name, $metadata: { httpStatusCode } });
}

function options(overrides: Partial<FanOutOptions>): FanOutOptions {
  return {
    recipients: [],
    post: () => Promise.resolve(),
    onGone: () => Promise.resolve(),
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

    expect(await done).toEqual({ delivered: 20, stale: 0, failed: 0 });
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
    expect(await done).toEqual({ delivered: 2, stale: 0, failed: 0 });
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

    expect(counts).toEqual({ delivered: 1, stale: 1, failed: 0 });
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

    expect(counts).toEqual({ delivered: 0, stale: 0, failed: 1 });
    expect(failures).toEqual(["gone: table unavailable"]);
  });

  test.each([
    ["TooManyRequestsException", 429],
    ["LimitExceededException", 429],
    ["ThrottlingException", 400],
    ["AnUnnamedThrottle", 429],
    ["InternalServerErrorException", 500],
  ])("fan-out retries a post that failed with %s (HTTP %s)", async (name, status) => {
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

    expect(counts).toEqual({ delivered: 1, stale: 0, failed: 0 });
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

    expect(counts).toEqual({ delivered: 0, stale: 0, failed: 1 });
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

    expect(counts).toEqual({ delivered: 2, stale: 0, failed: 1 });
  });

  test("fan-out lets the posts already started finish before it rethrows a failure to read recipients", async () => {
    const posts = controlledPosts();
    const delivered: string[] = [];
    async function* recipients() {
      yield "a";
      yield "b";
      throw new Error("page read failed");
    }

    const done = fanOut(
      options({
        recipients: recipients(),
        post: async (r) => {
          await posts.post(r);
          delivered.push(r);
        },
      })
    );
    let deliveredWhenRejected: string[] = [];
    const settled = done.catch((error: Error) => {
      deliveredWhenRejected = [...delivered];
      return error;
    });
    await posts.drain(settled);

    expect(await settled).toEqual(new Error("page read failed"));
    expect(deliveredWhenRejected).toEqual(["a", "b"]);
  });

  test("fan-out rejects a concurrency that is not a positive integer", async () => {
    await expect(fanOut(options({ concurrency: 0 }))).rejects.toThrow(/concurrency/);
  });
});
