// test/unit/block-backend.test.ts: both block backends keep the same contract.
//
// Every behaviour runs against the pure backend and the native addon. When
// the addon is not built the native cases fail (the backend is asked for
// explicitly); set QENEX_NO_NATIVE=1 to run the pure cases alone.
//
// Run: node --import tsx test/unit/block-backend.test.ts

import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  nativeAddonStatus,
  openBlockBackend,
  type BlockBackend,
  type BlockOpenOptions,
} from '../../host/devices/block-backend.ts';

type Kind = 'native' | 'pure';

const KINDS: readonly Kind[] = process.env.QENEX_NO_NATIVE === '1' ? ['pure'] : ['pure', 'native'];
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const MODULE_URL = new URL('../../host/devices/block-backend.ts', import.meta.url).href;
const LOCK_MESSAGE = /locked by another qenex process/;

const WRITER = { create: true, lock: true, readOnly: false } as const;

// ---- helpers ----

function withTempDir<T>(body: (dir: string) => T): T {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qenex-block-'));
  const cleanUp = () => fs.rmSync(dir, { recursive: true, force: true });
  try {
    const result = body(dir);
    if (result instanceof Promise) return result.finally(cleanUp) as T;
    cleanUp();
    return result;
  } catch (err) {
    cleanUp();
    throw err;
  }
}

function open(kind: Kind, file: string, opts: Partial<BlockOpenOptions> = {}, notices: string[] = []): BlockBackend {
  const backend = openBlockBackend(file, { ...WRITER, backend: kind, notice: (line) => notices.push(line), ...opts });
  assert.is(backend.kind, kind);
  return backend;
}

function errorOf(call: () => unknown): Error & { code?: string } {
  try {
    call();
  } catch (err) {
    return err as Error & { code?: string };
  }
  throw new assert.Assertion({ message: 'expected a throw', operator: 'throws', expects: 'an error', actual: 'none' });
}

async function rejectionOf(promise: Promise<unknown>): Promise<Error & { code?: string }> {
  try {
    await promise;
  } catch (err) {
    return err as Error & { code?: string };
  }
  throw new assert.Assertion({ message: 'expected a rejection', operator: 'rejects', expects: 'an error', actual: 'none' });
}

function expectCode(err: Error & { code?: string }, code: string, message?: RegExp): void {
  assert.is(err.code, code, `code of: ${err.message}`);
  if (message !== undefined) assert.match(err.message, message);
}

// Opens `file` with a lock from another process and reports what happened.
function openInChild(kind: Kind, file: string): { ok: boolean; code?: string; message?: string } {
  const script = `
    const { openBlockBackend } = await import(${JSON.stringify(MODULE_URL)});
    try {
      const backend = openBlockBackend(${JSON.stringify(file)},
        { create: false, lock: true, readOnly: false, backend: ${JSON.stringify(kind)}, notice() {} });
      backend.close();
      console.log(JSON.stringify({ ok: true }));
    } catch (err) {
      console.log(JSON.stringify({ ok: false, code: err.code, message: err.message }));
    }`;
  const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
  });
  assert.is(child.status, 0, `child failed: ${child.stderr}`);
  return JSON.parse(child.stdout.trim().split('\n').pop() ?? '{}');
}

// A pid that was running a moment ago and is not any more.
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', '']);
  assert.ok(child.pid !== undefined && child.pid > 0);
  return child.pid;
}

const bytes = (text: string) => new TextEncoder().encode(text);

// ---- behaviour, per backend ----

