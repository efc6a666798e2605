// host/cmd/new.ts: `qenex new service <name>`, scaffold a working service.
//
// Writes services/<name>/index.ts (a small wallet written with the SDK:
// checked u128 deposits and withdrawals, a log line, typed replies) and
// services/<name>/test/<name>.test.ts (uvu, runs the built module against
// the SDK's fake kernel), then prints the manifest entry to add, or adds it
// to a manifest with --manifest. `make build` builds every services/*/index.ts
// into build/services/<name>.wasm; `node test/run.mjs services/<name>` runs
// the test.

import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { SERVICE_NAME_PATTERN } from '../base/limits.ts';
import { validateManifest, ManifestError, type ServiceSpec } from '../manifest.ts';
import { CliError, EXIT_USAGE, parseArgs, processIo, type CommandIo } from './args.ts';

export const USAGE = `usage: qenex new service <name> [--root <dir>] [--manifest <manifest.json>]

Creates services/<name>/ under --root (default: the current directory):
  services/<name>/index.ts              the service (AssemblyScript, uses services/sdk)
  services/<name>/test/<name>.test.ts   a passing uvu test against the SDK's fake kernel
Prints the manifest entry for the service; with --manifest, adds it to that
manifest file (which must stay valid). An existing folder is never replaced.
Then: make build && node test/run.mjs services/<name>`;

export function manifestEntry(name: string): ServiceSpec {
  return { name, module: name, priority: 1, budget: 16, memory_pages_max: 16, caps: ['net', 'log', 'time'], fuel_per_message: 1_000_000, restarts_max: 3, restart_window_ms: 60_000 };
}

export async function main(argv: string[], io: CommandIo = processIo): Promise<number> {
  const args = parseArgs(argv, { values: ['root', 'manifest'], positionals: { min: 0, max: 2, names: ['kind', 'name'] } });
  if (args.help) {
    io.out(USAGE);
    return 0;
  }
  const [kind, name] = args.positionals;
  if (kind !== 'service') throw new CliError(`qenex new: only "service" can be created (qenex new service <name>)`, EXIT_USAGE);
  if (name === undefined) throw new CliError('qenex new service: missing <name>', EXIT_USAGE);
  if (!SERVICE_NAME_PATTERN.test(name) || name === 'sdk') {
    throw new CliError(`qenex new service: ${JSON.stringify(name)} is not a valid service name (${SERVICE_NAME_PATTERN.source}, not "sdk")`, EXIT_USAGE);
  }
  const root = resolve(args.values.get('root') ?? '.');
  if (!existsSync(join(root, 'services/sdk/qenex.ts'))) throw new CliError(`${root}: no services/sdk/qenex.ts here; run from the repository root or pass --root`);
  const dir = join(root, 'services', name);
  if (existsSync(dir)) throw new CliError(`${dir} already exists; choose another name`);
  const manifestPath = args.values.get('manifest');
  const entry = manifestEntry(name);
  let manifestText: string | null = null;
  if (manifestPath !== undefined) manifestText = withService(manifestPath, entry);
  mkdirSync(join(dir, 'test'), { recursive: true });
  writeFileSync(join(dir, 'index.ts'), serviceSource(name));
  writeFileSync(join(dir, 'test', `${name}.test.ts`), testSource(name));
  if (manifestPath !== undefined && manifestText !== null) writeFileSync(manifestPath, manifestText);
  io.out(`created ${join(dir, 'index.ts')} and ${join(dir, 'test', `${name}.test.ts`)}`);
  io.out(manifestPath === undefined ? `manifest entry (add it to "services"):\n  ${JSON.stringify(entry)}` : `added service ${name} to ${manifestPath}`);
  io.out(`next: make build && node test/run.mjs services/${name}`);
  return 0;
}

// The manifest text with `entry` appended to its services, validated.
function withService(path: string, entry: ServiceSpec): string {
  let json: { services?: unknown[] };
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new CliError(`${path}: cannot read the manifest: ${(e as Error).message}`);
  }
  if (!Array.isArray(json.services)) throw new CliError(`${path}: manifest has no "services" array`);
  json.services.push(entry);
  try {
    validateManifest(json);
  } catch (e) {
    if (e instanceof ManifestError) throw new CliError(`${path}: the manifest would not be valid with ${entry.name}: ${e.message}`);
    throw e;
  }
  return `${JSON.stringify(json, null, 2)}\n`;
}

