// Jest's TypeScript transform: esbuild strips types without checking them (`tsc --noEmit` checks them once
// in `npm test`), which keeps every test file's start-up in milliseconds. esbuild is already the bundler,
// so this needs no second native toolchain.
const { createHash } = require("node:crypto");
const { transformSync, version } = require("esbuild");

module.exports = {
  process(sourceText, sourcePath) {
    const { code, map } = transformSync(sourceText, {
      loader: sourcePath.endsWith(".ts") ? "ts" : "js",
      format: "cjs",
      target: "node22",
      sourcemap: true,
      sourcefile: sourcePath,
    });
    return { code, map };
  },
  getCacheKey(sourceText, sourcePath) {
    return createHash("sha256").update(version).update("\0").update(sourcePath).update("\0").update(sourceText).digest("hex");
  },
};
