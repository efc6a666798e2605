// test/unit/manifest.test.ts: the manifest validator and the host limits.
//
// Run: node --import tsx test/unit/manifest.test.ts

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ManifestError, loadManifestFile, validateManifest } from '../../host/manifest.ts';
import { checkLimits, MESSAGE_POOL_BYTES_MAX, IMAGE_SERVICES_MAX } from '../../host/base/limits.ts';
import { FRAME_BODY_BYTES_MAX } from '../../hal/abi.ts';
import * as CP from '../../services/compliance/protocol.ts';

const EXAMPLE = {
  name: 'bank', version: 1,
  kernel: {
    message_slots: 256, message_bytes_max: 65536, queue_depth: 1024, timers_max: 1024,
    requests_in_flight_max: 1024, batch_bytes_max: 4194304, log_preallocate_bytes: 67108864,
  },
  services: [
    { name: 'echo', module: 'echo', priority: 1, budget: 16, memory_pages_max: 16, caps: ['net', 'log'] },
    { name: 'counter', module: 'counter', priority: 0, budget: 32, memory_pages_max: 16, caps: ['net', 'log', 'time'] },
  ],
};

// Edits write invalid shapes on purpose, so they see the manifest untyped.
type Loose = any;

// A deep copy of the example with `edit` applied.
function variant(edit: (m: Loose) => void): unknown {
  const m = structuredClone(EXAMPLE);
  edit(m);
  return m;
}

function refused(json: unknown): string {
  try {
    validateManifest(json);
  } catch (e) {
    assert.instance(e, ManifestError, String(e));
    return (e as Error).message;
  }
  throw new assert.Assertion({ message: `accepted: ${JSON.stringify(json)}`, operator: 'throws', expects: 'an error', actual: 'none' });
}

function expectRefused(edit: (m: Loose) => void, message: string): void {
  assert.is(refused(variant(edit)), message);
}

test('the example manifest is valid and canonical', () => {
  // Proves the brief's example passes and validation returns an equal, canonically ordered object.
  const m = validateManifest(structuredClone(EXAMPLE));
  assert.equal(m, EXAMPLE);
  const reordered = { services: EXAMPLE.services, kernel: EXAMPLE.kernel, version: 1, name: 'bank' };
  assert.is(JSON.stringify(validateManifest(reordered)), JSON.stringify(EXAMPLE));
});

test('images/bank/manifest.json is valid: the ledger, payments, compliance, trading and FIX behind the gateway, and nothing that takes unauthenticated frames', () => {
  // Proves the shipped bank image manifest loads, runs the ledger first (priority 0)
  // with a full 8189-event batch within message_bytes_max, and names asset scales.
  const path = fileURLToPath(new URL('../../images/bank/manifest.json', import.meta.url));
  const m = loadManifestFile(path);
  assert.equal(m.services.map((s) => s.name), ['ledger', 'payments', 'gateway', 'compliance', 'trading', 'fix']);
  assert.is(m.services[0].priority, 0);
  // The ledger takes no frames from the network: every request reaches it
  // through the gateway, which checks the key (binary protocol and HTTP alike).
  assert.not.ok(m.services[0].caps.includes('net'), 'the ledger must not have the net capability');
  // Only the admission authority takes frames: nothing unauthenticated reaches the log.
  assert.equal(m.services.filter((s) => s.caps.includes('net')).map((s) => s.name), ['gateway']);
  const gateway = m.services.find((s) => s.name === 'gateway')!;
  assert.ok(gateway.caps.includes('admit'), 'the gateway is the admission authority');
  assert.ok(gateway.caps.includes('send:ledger') && gateway.caps.includes('send:payments') && gateway.caps.includes('send:compliance')
    && gateway.caps.includes('send:trading') && gateway.caps.includes('send:fix'));
  // FIX sessions reach the fix service through the gateway (ROUTE_FIX), and it reaches the books through the trading service.
  assert.equal(m.services.find((s) => s.name === 'fix')!.caps, ['log', 'time', 'timer', 'emit', 'send:trading']);
  // The compliance service sends to no one (it decides on its lists, rules and model alone) and streams its alerts.
  const compliance = m.services.find((s) => s.name === 'compliance')!;
  assert.equal(compliance.caps, ['log', 'time', 'emit']);
  assert.ok(m.kernel.message_bytes_max >= CP.HEADER_BYTES + CP.CHECKS_PER_REQUEST * CP.CHECK_BYTES, 'a full check request fits one message');
  assert.ok(m.services[1].caps.includes('send:compliance'), 'payments are checked before money moves');
  assert.ok(m.kernel.message_bytes_max >= CP.HEADER_BYTES + CP.NAMES_PER_REQUEST * CP.NAME_BYTES, 'a full list_names request fits one message');
  assert.ok(m.services[1].caps.includes('send:ledger') && !m.services[1].caps.includes('net'), 'payments reach the ledger, and take no frames');
  assert.ok(m.kernel.message_bytes_max >= 8 + 8189 * 128, 'a full ledger batch fits one message');
  assert.equal(m.gateway?.ledgers.map((l) => [l.ledger, l.asset_scale]), [[1, 2], [2, 0], [3, 3]]);
});

