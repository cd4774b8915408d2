/**
 * Runs `work` with an AbortSignal that fires after `ms`, and stops the timer as soon as the work settles.
 * It replaces AbortSignal.timeout on the hot paths (every post, every DynamoDB read attempt): on Node 20
 * and 22 that costs far more to create (an EventTarget, a finalization registration, a timer kept until it
 * fires, long after the request) than an AbortController and a timer cleared on settling.
 * The signal's reason is the TimeoutError DOMException AbortSignal.timeout would give.
 */
export async function withTimeout<T>(ms: number, work: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new DOMException("The operation was aborted due to timeout", "TimeoutError")), ms);
  // As AbortSignal.timeout's: the timer alone keeps no process alive (the request's socket does).
  timer.unref();
  try {
    return await work(controller.signal);
  } finally {
    clearTimeout(timer);
  }
}
