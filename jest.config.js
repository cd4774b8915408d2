/** Jest runs TypeScript through esbuild without type-checking; `tsc --noEmit` checks types once in `npm test`. */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/__tests__"],
  testMatch: ["**/*.test.ts"],
  transform: { "^.+\\.(t|j)s$": "<rootDir>/jest.transform.js" },
  // jose ships ES modules only; jest's module system needs them as CommonJS, which the transform makes.
  transformIgnorePatterns: ["/node_modules/(?!jose/)"],
  setupFilesAfterEnv: ["<rootDir>/__tests__/setup.ts"],
  testTimeout: 30000,
  // Jest's default on 2 cores is one worker. The slowest suites spend their time waiting on child
  // processes (terraform, Chromium) and on timers (SQS visibility timeouts, idle timeouts), so a third
  // worker runs others meanwhile and shortens the suite (measured by `npm run bench -- --only tests`).
  maxWorkers: 3,
};