test('capability admit: one service at most, and it takes frames', () => {
  // Proves the admission authority is unambiguous: the kernel admits frames for exactly one service.
  expectRefused((m) => { m.services[0].caps = ['net', 'admit']; m.services[1].caps = ['net', 'admit']; },
    'manifest: services[1].caps: capability "admit" is given to more than one service');
  expectRefused((m) => { m.services[0].caps = ['admit']; }, 'manifest: services[0].caps: capability "admit" needs "net"');
});

test('capability read: never with admit', () => {
  // Proves a read (no log entry) never skips the admission the authority's frames get first.
  expectRefused((m) => { m.services[1].caps = ['net', 'admit', 'read']; }, 'manifest: services[1].caps: capability "read" cannot go with "admit"');
  const ok = validateManifest(variant((m) => { m.services[0].caps = ['net', 'read']; }));
  assert.equal(ok.services[0].caps, ['net', 'read']);
});

test('gateway ledgers: asset scales, currencies, duplicates', () => {
  // Proves the optional gateway section: valid scales pass; a scale over 38
  // (10^39 > 2^128), a duplicate ledger, a bad currency code, unknown fields
  // are refused with their path.
  const ok = validateManifest(variant((m) => { m.gateway = { ledgers: [{ ledger: 1, asset_scale: 2, currency: 'USD' }, { ledger: 2, asset_scale: 0 }] }; }));
  assert.equal(ok.gateway, { ledgers: [{ ledger: 1, asset_scale: 2, currency: 'USD' }, { ledger: 2, asset_scale: 0 }] });
  expectRefused((m) => { m.gateway = { ledgers: [{ ledger: 1, asset_scale: 39 }] }; }, 'manifest: gateway.ledgers[0].asset_scale: 39 is out of range 0..38');
  expectRefused((m) => { m.gateway = { ledgers: [{ ledger: 1, asset_scale: 2 }, { ledger: 1, asset_scale: 3 }] }; }, 'manifest: gateway.ledgers[1].ledger: duplicate ledger 1');
  expectRefused((m) => { m.gateway = { ledgers: [{ ledger: 1, asset_scale: 2, currency: 'usd' }] }; }, 'manifest: gateway.ledgers[0].currency: must be a three-letter ISO 4217 code');
  expectRefused((m) => { m.gateway = { ledgers: [{ ledger: 0, asset_scale: 2 }] }; }, 'manifest: gateway.ledgers[0].ledger: 0 is out of range 1..4294967295');
  expectRefused((m) => { m.gateway = { ledgers: [], extra: true }; }, 'manifest: gateway.extra: unknown field (allowed: ledgers, events)');
  expectRefused((m) => { m.gateway = { ledgers: [], events: { ring_events_max: 0 } }; }, 'manifest: gateway.events.ring_events_max: 0 is out of range 1..16777216');
  expectRefused((m) => { m.gateway = { ledgers: [], events: { ring: 5 } } as never; }, 'manifest: gateway.events.ring: unknown field (allowed: ring_events_max, subscribers_max, subscribers_per_key_max, subscriber_buffer_bytes_max, heartbeat_ms)');
});

