// Mutation testing (npm run mutation): StrykerJS plants one small bug at a time in the modules below
// and runs their fast, root-free unit tests against it; a bug no test notices is a "survivor".
// docs/testing.md says how to run it, scope it while iterating, read the report, and lists the
// survivors we accept. CPU heavy: it runs one mutant at a time (concurrency 1) on purpose.
//
// How it runs: Stryker copies the project to .stryker-tmp/, instruments the TypeScript sources there,
// compiles them with tsc (buildCommand) and runs the compiled dist/**/*.test.js files one by one with
// `node --test-reporter=tap` (the tap runner), only the files that cover each mutant. The TypeScript
// checker drops mutants that do not compile, so they do not count either way.

/** Modules under mutation: pure code whose unit tests need no root and run in seconds. */
const mutate = [
  'protocol/*.ts',
  'link/ipv4.ts',
  'link/frame-link.ts',
  'link/data-path.ts', // the data path both ends share (its test needs the addon's segmentSuperPacket)
  'contract/*.ts', // tunnel-state, ipc-schema, helper-api, errors, profile-schema, format, stats, tunnel-summary, failure-advice
  'server/admission.ts', // the gateway's pure parts
  'server/lease-table.ts',
  'helper/liveness.ts', // the engine's pure parts
  'helper/kill-switch-setting.ts', // the kill switch's mode kept across restarts (a file, a schema)
  'electron/profile-transfer.ts',
  'renderer/state-view.ts',
  '!**/*.test.ts',
  '!**/*.d.ts',
];

/** Their tests, compiled: each file runs in its own node process. */
const testFiles = [
  'dist/protocol/*.test.js',
  'dist/link/*.test.js',
  'dist/contract/*.test.js',
  'dist/server/*.test.js',
  'dist/helper/liveness.test.js',
  'dist/helper/kill-switch-setting.test.js',
  'dist/electron/profile-*.test.js',
  'dist/renderer-tests/renderer/state-view.test.js',
  'dist/renderer-tests/renderer/profile-form.test.js', // the form validates with contract/profile-schema.ts
];

const report = process.env.MUTATION_REPORT ?? 'mutation';

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'tap',
  tap: {
    // MUTATION_TESTS=dist/protocol/*.test.js,... narrows the test files for a scoped run.
    testFiles: process.env.MUTATION_TESTS ? process.env.MUTATION_TESTS.split(',') : testFiles,
    nodeArgs: ['-r', '{{hookFile}}', '--test-reporter=tap', '{{testFile}}'],
  },
  checkers: ['typescript'],
  // The checker's project: tsconfig.json plus the renderer's node-tested modules (state-view.ts).
  tsconfigFile: 'tsconfig.mutation.json',
  buildCommand: 'npm run build:ts',
  // MUTATE=protocol/crypto.ts,link/ipv4.ts scopes a run while iterating (see docs/testing.md).
  mutate: process.env.MUTATE ? [...process.env.MUTATE.split(','), '!**/*.test.ts'] : mutate,
  coverageAnalysis: 'perTest',
  concurrency: Number(process.env.MUTATION_CONCURRENCY ?? 1),
  timeoutMS: 10_000,
  ignorePatterns: ['dist', 'reports', 'test/artifacts', 'renderer/node_modules', '.stryker-tmp'],
  // MUTATION_REPORT=<name> keeps a scoped run's reports (and its incremental state) apart from the full run's.
  incrementalFile: `reports/mutation/${report}-incremental.json`,
  reporters: ['html', 'json', 'clear-text', 'progress'],
  htmlReporter: { fileName: `reports/mutation/${report}.html` },
  jsonReporter: { fileName: `reports/mutation/${report}.json` },
  clearTextReporter: { allowColor: false, logTests: false, maxTestsToLog: 0 },
  thresholds: { high: 90, low: 85, break: null },
  tempDirName: '.stryker-tmp',
};
