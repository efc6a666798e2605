// test/qemu/arm.qemu.ts: the same signed image on x86_64 (this machine's
// Node) and on aarch64 (Debian 12's arm64 Node.js 18 under
// qemu-aarch64-static) gives the same results. Run by `make test-qemu-arm`,
// which first fetches the sysroot (test/qemu/arm64-sysroot.sh), bundles the
// workload (test/qemu/bundle.mjs) and builds build/bank.qxi; it is not a
// *.test.ts file because it needs those downloads and takes a minute.
// One image, signed once (build/ modules, the bank manifest, fresh keys, as
// `make image` packs them), is booted on both platforms.
//
// What it proves:
// - the seeded ledger workload (test/qemu/workload.ts) gives the same reply
//   stream, byte for byte, the same command log file and the same state
//   hash on both architectures, with the pure TypeScript block backend;
// - each platform's command log replays, with the real CLI, to that state
//   hash on the other platform;
// - the real CLI on arm64 Node 18, where no native addon exists, says on
//   stderr that it uses the pure backend, serves the ledger over TCP, and
//   stops with a state hash that x86_64 reproduces from its log;
// - keygen and build (signing) work on Node 18 too.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FrameClient } from '../../host/client/frames.ts';
import { LedgerClient, account, transfer, CreateAccountResult, CreateTransferResult } from '../../host/client/ledger.ts';
import { ROOT, CLI, makeImage, directLedgerManifest, removeDir, parseEvents, event, Server, type TestImage } from '../support/helpers.ts';

const SYSROOT = join(ROOT, 'build/qemu/arm64-sysroot');
const ARM_NODE = join(SYSROOT, 'usr/bin/node');
const WORKLOAD = join(ROOT, 'build/qemu/workload.mjs');
// Emulated V8 is slow: hashing 190 MB of service memory takes seconds.
const ARM_TIMEOUT_MS = 300_000;

type Platform = 'x64' | 'arm64';

function nodeCommand(platform: Platform, args: string[]): [string, string[]] {
  return platform === 'x64' ? [process.execPath, args] : ['qemu-aarch64-static', ['-L', SYSROOT, ARM_NODE, ...args]];
}

