// Preloaded into every test process by scripts/run-tests.js: each test, and each before/after hook,
// gets a timeout unless it sets its own, so a test that waits forever fails with "test timed out"
// instead of stalling the run. (Node 20 has no per-test default: its --test-timeout bounds a whole
// file under `node --test`.) Suites (describe) are left alone: their tests are bounded one by one.
const nodeTest = require('node:test');

const timeout = Number(process.env.TEST_TIMEOUT_MS);
if (Number.isInteger(timeout) && timeout > 0) {
  /**
   * test(name?, options?, fn?) and hook(fn, options?) with `timeout` added to the options when they
   * have none: before the function for tests, after it for hooks.
   */
  const withDefaultTimeout = (register, isHook) => function (...args) {
    const at = args.findIndex((a) => a !== null && typeof a === 'object');
    if (at === -1) {
      const fnAt = args.findIndex((a) => typeof a === 'function');
      const where = fnAt === -1 ? args.length : isHook ? fnAt + 1 : fnAt;
      args.splice(where, 0, { timeout });
    } else if (args[at].timeout === undefined) {
      args[at] = { ...args[at], timeout };
    }
    return register.apply(this, args);
  };
  for (const name of ['test', 'it', 'before', 'after', 'beforeEach', 'afterEach']) {
    const original = nodeTest[name];
    // Object.assign keeps test.skip, test.only, test.todo.
    nodeTest[name] = Object.assign(withDefaultTimeout(original, !['test', 'it'].includes(name)), original);
  }
}
