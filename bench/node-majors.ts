import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { BUNDLE_FILE, bundleHandler } from "../constructs/bundle";
import { CHAT_ROUTES } from "../constructs/websocket-chat";
import { LocalDynamo } from "../__tests__/support/dynalite";
import { arranger } from "./lib/arrange";
import { ms, range } from "./lib/format";
import { median, summarize } from "./lib/stats";
import type { FigureResult, Row } from "./lib/table";
import { arrangeEvent, coldStart, firstOutput, functionEnv } from "./bundles";

const ROOT = join(__dirname, "..");
const COLD_START_BUDGET_MS = 150;
/** The major the project ran on before it brought its own Node 22; machines like this one still have it. */
const PREVIOUS_MAJOR = 20;
/** Where a machine's own Node usually is; BENCH_PREVIOUS_NODE names another binary. */
const SYSTEM_NODES = ["/usr/bin/node", "/usr/local/bin/node"];

export interface NodeMajorsOptions {
  readonly coldStarts: number;
}

/** The machine's Node 20 binary, if it has one. */
function previousNode(): { path: string; version: string } | undefined {
  const candidates = [process.env.BENCH_PREVIOUS_NODE, ...SYSTEM_NODES].filter((path): path is string => !!path && existsSync(path));
  for (const path of candidates) {
    const version = execFileSync(path, ["--version"], { encoding: "utf8" }).trim();
    if (Number(/^v(\d+)\./.exec(version)?.[1]) === PREVIOUS_MAJOR) return { path, version };
  }
  return undefined;
}

/**
 * Figure 13: each function's cold start (the shipped bundle, as in figure 4) on the Node the project runs
 * on (22, Lambda's nodejs22.x major) beside the machine's Node 20, which ran every figure before.
 */
export async function benchNodeMajors(options: NodeMajorsOptions): Promise<FigureResult> {
  const title = `13. Cold start by Node major (${process.version} vs Node ${PREVIOUS_MAJOR})`;
  const previous = previousNode();
  if (!previous) {
    return {
      title,
      oursLabel: process.version,
      baselineLabel: `Node ${PREVIOUS_MAJOR}`,
      rows: [{ measure: "cold starts", ours: "–", baseline: "not on this machine" }],
      notes: [`No Node ${PREVIOUS_MAJOR} found (${SYSTEM_NODES.join(", ")} or BENCH_PREVIOUS_NODE), so there is nothing to compare with.`],
    };
  }
  const savedEnv = { ...process.env };
  const dynamo = await LocalDynamo.start();
  try {
    const nodes = { current: process.execPath, previous: previous.path };
    const functions = CHAT_ROUTES.map((route) => ({
      name: route.handler,
      bundle: join(bundleHandler(join(ROOT, "handlers", `${route.handler}.ts`)), BUNDLE_FILE),
      ms: { current: [] as number[], previous: [] as number[] },
    }));
    const floor = { current: [] as number[], previous: [] as number[] };
    for (let i = 0; i < options.coldStarts; i += 1) {
      // The two Nodes alternate, so a slow spell of the machine hits both alike, and take turns going first.
      const order = i % 2 === 0 ? (["current", "previous"] as const) : (["previous", "current"] as const);
      for (const which of order) floor[which].push((await firstOutput(["-e", "console.log()"], {}, nodes[which])).ms);
      for (const fn of functions) {
        for (const which of order) {
          const table = await dynamo.freshTable();
          const event = await arrangeEvent(fn.name, `${fn.name}-${which}-${i}`, arranger(dynamo, table));
          fn.ms[which].push(await coldStart(fn.bundle, event, functionEnv(dynamo.endpoint, table, "bundled"), nodes[which]));
        }
      }
    }
    const allPairs = functions.flatMap((fn) => fn.ms.current.map((time, i) => time - fn.ms.previous[i]));
    const currentWins = allPairs.filter((difference) => difference < 0).length / allPairs.length;
    const overall = median(allPairs);
    const rows: Row[] = functions.map((fn) => {
      const paired = median(fn.ms.current.map((time, i) => time - fn.ms.previous[i]));
      return {
        measure: `cold start: ${fn.name}, median of ${fn.ms.current.length}`,
        ours: range(summarize(fn.ms.current), ms),
        baseline: range(summarize(fn.ms.previous), ms),
        budget: "median ≤ 150 ms",
        pass: median(fn.ms.current) <= COLD_START_BUDGET_MS,
        detail: `Node ${PREVIOUS_MAJOR} ${paired >= 0 ? `${ms(paired)} faster` : `${ms(-paired)} slower`} (paired median)`,
      };
    });
    return {
      title,
      oursLabel: `Node ${process.version} (the project's)`,
      baselineLabel: `Node ${previous.version} (${previous.path})`,
      rows,
      notes: [
        "The same shipped bundles (SDK bundled and minified) and the same measurement as figure 4: from spawn until a fresh `node` (bench/lib/serve-one-event.cjs) has loaded the bundle and answered its first event against dynalite, the two Nodes alternating run by run.",
        `${process.version} started faster in ${Math.round(currentWins * 100)}% of ${allPairs.length} paired runs; over all pairs, Node ${PREVIOUS_MAJOR} ${overall >= 0 ? `${ms(overall)} faster` : `${ms(-overall)} slower`} (median).`,
        `An empty process takes ${range(summarize(floor.current), ms)} on ${process.version} and ${range(summarize(floor.previous), ms)} on ${previous.version}.`,
      ],
    };
  } finally {
    await dynamo.stop();
    for (const key of Object.keys(process.env)) if (!(key in savedEnv)) delete process.env[key];
    Object.assign(process.env, savedEnv);
  }
}
