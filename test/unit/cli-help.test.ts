// The CLI's help and version: what a new user types first. Proves
// `qenex --version` prints the package's version, every command answers
// --help, `qenex keys` with no action prints its usage (exit 2) like
// `qenex audit`, `qenex log` and the compliance commands (rules, cases,
// compliance report), and `qenex keys create --help` shows create's options only.
//
// Run: node --import tsx test/unit/cli-help.test.ts (needs dist/qenex.js: make cli)

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLI, ROOT, runCli } from '../support/helpers.ts';

const VERSION = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version as string;

test('qenex --version prints the release', () => {
  for (const flag of ['--version', '-V', 'version']) {
    const r = runCli([flag]);
    assert.is(r.code, 0, r.stderr);
    assert.is(r.stdout, `qenex ${VERSION}\n`);
  }
  assert.ok(CLI.endsWith('dist/qenex.js'));
});

test('every command answers --help with its usage, exit 0', () => {
  for (const command of ['keygen', 'build', 'sign', 'inspect', 'boot', 'replay', 'keys', 'sim', 'new', 'audit', 'log', 'load', 'upgrade', 'unload', 'lists', 'rules',
    'cases', 'compliance']) {
    const r = runCli([command, '--help']);
    assert.is(r.code, 0, `${command}: ${r.stderr}`);
    assert.match(r.stdout, /^usage: qenex /, command);
  }
});

test('a command without its action prints its usage and exits 2', () => {
  for (const command of ['keys', 'audit', 'log', 'rules', 'cases', 'compliance']) {
    const r = runCli([command]);
    assert.is(r.code, 2, command);
    assert.match(r.stdout + r.stderr, /usage: qenex /, command);
  }
});

test('keys <action> --help shows that action only', () => {
  const create = runCli(['keys', 'create', '--help']);
  assert.is(create.code, 0);
  assert.match(create.stdout, /^usage: qenex keys create --role/);
  assert.not.match(create.stdout, /keys revoke --id/);
  const revoke = runCli(['keys', 'revoke', '--help']);
  assert.match(revoke.stdout, /^usage: qenex keys revoke --id/);
  const all = runCli(['keys', '--help']);
  assert.match(all.stdout, /create .*\n.*list .*\n.*revoke /);
});

test.run();
