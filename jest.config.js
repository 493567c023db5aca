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
  // Spawned `bin/neurocaas` processes run the CLI bundle (scripts/build-cli.mjs), built once here.
  globalSetup: "<rootDir>/test/support/global-setup.ts",
  // Pulumi's own stack traces skip jest's source mapping (see the file).
  setupFilesAfterEnv: ["<rootDir>/test/support/pulumi-stacks.ts"],
  testTimeout: 60000,
  // Pulumi mocks and s3rver instances are per test file; keep workers modest on 2 cores.
  maxWorkers: 2,
};