for (const kind of KINDS) {
  test(`${kind}: writeAt then readAt returns the bytes, short at the end`, () => {
    // Proves positional writes land where asked and reads stop at EOF.
    withTempDir((dir) => {
      const backend = open(kind, path.join(dir, 'log.qxl'));
      backend.writeAt(0, bytes('hello'));
      backend.writeAt(8, bytes('world'));
      const into = new Uint8Array(16).fill(0xff);
      assert.is(backend.readAt(0, into), 13);
      assert.equal([...into.subarray(0, 13)], [...bytes('hello\0\0\0world')]);
      assert.is(backend.readAt(100, new Uint8Array(4)), 0);
      const view = new Uint8Array(new ArrayBuffer(32), 8, 5);
      assert.is(backend.readAt(8, view), 5);
      assert.equal([...view], [...bytes('world')]);
      assert.is(backend.size(), 13);
      backend.close();
    });
  });

  test(`${kind}: writeDurable writes the bytes as they were at the call`, async () => {
    // Proves write+fdatasync lands, and that reusing the buffer right after
    // the call cannot change what is written.
    await withTempDir(async (dir) => {
      const file = path.join(dir, 'log.qxl');
      const backend = open(kind, file);
      const data = bytes('durable!');
      const written = backend.writeDurable(4, data);
      data.fill(0x21);
      await written;
      await backend.sync();
      assert.equal([...fs.readFileSync(file)], [...bytes('\0\0\0\0durable!')]);
      backend.close();
    });
  });

  test(`${kind}: preallocate grows with zeros and never shrinks`, async () => {
    // Proves preallocate sets the size to at least the length, reading zeros.
    await withTempDir(async (dir) => {
      const backend = open(kind, path.join(dir, 'log.qxl'));
      backend.writeAt(0, bytes('head'));
      await backend.preallocate(1 << 20);
      assert.is(backend.size(), 1 << 20);
      const tail = new Uint8Array(4096).fill(0xff);
      assert.is(backend.readAt((1 << 20) - 4096, tail), 4096);
      assert.ok(tail.every((byte) => byte === 0));
      const head = new Uint8Array(4);
      backend.readAt(0, head);
      assert.equal([...head], [...bytes('head')]);
      await backend.preallocate(16);
      assert.is(backend.size(), 1 << 20);
      backend.close();
    });
  });

  test(`${kind}: truncate sets the exact size`, async () => {
    // Proves truncate cuts, and extends with zeros, to exactly the length.
    await withTempDir(async (dir) => {
      const backend = open(kind, path.join(dir, 'log.qxl'));
      backend.writeAt(0, bytes('0123456789'));
      await backend.truncate(4);
      assert.is(backend.size(), 4);
      const into = new Uint8Array(10);
      assert.is(backend.readAt(0, into), 4);
      await backend.truncate(6);
      assert.is(backend.readAt(0, into), 6);
      assert.equal([...into.subarray(0, 6)], [...bytes('0123\0\0')]);
      backend.close();
    });
  });

  test(`${kind}: a second locked open in the same process is refused`, () => {
    // Proves the lock excludes even this process's second open (flock is per
    // open file description; the pure lock file names a live pid).
    withTempDir((dir) => {
      const file = path.join(dir, 'log.qxl');
      const first = open(kind, file);
      const err = errorOf(() => open(kind, file, { create: false }));
      expectCode(err, 'ELOCKED', LOCK_MESSAGE);
      assert.ok(err.message.includes(file), 'the message names the data file');
      first.close();
    });
  });

  test(`${kind}: another process is refused while locked and admitted after close`, () => {
    // Proves the lock works across processes and that close() releases it.
    withTempDir((dir) => {
      const file = path.join(dir, 'log.qxl');
      const first = open(kind, file);
      const refused = openInChild(kind, file);
      assert.is(refused.ok, false);
      assert.is(refused.code, 'ELOCKED');
      assert.match(refused.message ?? '', LOCK_MESSAGE);
      first.close();
      assert.equal(openInChild(kind, file), { ok: true });
    });
  });

  test(`${kind}: the lock is released after close in the same process`, () => {
    // Proves close() gives the lock back, and close is idempotent.
    withTempDir((dir) => {
      const file = path.join(dir, 'log.qxl');
      const first = open(kind, file);
      first.close();
      first.close();
      const second = open(kind, file, { create: false });
      second.close();
      if (kind === 'pure') assert.not.ok(fs.existsSync(`${file}.lock`), 'the lock file is removed');
    });
  });

  test(`${kind}: readOnly without lock reads while locked, and cannot write`, async () => {
    // Proves inspection tools can read a live log, and that readOnly is enforced.
    await withTempDir(async (dir) => {
      const file = path.join(dir, 'log.qxl');
      const writer = open(kind, file);
      writer.writeAt(0, bytes('live'));
      const reader = open(kind, file, { create: false, lock: false, readOnly: true });
      const into = new Uint8Array(4);
      assert.is(reader.readAt(0, into), 4);
      assert.equal([...into], [...bytes('live')]);
      expectCode(errorOf(() => reader.writeAt(0, into)), 'EBADF', /readOnly/);
      expectCode(await rejectionOf(reader.truncate(0)), 'EBADF');
      reader.close();
      writer.close();
    });
  });

  test(`${kind}: bad arguments are refused with clear errors`, async () => {
    // Proves no rounded, negative or wrongly typed argument reaches the disk.
    await withTempDir(async (dir) => {
      const file = path.join(dir, 'log.qxl');
      const backend = open(kind, file);
      const into = new Uint8Array(4);
      for (const offset of [-1, 0.5, Number.NaN, Infinity, 2 ** 53]) {
        expectCode(errorOf(() => backend.readAt(offset, into)), 'ERR_INVALID_ARG_VALUE', /offsetBytes/);
        expectCode(errorOf(() => backend.writeAt(offset, into)), 'ERR_INVALID_ARG_VALUE');
      }
      expectCode(errorOf(() => backend.readAt('0' as unknown as number, into)), 'ERR_INVALID_ARG_VALUE');
      expectCode(errorOf(() => backend.writeAt(0, [1, 2] as unknown as Uint8Array)), 'ERR_INVALID_ARG_TYPE');
      expectCode(errorOf(() => backend.writeAt(Number.MAX_SAFE_INTEGER - 1, into)), 'ERR_INVALID_ARG_VALUE', /2\^53/);
      expectCode(await rejectionOf(backend.writeDurable(-4, into)), 'ERR_INVALID_ARG_VALUE');
      expectCode(await rejectionOf(backend.preallocate(-1)), 'ERR_INVALID_ARG_VALUE', /lengthBytes/);
      expectCode(await rejectionOf(backend.truncate(1.5)), 'ERR_INVALID_ARG_VALUE');
      backend.close();
      const both = { create: true, readOnly: true };
      expectCode(errorOf(() => open(kind, file, both)), 'ERR_INVALID_ARG_VALUE', /exclude/);
      expectCode(errorOf(() => open(kind, path.join(dir, 'absent', 'log.qxl'), { lock: false })), 'ENOENT');
    });
  });

  test(`${kind}: every operation after close fails with ECLOSED`, async () => {
    // Proves a closed backend cannot touch a descriptor that may be reused.
    await withTempDir(async (dir) => {
      const backend = open(kind, path.join(dir, 'log.qxl'));
      backend.close();
      const into = new Uint8Array(1);
      expectCode(errorOf(() => backend.readAt(0, into)), 'ECLOSED', /closed/);
      expectCode(errorOf(() => backend.writeAt(0, into)), 'ECLOSED');
      expectCode(errorOf(() => backend.size()), 'ECLOSED');
      expectCode(await rejectionOf(backend.writeDurable(0, into)), 'ECLOSED');
      expectCode(await rejectionOf(backend.sync()), 'ECLOSED');
      expectCode(await rejectionOf(backend.preallocate(8)), 'ECLOSED');
      expectCode(await rejectionOf(backend.truncate(0)), 'ECLOSED');
    });
  });

  test(`${kind}: close during a writeDurable lets it finish, then unlocks`, async () => {
    // Proves close() never pulls the descriptor out from under a write in
    // flight, and that the lock is free once that write is done.
    await withTempDir(async (dir) => {
      const file = path.join(dir, 'log.qxl');
      const backend = open(kind, file);
      const written = backend.writeDurable(0, bytes('in flight'));
      backend.close();
      await written;
      assert.equal([...fs.readFileSync(file)], [...bytes('in flight')]);
      open(kind, file, { create: false }).close();
    });
  });

  test(`${kind}: a full disk is reported with code ENOSPC`, async () => {
    // Proves ENOSPC is recognisable by code, with the operation and path in
    // the message (/dev/full fails every write with ENOSPC on Linux).
    if (!fs.existsSync('/dev/full')) return;
    const backend = open(kind, '/dev/full', { create: false, lock: false });
    expectCode(errorOf(() => backend.writeAt(0, bytes('x'))), 'ENOSPC', /^pwrite \/dev\/full: /);
    expectCode(await rejectionOf(backend.writeDurable(0, bytes('x'))), 'ENOSPC', /\/dev\/full/);
    backend.close();
  });
}

