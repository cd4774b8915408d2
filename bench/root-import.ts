/**
 * Bench-only preload for the synth figure (`node --import tsx --import ./bench/root-import.ts main.ts`):
 * loads @cdktf/provider-aws from its root index, as a stack written with
 * `import { LambdaFunction } from "@cdktf/provider-aws"` would. main.ts then runs unchanged, and its deep
 * imports resolve to the very modules the root index already loaded, so the synthesized stack is the same
 * (synth.ts checks that) and the difference is the cost of the root import alone.
 */
require("@cdktf/provider-aws");
