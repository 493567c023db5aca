// Two projects: `fast` (npm test) and `e2e` (npm run test:e2e): the `*.e2e.test.ts` suites run the
// whole local platform end to end — analyses in IAE processes, `neurocaas local` as a child
// process, Chromium, the AWS CLI. `npx jest` runs both; .ci/run runs both.
const common = {
  testEnvironment: "node",
  roots: ["<rootDir>/test"],
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
};

/** @type {import('jest').Config} */
module.exports = {
  projects: [
    {
      ...common,
      displayName: "fast",
      testMatch: ["**/*.test.ts"],
      testPathIgnorePatterns: ["/node_modules/", "\\.e2e\\.test\\.ts$"],
    },
    { ...common, displayName: "e2e", testMatch: ["**/*.e2e.test.ts"] },
  ],
  testTimeout: 60000,
  // Three workers on two cores: many suites wait on processes and sockets part of the time.
  maxWorkers: 3,
};
