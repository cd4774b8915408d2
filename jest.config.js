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
  // Jest's default on 2 cores is one worker. The Terraform checks spend their time waiting on terraform
  // child processes; a second worker runs the other suites meanwhile (npm test ~130 s -> ~100 s, loaded).
  maxWorkers: 2,
};