test('the limits are consistent', () => {
  // Proves the relations between limits hold (they are also asserted at import).
  checkLimits();
});

test('top level: object, unknown fields, missing fields, name and version', () => {
  // Proves the root shape rules, each with its path.
  assert.is(refused(null), 'manifest: must be an object, found null');
  assert.is(refused([]), 'manifest: must be an object, found an array');
  assert.is(refused('bank'), 'manifest: must be an object, found the string "bank"');
  expectRefused((m) => { m.extra = 1; }, 'manifest: extra: unknown field (allowed: name, version, kernel, services, description, gateway, audit, storage, fix)');
  expectRefused((m) => { delete m.kernel; }, 'manifest: kernel: missing');
  assert.match(refused(JSON.parse('{"__proto__": {}, "name": "bank"}')), 'manifest: __proto__: unknown field');
  expectRefused((m) => { m.name = 'Bank'; }, 'manifest: name: "Bank" is not a valid name (^[a-z][a-z0-9_-]{0,31}$)');
  expectRefused((m) => { m.name = 7; }, 'manifest: name: must be a string, found the number 7');
  expectRefused((m) => { m.version = 0; }, 'manifest: version: 0 is out of range 1..4294967295');
  expectRefused((m) => { m.version = '1'; }, 'manifest: version: must be an integer, found the string "1"');
  expectRefused((m) => { m.version = 1.5; }, 'manifest: version: must be an integer, found 1.5');
  expectRefused((m) => { m.version = Infinity; }, 'manifest: version: must be an integer, found Infinity');
});

test('kernel: fields, types and ranges', () => {
  // Proves each kernel number is an integer within host/base/limits.ts, with its path.
  expectRefused((m) => { m.kernel = []; }, 'manifest: kernel: must be an object, found an array');
  expectRefused((m) => { m.kernel.slots = 1; }, `manifest: kernel.slots: unknown field (allowed: message_slots, message_bytes_max, queue_depth, timers_max, requests_in_flight_max, batch_bytes_max, log_preallocate_bytes, snapshot_interval_entries)`);
  expectRefused((m) => { m.kernel.snapshot_interval_entries = -1; }, 'manifest: kernel.snapshot_interval_entries: -1 is out of range 0..1099511627776');
  expectRefused((m) => { m.kernel.snapshot_interval_entries = 2.5; }, 'manifest: kernel.snapshot_interval_entries: must be an integer, found 2.5');
  expectRefused((m) => { delete m.kernel.queue_depth; }, 'manifest: kernel.queue_depth: missing');
  expectRefused((m) => { m.kernel.message_slots = 0; }, 'manifest: kernel.message_slots: 0 is out of range 1..65536');
  expectRefused((m) => { m.kernel.message_slots = 65537; }, 'manifest: kernel.message_slots: 65537 is out of range 1..65536');
  expectRefused((m) => { m.kernel.message_bytes_max = 255; }, `manifest: kernel.message_bytes_max: 255 is out of range 256..${FRAME_BODY_BYTES_MAX}`);
  expectRefused((m) => { m.kernel.message_bytes_max = FRAME_BODY_BYTES_MAX + 1; }, `manifest: kernel.message_bytes_max: 1048577 is out of range 256..1048576`);
  expectRefused((m) => { m.kernel.queue_depth = 0; }, 'manifest: kernel.queue_depth: 0 is out of range 1..65536');
  expectRefused((m) => { m.kernel.timers_max = -1; }, 'manifest: kernel.timers_max: -1 is out of range 0..65536');
  expectRefused((m) => { m.kernel.requests_in_flight_max = 0; }, 'manifest: kernel.requests_in_flight_max: 0 is out of range 1..65535');
  expectRefused((m) => { m.kernel.batch_bytes_max = 65536 + 4095; }, 'manifest: kernel.batch_bytes_max: 69631 is below message_bytes_max + 4096 (69632)');
  expectRefused((m) => { m.kernel.batch_bytes_max = 64 * 1024 * 1024 + 1; }, 'manifest: kernel.batch_bytes_max: 67108865 is out of range 65536..67108864');
  expectRefused(
    (m) => { m.kernel.message_bytes_max = 256; m.kernel.batch_bytes_max = 65535; },
    'manifest: kernel.batch_bytes_max: 65535 is out of range 65536..67108864',
  );
  expectRefused((m) => { m.kernel.requests_in_flight_max = 65536; }, 'manifest: kernel.requests_in_flight_max: 65536 is out of range 1..65535');
  expectRefused((m) => { m.kernel.log_preallocate_bytes = -1; }, 'manifest: kernel.log_preallocate_bytes: -1 is out of range 0..1099511627776');
  expectRefused((m) => { m.kernel.log_preallocate_bytes = null; }, 'manifest: kernel.log_preallocate_bytes: must be an integer, found null');
  expectRefused(
    (m) => { m.kernel.message_slots = 2048; m.kernel.message_bytes_max = 1048576; m.kernel.batch_bytes_max = 1048576 + 4096; },
    `manifest: kernel.message_slots: message_slots * message_bytes_max is 2147483648 bytes, over the message pool limit ${MESSAGE_POOL_BYTES_MAX}`,
  );
  const edge = variant((m) => {
    m.kernel.batch_bytes_max = 65536 + 4096;
    m.kernel.timers_max = 0;
    m.kernel.log_preallocate_bytes = 0;
  });
  assert.is(validateManifest(edge).kernel.batch_bytes_max, 69632);
});

