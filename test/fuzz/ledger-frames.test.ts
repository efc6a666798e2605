// Fuzzing the ledger service's binary protocol (services/ledger through the
// test harness in test/ledger/harness.ts): the payload of every `ledger`
// frame a client sends. Proves, for arbitrary bytes, for well-framed
// requests with arbitrary records, and for mutated valid batches: the
// service never traps, answers every request with exactly one reply (status
// 0 with a body of whole results/records, or an error status with a
// message), and the money invariants (qx_check_invariants) still hold after
// every request, including after due timers fire.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { Ledger } from '../ledger/harness.ts';
import {
  HEADER_BYTES, RECORD_BYTES, ID_BYTES, RESULT_BYTES, Operation, encodeAccounts, encodeTransfers,
  account, transfer,
} from '../../host/client/ledger.ts';
import { count, fuzzParams, mutate, mutationArb, printSummary } from './support.ts';
import { CAPACITY, sendChecked } from '../../fuzz/targets/ledger.ts';

// The oracle is the fuzz target's (fuzz/targets/ledger.ts).
function send(ledger: Ledger, payload: Uint8Array): void {
  count('ledger');
  sendChecked(ledger, payload);
}

/** A header claiming `op` and `count`, then `body`. */
function framed(op: number, n: number, body: Uint8Array, reserved = 0): Uint8Array {
  const out = new Uint8Array(HEADER_BYTES + body.length);
  const dv = new DataView(out.buffer);
  out[0] = op; out[1] = reserved;
  dv.setUint32(4, n >>> 0, true);
  out.set(body, HEADER_BYTES);
  return out;
}

// Small id and amount spaces so records collide, link, post and void each other.
const smallId = fc.bigInt({ min: 0n, max: 12n });
const amount = fc.oneof(fc.bigInt({ min: 0n, max: 1000n }), fc.constantFrom((1n << 128n) - 1n, (1n << 64n), 1n << 127n));
const flagBits = fc.integer({ min: 0, max: 0xffff }).chain((raw) => fc.constantFrom(raw, raw & 0x3ff, raw & 0x3f, 0));
const accountRec = fc.record({ id: smallId, ledger: fc.constantFrom(0, 1, 2), code: fc.constantFrom(0, 1), flags: flagBits,
  timestamp: fc.constantFrom(0n, 0n, 1n), debits_posted: fc.constantFrom(0n, 0n, 5n) }).map((f) => account(f));
const transferRec = fc.record({ id: smallId.map((x) => x + 100n), debit_account_id: smallId, credit_account_id: smallId,
  amount, pending_id: fc.oneof(fc.constant(0n), smallId.map((x) => x + 100n)), timeout: fc.constantFrom(0, 0, 1, 2),
  ledger: fc.constantFrom(0, 1, 2), code: fc.constantFrom(0, 1), flags: flagBits, timestamp: fc.constantFrom(0n, 0n, 7n) })
  .map((f) => transfer(f));

test('arbitrary bytes', () => {
  const ledger = new Ledger(CAPACITY);
  fc.assert(fc.property(fc.uint8Array({ maxLength: 600 }), (b) => send(ledger, b)), fuzzParams(500));
});

test('framed requests: any operation, any count, random record bytes', () => {
  const ledger = new Ledger(CAPACITY);
  fc.assert(fc.property(fc.integer({ min: 0, max: 8 }), fc.oneof(fc.integer({ min: 0, max: 10 }), fc.constantFrom(8189, 8190, 0xffffffff)),
    fc.integer({ min: 0, max: 6 }), fc.uint8Array({ maxLength: 128 }), fc.constantFrom(0, 0, 0, 1),
    (op, n, records, fill, reserved) => {
      const itemBytes = op === Operation.lookup_accounts || op === Operation.lookup_transfers ? ID_BYTES : RECORD_BYTES;
      const body = new Uint8Array(records * itemBytes);
      for (let i = 0; i < body.length; i++) body[i] = fill.length === 0 ? 0 : fill[i % fill.length];
      send(ledger, framed(op, n, body, reserved));
    }), fuzzParams(500));
});

test('structured batches: colliding accounts and transfers, linked chains, two-phase, then mutated', () => {
  fc.assert(fc.property(
    fc.array(accountRec, { minLength: 1, maxLength: 8 }),
    fc.array(fc.array(transferRec, { minLength: 1, maxLength: 8 }), { minLength: 1, maxLength: 5 }),
    fc.array(mutationArb(), { maxLength: 2 }),
    (accounts, batches, ms) => {
      const ledger = new Ledger(CAPACITY);
      send(ledger, encodeAccounts(accounts));
      for (const batch of batches) send(ledger, encodeTransfers(batch));
      send(ledger, mutate(encodeTransfers(batches[0]), ms));
      const ids = new Uint8Array(HEADER_BYTES + 3 * ID_BYTES);
      ids[0] = Operation.lookup_transfers; ids[4] = 3; ids[HEADER_BYTES] = 100;
      send(ledger, ids);
    }), fuzzParams(150, 20));
});

test.after(() => printSummary('ledger-frames'));
test.run();
