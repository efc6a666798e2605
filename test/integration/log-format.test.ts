// The command log's format version (hal/log.ts: the digit in every entry's
// magic), through the real CLI. Proves:
//   - `qenex migrate` on a data directory of this build's format says there
//     is nothing to do, and changes nothing;
//   - a log of another format is refused by a live boot and by replay with a
//     message that names the format found, this build's, and `qenex migrate`;
//     the refused boot leaves the log byte for byte as it was (a log of
//     another format must never be taken for a torn one and cut);
//   - `qenex migrate` on it fails and says why (newer: use the release that
//     wrote it; older with no step: migrate with a release in between).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { makeImage, removeDir, runCli, demoManifest, type TestImage } from '../support/helpers.ts';
import { ENTRY_MAGIC, ENTRY_MAGIC_PREFIX, LOG_FORMAT_VERSION } from '../../hal/log.ts';

let img: TestImage;
let pristine: string;

function bootArgs(data: string): string[] {
  return ['boot', img.imagePath, '--data', data, '--trust', img.pubPath, '--once'];
}

test.before(() => {
  img = makeImage('log-format', demoManifest());
  pristine = join(img.dir, 'pristine');
  const r = runCli(bootArgs(pristine));
  assert.is(r.code, 0, r.stderr);
});
test.after(() => removeDir(img.dir));

/** A copy of the pristine data directory whose first entry claims log format `version`. */
function withFormat(name: string, version: number): { data: string; log: string; bytes: Buffer } {
  const data = join(img.dir, name);
  cpSync(pristine, data, { recursive: true });
  const log = join(data, 'log.qxl');
  const bytes = readFileSync(log);
  assert.is(bytes.readUInt32LE(0), ENTRY_MAGIC, 'the pristine log starts with an entry of this build');
  bytes.writeUInt32LE((ENTRY_MAGIC_PREFIX | ((0x30 + version) << 24)) >>> 0, 0);
  writeFileSync(log, bytes);
  return { data, log, bytes };
}

test('migrate: a data directory in this build\'s formats has nothing to migrate', () => {
  const before = readFileSync(join(pristine, 'log.qxl'));
  const r = runCli(['migrate', '--data', pristine]);
  assert.is(r.code, 0, r.stderr);
  const e = r.events.find((x) => x.event === 'migrate');
  assert.ok(e, r.stdout);
  assert.is(e!.log_format, LOG_FORMAT_VERSION);
  assert.is(e!.migrated, false);
  assert.ok(readFileSync(join(pristine, 'log.qxl')).equals(before), 'nothing written');
});

for (const [label, version] of [['newer', LOG_FORMAT_VERSION + 1], ['older', LOG_FORMAT_VERSION - 1]] as const) {
  test(`a log of an ${label} format (${version}) is refused by boot and replay, untouched, and migrate says why`, () => {
    const { data, log, bytes } = withFormat(`format-${version}`, version);
    const booted = runCli(bootArgs(data));
    assert.is.not(booted.code, 0, 'a live boot refuses it');
    assert.match(booted.stderr, `log format ${version}; this QENEX reads log format ${LOG_FORMAT_VERSION}`);
    assert.match(booted.stderr, 'qenex migrate --data');
    assert.ok(readFileSync(log).equals(bytes), 'the refused boot left the log as it was (nothing cut)');
    const replayed = runCli(['replay', '--data', data]);
    assert.is.not(replayed.code, 0);
    assert.match(replayed.stderr, `log format ${version}`);
    const migrated = runCli(['migrate', '--data', data]);
    assert.is(migrated.code, 1, migrated.stdout + migrated.stderr);
    assert.match(migrated.stderr, version > LOG_FORMAT_VERSION ? 'is newer than this QENEX' : 'has no migration from log format');
    assert.ok(readFileSync(log).equals(bytes), 'migrate left the log as it was');
  });
}

test.run();