test('services: count, shape, names, uniqueness and ranges', () => {
  // Proves the per-service rules, each with the index of the offending service.
  expectRefused((m) => { m.services = []; }, 'manifest: services: has 0 entries, allowed 1..32');
  const many = Array.from({ length: IMAGE_SERVICES_MAX + 1 }, (_, i) => ({ ...EXAMPLE.services[0], name: `s${i}` }));
  expectRefused((m) => { m.services = many; }, 'manifest: services: has 33 entries, allowed 1..32');
  expectRefused((m) => { m.services = {}; }, 'manifest: services: must be an array, found an object');
  expectRefused((m) => { m.services[1] = 'counter'; }, 'manifest: services[1]: must be an object, found the string "counter"');
  expectRefused((m) => { m.services[0].prio = 1; }, 'manifest: services[0].prio: unknown field (allowed: name, module, priority, budget, memory_pages_max, caps, fuel_per_message, fuel_init, restarts_max, restart_window_ms, hsm_keys, config)');
  expectRefused((m) => { delete m.services[1].caps; }, 'manifest: services[1].caps: missing');
  expectRefused((m) => { m.services[1].name = 'echo'; }, 'manifest: services[1].name: duplicate service name "echo"');
  expectRefused((m) => { m.services[0].name = '9lives'; }, 'manifest: services[0].name: "9lives" is not a valid name (^[a-z][a-z0-9_-]{0,31}$)');
  expectRefused((m) => { m.services[0].name = 'a'.repeat(33); }, `manifest: services[0].name: "${'a'.repeat(33)}" is not a valid name (^[a-z][a-z0-9_-]{0,31}$)`);
  expectRefused((m) => { m.services[0].module = '../evil'; }, 'manifest: services[0].module: "../evil" is not a valid name (^[a-z][a-z0-9_-]{0,31}$)');
  expectRefused((m) => { m.services[0].priority = 8; }, 'manifest: services[0].priority: 8 is out of range 0..7');
  expectRefused((m) => { m.services[0].priority = -1; }, 'manifest: services[0].priority: -1 is out of range 0..7');
  expectRefused((m) => { m.services[1].budget = 0; }, 'manifest: services[1].budget: 0 is out of range 1..4096');
  expectRefused((m) => { m.services[1].budget = 4097; }, 'manifest: services[1].budget: 4097 is out of range 1..4096');
  expectRefused((m) => { m.services[0].memory_pages_max = 0; }, 'manifest: services[0].memory_pages_max: 0 is out of range 1..65536');
  expectRefused((m) => { m.services[0].memory_pages_max = 65537; }, 'manifest: services[0].memory_pages_max: 65537 is out of range 1..65536');
  const longest = variant((m) => { m.services[0].name = 'a'.repeat(32); m.services[1].module = 'echo'; });
  assert.is(validateManifest(longest).services[0].name.length, 32);
});