function serviceSource(name: string): string {
  return `// services/${name}: a wallet, scaffolded by \`qenex new service ${name}\`.
// Keeps one balance (u128 minor units) with checked arithmetic.
//
// Request (32 bytes): u8 op | u8[15] zero | u128 amount (little-endian)
//   op 1 deposit, op 2 withdraw, op 3 balance (amount zero)
// Reply (32 bytes): u128 balance | u64 operations | u64 logical time of the last change
// A deposit that would overflow u128 or a withdrawal larger than the
// balance is refused with an error reply and changes nothing.

import {
  KIND_INIT, KIND_REQUEST, Reader, Writer, replyOk, replyError, nowNs, logLine,
  u128Add, u128Sub, u128IsZero,
} from "../sdk";

const OP_DEPOSIT: u8 = 1;
const OP_WITHDRAW: u8 = 2;
const OP_BALANCE: u8 = 3;
const INBOX_BYTES: u32 = 4096;
const inbox: usize = memory.data(<i32>INBOX_BYTES, 16);
const out: usize = memory.data(64, 16);
const amount: usize = memory.data(16, 16);
const balance: usize = memory.data(16, 16);

let operations: u64 = 0;
let changedNs: u64 = 0;
const rd = new Reader();
const wr = new Writer();

export function qx_inbox(): usize { return inbox; }
export function qx_inbox_bytes(): u32 { return INBOX_BYTES; }
export function qx_init(len: u32): void {
  logLine().text("${name} ready").send();
}

function answer(token: u32): void {
  wr.reset(out, 64);
  wr.u128(balance);
  wr.u64(operations);
  wr.u64(changedNs);
  replyOk(token, out, wr.pos);
}

export function qx_handle(kind: u32, sender: u32, token: u32, len: u32): void {
  if (kind != KIND_REQUEST) return;
  rd.reset(inbox, len);
  const op = rd.u8();
  const reserved = rd.zeros(15);
  rd.u128(amount);
  if (!rd.ok || !rd.atEnd()) { replyError(token, "${name}: request must be 32 bytes"); return; }
  if (!reserved) { replyError(token, "${name}: reserved bytes must be zero"); return; }
  if (op == OP_BALANCE) { answer(token); return; }
  if (op != OP_DEPOSIT && op != OP_WITHDRAW) { replyError(token, "${name}: unknown operation"); return; }
  if (u128IsZero(amount)) { replyError(token, "${name}: amount must be positive"); return; }
  const done = op == OP_DEPOSIT ? u128Add(balance, balance, amount) : u128Sub(balance, balance, amount);
  if (!done) { replyError(token, op == OP_DEPOSIT ? "${name}: balance would overflow u128" : "${name}: insufficient balance"); return; }
  operations++;
  changedNs = nowNs();
  logLine().text(op == OP_DEPOSIT ? "deposit " : "withdraw ").u128(amount).text(" balance ").u128(balance).send();
  answer(token);
}
`;
}

function testSource(name: string): string {
  return `// services/${name}/test: the ${name} service against the SDK's fake kernel
// (services/sdk/harness.ts). Builds build/services/${name}.wasm first when it
// is missing or older than its sources (the Makefile's command).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ServiceHarness } from '../../sdk/harness.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const WASM = join(ROOT, 'build/services/${name}.wasm');

function build(): void {
  const sources = ['services/${name}/index.ts', ...readdirSync(join(ROOT, 'services/sdk')).map((f) => 'services/sdk/' + f)];
  const built = existsSync(WASM) ? statSync(WASM).mtimeMs : 0;
  if (sources.every((s) => statSync(join(ROOT, s)).mtimeMs <= built)) return;
  mkdirSync(dirname(WASM), { recursive: true });
  const partial = WASM + '.' + process.pid + '.partial';
  const args = ['services/${name}/index.ts', '--config', 'asconfig.json', '--target', 'release', '--use', 'abort=', '-o', partial];
  const r = spawnSync(join(ROOT, 'node_modules/.bin/asc'), args, { cwd: ROOT, stdio: 'inherit' });
  if (r.status !== 0) throw new Error('asc failed for services/${name}');
  renameSync(partial, WASM);
}

function request(op: number, amount: bigint): Buffer {
  const b = Buffer.alloc(32);
  b.writeUInt8(op, 0);
  b.writeBigUInt64LE(amount & 0xffffffffffffffffn, 16);
  b.writeBigUInt64LE(amount >> 64n, 24);
  return b;
}

const balanceOf = (p: Buffer): bigint => p.readBigUInt64LE(0) | (p.readBigUInt64LE(8) << 64n);

let svc: ServiceHarness;

test.before(async () => {
  build();
  svc = await ServiceHarness.load(WASM, { name: '${name}', caps: ['net', 'log', 'time'], memoryPagesMax: 16 });
  svc.init({});
});

test('deposits and withdrawals change the balance with checked u128 arithmetic', () => {
  // Proves the happy path: 100 in, 30 out leaves 70, two operations, the
  // logical time of the change, and a log line per change.
  assert.is(svc.request(request(1, 100n))!.status, 0);
  const r = svc.request(request(2, 30n))!;
  assert.is(r.status, 0);
  assert.is(balanceOf(r.payload), 70n);
  assert.is(r.payload.readBigUInt64LE(16), 2n);
  assert.is(r.payload.readBigUInt64LE(24), svc.timeNs);
  assert.ok(svc.logs.includes('withdraw 30 balance 70'), svc.logs.join(' | '));
});

test('an overdraft or a u128 overflow is refused and changes nothing', () => {
  // Proves the checks: withdrawing more than the balance and depositing
  // past 2^128 - 1 are error replies, and the balance stays 70.
  const over = svc.request(request(2, 71n))!;
  assert.is(over.status, 1);
  assert.match(over.payload.toString(), /insufficient/);
  const overflow = svc.request(request(1, (1n << 128n) - 1n))!;
  assert.is(overflow.status, 1);
  assert.match(overflow.payload.toString(), /overflow/);
  assert.is(balanceOf(svc.request(request(3, 0n))!.payload), 70n);
});

test('a malformed request gets an error reply', () => {
  assert.is(svc.request(Buffer.alloc(5))!.status, 1);
  const reserved = request(1, 1n);
  reserved[3] = 1;
  assert.match(svc.request(reserved)!.payload.toString(), /reserved/);
});

test.run();
`;
}