// ---- pure backend only: the lock file ----

test('pure: a stale lock file of a dead pid is taken over, with a notice', () => {
  // Proves a crash does not lock the data directory forever, and says so.
  withTempDir((dir) => {
    const file = path.join(dir, 'log.qxl');
    const stalePid = deadPid();
    fs.writeFileSync(`${file}.lock`, `${stalePid}\n`);
    const notices: string[] = [];
    const backend = open('pure', file, {}, notices);
    assert.is(notices.length, 1);
    assert.match(notices[0], /stale lock file/);
    assert.ok(notices[0].includes(String(stalePid)));
    assert.is(fs.readFileSync(`${file}.lock`, 'utf8').trim(), String(process.pid));
    backend.close();
    assert.not.ok(fs.existsSync(`${file}.lock`));
  });
});

test('pure: a lock file naming this process\'s pid that it does not hold (an earlier life, after a reboot) is taken over', () => {
  // Proves a machine that lost power and numbered its processes anew does not stay locked out by its own pid,
  // while this process's own lock still keeps a second open out (the test above).
  withTempDir((dir) => {
    const file = path.join(dir, 'log.qxl');
    fs.writeFileSync(`${file}.lock`, `${process.pid}\n`);
    const notices: string[] = [];
    const backend = open('pure', file, {}, notices);
    assert.match(notices[0] ?? '', /earlier process/);
    expectCode(errorOf(() => open('pure', file, { create: false })), 'ELOCKED', LOCK_MESSAGE);
    backend.close();
    assert.not.ok(fs.existsSync(`${file}.lock`));
    assert.equal(fs.readdirSync(dir).filter((n) => n.endsWith('.tmp')), [], 'no temporary file is left');
  });
});

