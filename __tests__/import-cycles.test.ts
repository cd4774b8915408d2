import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { importCycles, importGraph, sourceFiles } from "./support/import-graph";

const ROOT = join(__dirname, "..");
/** The project's own modules: the app, its constructs and handlers, the local runtime, the benchmarks and the page's ES modules. */
const PROJECT = ["main.ts", "constructs", "handlers", "local", "bench", "web"];

test("no module of the project imports itself back through value imports", () => {
  expect(importCycles(importGraph(sourceFiles(ROOT, PROJECT)), ROOT)).toEqual([]);
});

describe("the cycle check", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "import-cycles-"));
    const files: Record<string, string> = {
      // A value cycle through a named import and a re-export.
      "a.ts": 'import { b } from "./b";\nexport const a = () => b;\n',
      "b.ts": 'export { a as b } from "./a";\n',
      // Side-effect imports, one of them through an index file and a .js specifier.
      "c.js": 'import "./d/index.js";\n',
      "d/index.ts": 'import "../c";\n',
      // Type-only in one direction: erased when compiled.
      "e.ts": 'import type { F } from "./f";\nimport { type G } from "./g";\nexport type E = F | G;\n',
      "f.ts": 'import { e } from "./e";\nexport type F = typeof e;\n',
      "g.ts": 'export type { E } from "./e";\nexport const e = 1;\nexport type G = number;\n',
      // A top-level require is a value import; one inside a function runs later.
      "h.cjs": 'const i = require("./i.cjs");\nmodule.exports = () => i;\n',
      "i.cjs": 'module.exports = () => require("./h.cjs");\n',
      "j.cjs": 'require("./j.cjs");\n',
    };
    for (const [name, text] of Object.entries(files)) {
      const path = join(dir, name);
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, text);
    }
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test("names each value cycle and ignores type-only imports and deferred requires", () => {
    expect(importCycles(importGraph(sourceFiles(dir, ["."])), dir)).toEqual(["a.ts → b.ts → a.ts", "c.js → d/index.ts → c.js", "j.cjs → j.cjs"]);
  });
});
