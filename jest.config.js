/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/test"],
  testMatch: ["**/*.test.ts"],
  // swc strips the types file by file (tsconfig: isolatedModules); `npm run typecheck` checks them.
  // It hoists jest.mock() above the imports as ts-jest did. Settings follow tsconfig.json.
  transform: {
    "^.+\\.ts$": [
      "@swc/jest",
      { jsc: { parser: { syntax: "typescript" }, target: "es2022", transform: { useDefineForClassFields: true } } },
    ],
  },
  testTimeout: 60000,
  // Pulumi mocks and s3rver instances are per test file; keep workers modest on 2 cores.
  maxWorkers: 2,
};
