// fuzz/targets/ledger.ts: the ledger service's binary protocol
// (services/ledger, run by the fake kernel of test/ledger/harness.ts): the
// payload of every `ledger` frame a client sends. An input is a sequence
// of requests, each a u16 little-endian length and that many bytes, sent
// in order to a fresh ledger of small capacity. The oracle, after every
// request: the service did not trap and answered exactly once (status 0
// with a body of whole results or records, or an error status with a
// message), and the money invariants (qx_check_invariants) hold, again
// after due timers fire. Every request is also made as a read (no log
// entry, services/ledger/assembly/reads.ts) right after: a lookup or query
// the ledger answered must be answered the same, byte for byte; anything
// else must be refused (a scope on a lookup or query, which the gateway's
// reads carry, is taken or refused alike on both paths); and the read
// changes no memory (checked when the
// corpus is replayed, in `make test`, for the last request of each input:
// the fuzz build keeps its coverage counters in the same memory, and a full
// compare per read would make the target several times slower).

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ledger, ROOT } from '../../test/ledger/harness.ts';
import { HEADER_BYTES, RECORD_BYTES, RESULT_BYTES, Operation } from '../../host/client/ledger.ts';
import { wasmCoverage } from '../cov.ts';
import { expect, FUZZ_BUILD, type FuzzTarget } from '../target.ts';

export const CAPACITY = { accounts_max: 64, transfers_max: 256, pending_max: 64, history_max: 256 };

// The same request as a read, right after the logged one answered it.
function readChecked(ledger: Ledger, payload: Uint8Array, logged: { status: number; bytes: Uint8Array }, checkMemory: boolean): void {
  const op = payload[0];
  const isRead = op === Operation.lookup_accounts || op === Operation.lookup_transfers
    || op === Operation.get_account_transfers || op === Operation.get_account_balances
    || op === Operation.query_accounts || op === Operation.query_transfers;
  if (payload.length > ledger.readRequestMax()) return;
  const before = checkMemory && !FUZZ_BUILD ? ledger.memorySnapshot() : null;
  const r = ledger.read(payload);
  if (before !== null) expect(Buffer.compare(before, ledger.memorySnapshot()) === 0, 'a read changed the ledger\'s memory');
  if (!isRead) {
    expect(!r.ok, `a read answered operation ${op}, which is not a read`);
    return;
  }
  expect(r.ok === (logged.status === 0), `a read ${r.ok ? 'answered' : 'refused'} operation ${op}, which the logged request ${logged.status === 0 ? 'answered' : 'refused'}`);
  if (r.ok) expect(Buffer.compare(Buffer.from(r.bytes), Buffer.from(logged.bytes)) === 0, `a read of operation ${op} answered other bytes than the logged request`);
}

/** Sends one payload; checks the reply's shape and the invariants, and the same payload as a read (`checkMemory`: that it changed no memory). */
export function sendChecked(ledger: Ledger, payload: Uint8Array, checkMemory = true): void {
  const reply = ledger.send(payload);
  readChecked(ledger, payload, reply, checkMemory);
  if (reply.status === 0) {
    const op = payload[0];
    const body = reply.bytes.length;
    expect(payload.length >= HEADER_BYTES, `status 0 for a request of ${payload.length} bytes, less than a header`);
    const n = new DataView(payload.buffer, payload.byteOffset).getUint32(4, true);
    if (op === Operation.create_accounts || op === Operation.create_transfers) {
      expect(body === n * RESULT_BYTES, `a create reply of ${body} bytes for ${n} events (one result per event)`);
      const scope = new DataView(payload.buffer, payload.byteOffset).getUint16(2, true);
      expect(payload.length === HEADER_BYTES + n * RECORD_BYTES + scope * 4, 'accepted a create whose count and scope do not match its length');
    } else {
      const dv = new DataView(reply.bytes.buffer, reply.bytes.byteOffset, body);
      expect(body >= HEADER_BYTES, 'a query reply without a header');
      const records = dv.getUint32(0, true);
      expect(body === HEADER_BYTES + records * RECORD_BYTES, `a query reply of ${body} bytes for ${records} records`);
    }
  } else {
    expect(reply.text.length > 0, `error status ${reply.status} without a message`);
  }
  const inv = ledger.checkInvariants();
  expect(inv === 0, `money invariant ${inv} broken`);
  ledger.nowNs += 1_000_000n;
  ledger.fireDueTimers();
  const after = ledger.checkInvariants();
  expect(after === 0, `money invariant ${after} broken after timers fired`);
}

/** The requests an input holds: u16 length, then that many bytes, again and again. */
export function requestsOf(input: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  let at = 0;
  while (at + 2 <= input.length) {
    const n = input[at] | (input[at + 1] << 8);
    const end = Math.min(input.length, at + 2 + n);
    out.push(input.subarray(at + 2, end));
    at = end;
  }
  return out;
}

/** An input of these requests (the inverse of requestsOf). */
export function inputOf(requests: readonly Uint8Array[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const r of requests) parts.push(Uint8Array.of(r.length & 0xff, r.length >>> 8), r);
  return Buffer.concat(parts);
}

// Fuzz builds: one ledger, back at its restore point before each input
// (the module's globals are exported for it, fuzz/build.ts). Otherwise (the
// corpus replay in `make test`) a new ledger of the Makefile's build each time.
let fuzzLedger: { ledger: Ledger; restore: () => void } | null = null;

export const ledgerTarget: FuzzTarget = {
  name: 'ledger',
  about: 'ledger request sequences: one well-formed reply each, and the money invariants after each',
  sources: ['accounts', 'alloc', 'batch', 'config', 'expiry', 'history', 'idtable', 'index', 'invariants', 'lists', 'queries', 'results',
    'reads', 'scope', 'text', 'timestamps', 'transfer_apply', 'transfer_exists', 'transfers', 'u128'].map((f) => `services/ledger/assembly/${f}.ts`),
  wasm: { entry: 'services/ledger/assembly/index.ts', args: ['--use', 'abort='] },
  maxLen: 8192,
  dictionary: [Uint8Array.of(128, 0), Uint8Array.of(136, 0), Uint8Array.of(72, 0), Uint8Array.of(8, 1), Uint8Array.of(1, 0, 0, 0), Uint8Array.of(0xff, 0xff, 0xff, 0xff),
    Uint8Array.of(Operation.create_accounts), Uint8Array.of(Operation.create_transfers), Uint8Array.of(Operation.lookup_accounts),
    Uint8Array.of(Operation.lookup_transfers), Uint8Array.of(Operation.get_account_transfers), Uint8Array.of(Operation.get_account_balances),
    Uint8Array.of(Operation.query_accounts), Uint8Array.of(Operation.query_transfers)],
  setup() {
    if (!FUZZ_BUILD) return;
    const ledger = new Ledger(CAPACITY, new WebAssembly.Module(readFileSync(join(ROOT, 'build', 'fuzz', 'ledger.wasm'))));
    fuzzLedger = { ledger, restore: ledger.restorePoint() };
  },
  check(input) {
    let ledger: Ledger;
    if (fuzzLedger !== null) {
      fuzzLedger.restore();
      ledger = fuzzLedger.ledger;
    } else {
      ledger = new Ledger(CAPACITY);
    }
    const requests = requestsOf(input);
    requests.forEach((r, i) => sendChecked(ledger, r, i === requests.length - 1));
  },
  coverage() {
    if (fuzzLedger === null) throw new Error('coverage is read in fuzz builds only');
    return wasmCoverage(fuzzLedger.ledger.wasmExports());
  },
};