test('pure: a lock file without a pid counts as held', () => {
  // Proves an unidentifiable holder is never overridden (two writers is worse
  // than asking the operator to delete a file).
  withTempDir((dir) => {
    const file = path.join(dir, 'log.qxl');
    fs.writeFileSync(`${file}.lock`, 'not a pid');
    expectCode(errorOf(() => open('pure', file)), 'ELOCKED', /holds no pid/);
    assert.ok(fs.existsSync(`${file}.lock`));
  });
});

test('pure: a failed open gives its lock file back', () => {
  // Proves an open that fails after locking leaves no lock behind.
  withTempDir((dir) => {
    const file = path.join(dir, 'log.qxl');
    fs.mkdirSync(file);
    expectCode(errorOf(() => open('pure', file, { create: false })), 'EISDIR');
    assert.not.ok(fs.existsSync(`${file}.lock`));
  });
});

// ---- addon loader ----

test('loader: auto falls back to pure with a notice when the addon is missing', () => {
  // Proves a machine without the addon still runs, and is told why.
  withTempDir((dir) => {
    const notices: string[] = [];
    const opts = { ...WRITER, notice: (line: string) => notices.push(line), nativeSearchDirs: [dir] };
    const backend = openBlockBackend(path.join(dir, 'log.qxl'), opts);
    assert.is(backend.kind, 'pure');
    assert.is(notices.length, 1);
    assert.match(notices[0], /not found for .* \(looked in .*\); using the pure TypeScript backend/);
    backend.close();
    const native = () => openBlockBackend(path.join(dir, 'log.qxl'), { ...opts, backend: 'native' });
    expectCode(errorOf(native), 'ENOADDON', /native block backend was asked for/);
    assert.is(nativeAddonStatus([dir]).available, false);
  });
});

test('loader: an addon that fails to load falls back with the reason', () => {
  // Proves a corrupt or foreign .node file is reported, not fatal.
  withTempDir((dir) => {
    const missing = nativeAddonStatus([dir]).reason ?? '';
    const fileName = /(qenex-native\.\S+\.node)/.exec(missing)?.[1];
    assert.ok(fileName !== undefined, `no addon file name in: ${missing}`);
    const brokenDir = path.join(dir, 'broken');
    fs.mkdirSync(brokenDir);
    fs.writeFileSync(path.join(brokenDir, fileName), 'not an ELF file');
    const notices: string[] = [];
    const opts = { ...WRITER, notice: (line: string) => notices.push(line), nativeSearchDirs: [brokenDir] };
    const backend = openBlockBackend(path.join(dir, 'log.qxl'), opts);
    assert.is(backend.kind, 'pure');
    assert.match(notices[0], /failed to load/);
    backend.close();
  });
});

if (KINDS.includes('native')) {
  test('loader: the built addon is found next to the sources', () => {
    // Proves the default search finds host/native/qenex-native.<platform>.node
    // and that 'auto' picks it without a notice.
    const status = nativeAddonStatus();
    assert.ok(status.available, status.reason);
    assert.match(status.file ?? '', /host[\\/]native[\\/]qenex-native\.[a-z0-9-]+\.node$/);
    withTempDir((dir) => {
      const notices: string[] = [];
      const backend = openBlockBackend(path.join(dir, 'log.qxl'), { ...WRITER, notice: (line) => notices.push(line) });
      assert.is(backend.kind, 'native');
      assert.equal(notices, []);
      backend.close();
    });
  });
}

test.run();
