import { spawn, type SpawnOptions } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";

export interface RunOptions {
  readonly cwd?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** The child and everything it started are killed after this long. @default 10 minutes */
  readonly timeoutMs?: number;
}

export interface RunResult {
  readonly code: number | null;
  readonly timedOut: boolean;
  readonly stdout: string;
  readonly stderr: string;
  /** From spawn to exit, measured here. */
  readonly wallMs: number;
}

/**
 * Runs a command to completion, capturing its output; never rejects on a non-zero exit. The child leads a
 * process group of its own, so a timeout also kills what it started (npm → jest → workers).
 */
export function run(command: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const spawnOptions: SpawnOptions = { cwd: options.cwd, env: options.env ?? process.env, stdio: ["ignore", "pipe", "pipe"], detached: true };
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(command, args, spawnOptions);
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    child.stdout?.on("data", (chunk) => (stdout += chunk));
    child.stderr?.on("data", (chunk) => (stderr += chunk));
    const timer = setTimeout(() => {
      timedOut = true;
      if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
    }, options.timeoutMs ?? 600_000);
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, timedOut, stdout, stderr, wallMs: performance.now() - started });
    });
  });
}

const GNU_TIME = "/usr/bin/time";

export interface MeasuredRun extends RunResult {
  /** Peak resident set size of the process (or of its largest descendant), in bytes. */
  readonly peakRssBytes: number;
}

/** Runs a command under GNU time for its peak RSS, which Node cannot report for a child. */
export async function runMeasured(command: string, args: readonly string[], options: RunOptions = {}): Promise<MeasuredRun> {
  if (!existsSync(GNU_TIME)) throw new Error(`${GNU_TIME} is needed to measure peak RSS (apt-get install time)`);
  const dir = mkdtempSync(join(tmpdir(), "bench-time-"));
  const report = join(dir, "rss");
  try {
    const result = await run(GNU_TIME, ["-f", "%M", "-o", report, command, ...args], options);
    const kilobytes = Number(readFileSync(report, "utf8").trim().split("\n").pop());
    return { ...result, peakRssBytes: kilobytes * 1024 };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The tail of a failed child's output, for an error message. */
export function outputTail(result: RunResult, lines = 15): string {
  return `${result.stdout}\n${result.stderr}`.trim().split("\n").slice(-lines).join("\n");
}