test('capabilities: known names, no duplicates, send peers exist and are not self', () => {
  // Proves every capability rule, with the path of the offending capability.
  expectRefused((m) => { m.services[1].caps.push('sned:echo'); }, 'manifest: services[1].caps[3]: unknown capability "sned:echo"');
  expectRefused((m) => { m.services[1].caps[2] = 'sned:echo'; }, 'manifest: services[1].caps[2]: unknown capability "sned:echo"');
  expectRefused((m) => { m.services[0].caps.push('send:'); }, 'manifest: services[0].caps[2]: unknown capability "send:"');
  expectRefused((m) => { m.services[0].caps.push(7); }, 'manifest: services[0].caps[2]: must be a string, found the number 7');
  expectRefused((m) => { m.services[0].caps = 'net'; }, 'manifest: services[0].caps: must be an array, found the string "net"');
  expectRefused((m) => { m.services[0].caps.push('log'); }, 'manifest: services[0].caps[2]: duplicate capability "log"');
  expectRefused((m) => { m.services[0].caps.push('send:echo'); }, 'manifest: services[0].caps[2]: "send:echo": a service cannot send to itself');
  expectRefused((m) => { m.services[0].caps.push('send:ledger'); }, 'manifest: services[0].caps[2]: "send:ledger": no service named "ledger"');
  expectRefused(
    (m) => { m.kernel.timers_max = 0; m.services[1].caps.push('timer'); },
    'manifest: services[1].caps[3]: capability "timer" needs kernel.timers_max > 0',
  );
  const all = variant((m) => { m.services[0].caps = ['net', 'log', 'time', 'random', 'timer', 'send:counter']; m.services[1].caps = []; });
  assert.equal(validateManifest(all).services[0].caps, ['net', 'log', 'time', 'random', 'timer', 'send:counter']);
});

test('optional description and per-service config, as the kernel reads them', () => {
  // Proves the two optional fields are accepted, copied in canonical order, and strictly checked.
  const m = validateManifest(variant((x) => {
    x.services[0].config = { accounts_max: 100, name: 'x', nested: { list: [1, 'two', null, true] } };
    x.description = 'Bank demo image';
  }));
  assert.equal(Object.keys(m), ['name', 'version', 'description', 'kernel', 'services']);
  assert.equal(Object.keys(m.services[0]), ['name', 'module', 'priority', 'budget', 'memory_pages_max', 'caps', 'config']);
  assert.equal(m.services[0].config, { accounts_max: 100, name: 'x', nested: { list: [1, 'two', null, true] } });
  assert.not.ok(Object.hasOwn(m.services[1], 'config'));
  expectRefused((x) => { x.services[0].config = [1]; }, 'manifest: services[0].config: must be an object, found an array');
  expectRefused((x) => { x.services[0].config = { rate: 0.5 }; }, 'manifest: services[0].config.rate: 0.5 is not a safe integer (write decimals and large values as strings)');
  expectRefused((x) => { x.services[0].config = { big: 2 ** 64 }; }, 'manifest: services[0].config.big: 18446744073709552000 is not a safe integer (write decimals and large values as strings)');
  expectRefused((x) => { x.services[0].config = { s: '\ud800' }; }, 'manifest: services[0].config.s: string is not well-formed Unicode (lone surrogate)');
  expectRefused((x) => { x.services[0].config = { f: () => 1 }; }, 'manifest: services[0].config.f: must be JSON, found a function');
  let deep: Record<string, unknown> = {};
  const root = deep;
  for (let i = 0; i < 40; i++) { deep.d = {}; deep = deep.d as Record<string, unknown>; }
  assert.match(refused(variant((x) => { x.services[0].config = root; })), 'nested deeper than 32 levels');
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  assert.match(refused(variant((x) => { x.services[0].config = cyclic; })), 'nested deeper than 32 levels');
  const proto = JSON.parse('{"__proto__": {"polluted": 1}}');
  const kept = validateManifest(variant((x) => { x.services[0].config = proto; }));
  assert.is(JSON.stringify(kept.services[0].config), '{"__proto__":{"polluted":1}}');
  assert.is(({} as Record<string, unknown>).polluted, undefined);
  expectRefused((x) => { x.description = 7; }, 'manifest: description: must be a string, found the number 7');
  expectRefused((x) => { x.description = 'a\nb'; }, 'manifest: description: must be one line without control characters');
  expectRefused((x) => { x.description = 'x'.repeat(1025); }, 'manifest: description: 1025 bytes, over 1024');
  expectRefused((x) => { x.services[0].configs = {}; }, 'manifest: services[0].configs: unknown field (allowed: name, module, priority, budget, memory_pages_max, caps, fuel_per_message, fuel_init, restarts_max, restart_window_ms, hsm_keys, config)');
});

