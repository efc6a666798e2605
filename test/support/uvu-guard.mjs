// test/support/uvu-guard.mjs: loaded before every test file (test/run.mjs).
//
// uvu runs a suite's before/after hooks inside try/finally with a return in
// the finally, so an exception in a hook vanishes: a file whose set-up threw
// reported "(0 / 9)" and exited 0. Here every hook of the default suite is
// wrapped: a hook that throws prints its error with the stack and makes the
// process exit non-zero, so a set-up that fails fails its file, visibly.

import { test } from 'uvu';

function guarded(kind, fn) {
  return async (state) => {
    try {
      await fn(state);
    } catch (e) {
      process.exitCode = 1;
      process.stderr.write(`\n  ${kind} hook failed: ${e?.stack ?? e}\n\n`);
      throw e;
    }
  };
}

for (const [name, kind] of [['before', 'before'], ['after', 'after']]) {
  const register = test[name];
  const wrapped = (fn) => register(guarded(kind, fn));
  wrapped.each = (fn) => register.each(guarded(`${kind}.each`, fn));
  test[name] = wrapped;
}