function run(platform: Platform, args: string[]): { code: number | null; stdout: string; stderr: string } {
  const [cmd, argv] = nodeCommand(platform, args);
  const r = spawnSync(cmd, argv, { encoding: 'utf8', timeout: ARM_TIMEOUT_MS, maxBuffer: 64 << 20 });
  if (r.error) throw r.error;
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

interface WorkloadOut {
  state_hash: string;
  replies_sha256: string;
  log_sha256: string;
  entries: number;
  requests: number;
  results: Record<string, Record<string, number>>;
  notices: string[];
  node: string;
  arch: string;
}

let img: TestImage;
let dir: string;
let IMAGE: string;
let TRUST: string;
const outs = new Map<Platform, WorkloadOut>();

test.before(() => {
  for (const [path, what] of [[ARM_NODE, 'the arm64 sysroot (test/qemu/arm64-sysroot.sh)'], [WORKLOAD, 'the workload bundle (node test/qemu/bundle.mjs)']] as const) {
    if (!existsSync(path)) throw new Error(`${path} is missing: run make test-qemu-arm, which builds ${what}`);
  }
  // The workload drives the ledger directly (cross-architecture determinism, not authentication); the CLI test below goes through the gateway.
  img = makeImage('qemu-arm', directLedgerManifest());
  ({ dir, imagePath: IMAGE, pubPath: TRUST } = img);
});
test.after(async () => { await Server.killAll(); removeDir(img.dir); });

function workload(platform: Platform): WorkloadOut {
  const data = join(dir, `${platform}-data`);
  const r = run(platform, [WORKLOAD, '--image', IMAGE, '--trust', TRUST, '--data', data, '--replies', join(dir, `${platform}.replies`), '--backend', 'pure']);
  assert.is(r.code, 0, `${platform} workload failed: ${r.stderr}`);
  const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as WorkloadOut;
  outs.set(platform, out);
  return out;
}

test('the seeded workload gives the same replies, log and state hash on x86_64 and arm64', () => {
  const x = workload('x64');
  const a = workload('arm64');
  assert.is(x.arch, 'x64');
  assert.is(a.arch, 'arm64');
  assert.match(a.node, /^v18\./, 'arm64 runs Debian 12 Node.js 18');
  // The workload really exercised every kind of transfer, successes and failures.
  for (const kind of ['posted', 'pending', 'post', 'void', 'chain', 'balancing', 'closing', 'reopen']) {
    assert.ok((x.results[kind]?.created ?? 0) > 0, `no ${kind} transfer was created: ${JSON.stringify(x.results[kind])}`);
  }
  assert.ok((x.results.chain_fail?.linked_event_failed ?? 0) > 0, 'a failed linked chain');
  assert.ok((x.results.chain_open?.linked_event_chain_open ?? 0) > 0, 'a chain left open');
  const expired = ['post', 'void', 'resolve_late'].reduce((n, k) => n + (x.results[k]?.pending_transfer_expired ?? 0), 0);
  assert.ok(expired > 0, 'a pending transfer expired on the clock');
  assert.ok(Object.keys(x.results.fail ?? {}).length >= 4, `failures of several kinds: ${JSON.stringify(x.results.fail)}`);
  // Same everything: the replies byte for byte, the log file, the state.
  assert.ok(readFileSync(join(dir, 'x64.replies')).equals(readFileSync(join(dir, 'arm64.replies'))), 'reply streams differ');
  assert.is(a.replies_sha256, x.replies_sha256);
  assert.is(a.log_sha256, x.log_sha256);
  assert.is(a.entries, x.entries);
  assert.is(a.requests, x.requests);
  assert.is(a.state_hash, x.state_hash);
  assert.equal(a.results, x.results);
  console.log(`summary: arm64 (Node ${a.node}) and x86_64 (Node ${x.node}): ${x.requests} requests, ${x.entries} log entries, state ${x.state_hash.slice(0, 16)}…`);
});

test('each platform replays the other platform\'s log to the same state hash', () => {
  // The real CLI's read-only replay, crossed: arm64 reads x86_64's data directory and back.
  const x = outs.get('x64');
  assert.ok(x !== undefined, 'the workload test ran first');
  for (const [platform, from] of [['arm64', 'x64'], ['x64', 'arm64']] as const) {
    const r = run(platform, [CLI, 'replay', '--data', join(dir, `${from}-data`), '--trust', TRUST]);
    assert.is(r.code, 0, `${platform} replay of ${from}'s log: ${r.stderr}`);
    const replay = event(parseEvents(r.stdout), 'replay');
    assert.is(replay?.state_hash, x.state_hash, `${platform} replaying ${from}'s log`);
    assert.is(replay?.entries, x.entries);
  }
});

test('the CLI on arm64 Node 18 falls back to the pure backend with a notice, serves the authenticated binary protocol, and x86_64 replays its log', async () => {
  const data = join(dir, 'arm64-cli');
  // A teller key for ledger 1, put into the log by the x86_64 CLI: the arm64
  // system boots a data directory made on another architecture, and its
  // gateway must find the key the same way.
  const first = run('x64', [CLI, 'boot', IMAGE, '--data', data, '--trust', TRUST, '--once']);
  assert.is(first.code, 0, first.stderr);
  const made = run('x64', [CLI, 'keys', 'create', '--data', data, '--trust', TRUST, '--role', 'teller', '--ledger', '1']);
  assert.is(made.code, 0, made.stderr);
  const key = (event(parseEvents(made.stdout), 'key_created') as { key?: string } | undefined)?.key;
  assert.ok(typeof key === 'string', `keys create printed a key: ${made.stdout}`);
  const [cmd, argv] = nodeCommand('arm64', [CLI, 'boot', IMAGE, '--data', data, '--trust', TRUST, '--listen', '127.0.0.1:0']);
  const server = new Server(spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'] }));
  try {
    const ready = await server.waitFor('ready', ARM_TIMEOUT_MS);
    assert.match(server.stderr, /native block addon qenex-native\.linux-arm64-gnu\.node not found for linux-arm64-gnu .*using the pure TypeScript backend/);
    const m = /^(.*):(\d+)$/.exec(String(ready.listen));
    assert.ok(m !== null, `ready line has a listen address: ${JSON.stringify(ready)}`);
    const frames = await FrameClient.connect(m![1], Number(m![2]));
    await frames.authenticate(key!);
    const ledger = new LedgerClient(frames, 'gateway');
    const [a, b] = [0xa1n, 0xb2n];
    const created = await ledger.createAccounts([account({ id: a, ledger: 1, code: 1 }), account({ id: b, ledger: 1, code: 1 })]);
    assert.equal(created.map((r) => r.result), [CreateAccountResult.ok, CreateAccountResult.ok]);
    const moved = await ledger.createTransfers([transfer({ id: 0x7001n, debit_account_id: a, credit_account_id: b, amount: 1050n, ledger: 1, code: 1 })]);
    assert.equal(moved.map((r) => r.result), [CreateTransferResult.ok]);
    const found = await ledger.lookupAccounts([a, b]);
    assert.equal(found.map((x) => [x.debits_posted, x.credits_posted]), [[1050n, 0n], [0n, 1050n]]);
    frames.close();
  } catch (e) {
    server.child.kill('SIGKILL');
    throw e;
  }
  server.child.kill('SIGTERM');
  const stopped = await server.waitFor('stopped', ARM_TIMEOUT_MS);
  assert.is(await server.exited, 0, server.stderr);
  const r = run('x64', [CLI, 'replay', '--data', data, '--trust', TRUST]);
  assert.is(r.code, 0, r.stderr);
  assert.is(event(parseEvents(r.stdout), 'replay')?.state_hash, stopped.state_hash);
});

test('keygen, build and inspect work on arm64 Node 18', () => {
  // Node 18 has no globalThis.crypto; signing (ML-DSA's hedged randomness)
  // needs host/compat.ts. The image built there verifies here.
  const keys = join(dir, 'arm64-keys');
  const image = join(dir, 'arm64-built.qxi');
  let r = run('arm64', [CLI, 'keygen', '--out', keys]);
  assert.is(r.code, 0, r.stderr);
  r = run('arm64', [CLI, 'build', join(ROOT, 'images/bank'), '-o', image, '--key', join(keys, 'signing.key')]);
  assert.is(r.code, 0, r.stderr);
  r = run('x64', [CLI, 'inspect', image, '--trust', join(keys, 'signing.pub')]);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /verified\s+yes/);
});

test.run();