test('optional fuel and restart-policy fields are kept when given and range-checked', () => {
  // Proves the supervision fields (kernel/supervise.ts) are optional, copied
  // in canonical order before config, and refused out of range.
  const m = validateManifest(variant((x) => {
    Object.assign(x.services[0], { fuel_per_message: 1000, fuel_init: 5000, restarts_max: 0, restart_window_ms: 1 });
  }));
  assert.equal(Object.keys(m.services[0]), ['name', 'module', 'priority', 'budget', 'memory_pages_max', 'caps', 'fuel_per_message', 'fuel_init', 'restarts_max', 'restart_window_ms']);
  assert.not.ok(Object.hasOwn(m.services[1], 'fuel_per_message'));
  expectRefused((x) => { x.services[0].fuel_per_message = 0; }, 'manifest: services[0].fuel_per_message: 0 is out of range 1..1125899906842624');
  expectRefused((x) => { x.services[0].restarts_max = 1001; }, 'manifest: services[0].restarts_max: 1001 is out of range 0..1000');
  expectRefused((x) => { x.services[0].restart_window_ms = 1.5; }, 'manifest: services[0].restart_window_ms: must be an integer, found 1.5');
});

test('validation returns a copy, never the input', () => {
  // Proves later changes to the parsed JSON cannot change a validated manifest.
  const input = structuredClone(EXAMPLE);
  const m = validateManifest(input);
  input.services[0].caps.push('random');
  input.kernel.queue_depth = 1;
  assert.equal(m.services[0].caps, ['net', 'log']);
  assert.is(m.kernel.queue_depth, 1024);
});

test('loadManifestFile names the file in every error', () => {
  // Proves unreadable, non-JSON and invalid manifest files are reported with their path.
  const dir = mkdtempSync(join(tmpdir(), 'qenex-manifest-'));
  try {
    const path = join(dir, 'manifest.json');
    assert.throws(() => loadManifestFile(path), (e: Error) => e instanceof ManifestError && e.message.startsWith(`${path}: cannot read manifest`));
    writeFileSync(path, '{"name": "bank",');
    assert.throws(() => loadManifestFile(path), (e: Error) => e.message.startsWith(`${path}: manifest is not valid JSON`));
    writeFileSync(path, JSON.stringify(variant((m) => { m.services[0].priority = 9; })));
    assert.throws(() => loadManifestFile(path), (e: Error) => e.message === `${path}: manifest: services[0].priority: 9 is out of range 0..7`);
    writeFileSync(path, ' '.repeat(1024 * 1024 + 1));
    assert.throws(() => loadManifestFile(path), (e: Error) => /over MANIFEST_BYTES_MAX/.test(e.message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
