// The binary request framing and the boot config: malformed requests get
// status 6 with a specific message and change nothing; bad configs stop the
// service at boot with the reason in the log.
//
//   node --import tsx test/ledger/protocol.test.ts

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Ledger } from './harness.ts';
import {
  BATCH_EVENTS_MAX, HEADER_BYTES, Operation, STATUS_SERVICE_ERROR, encodeAccounts, encodeLookupAccounts,
} from '../../host/client/ledger.ts';
import * as u from './util.ts';

function header(operation: number, count: number, reserved = [0, 0, 0]): Uint8Array {
  const bytes = new Uint8Array(HEADER_BYTES);
  bytes[0] = operation;
  bytes.set(reserved, 1);
  new DataView(bytes.buffer).setUint32(4, count, true);
  return bytes;
}

function withBody(head: Uint8Array, bodyBytes: number): Uint8Array {
  const bytes = new Uint8Array(HEADER_BYTES + bodyBytes);
  bytes.set(head);
  return bytes;
}

function expectRejected(l: Ledger, payload: Uint8Array, message: string): void {
  const reply = l.send(payload);
  assert.is(reply.status, STATUS_SERVICE_ERROR, `status for: ${message}`);
  assert.is(reply.text, message);
}

test('malformed requests get status 6 and a specific message', () => {
  // Proves each framing check and its message.
  const l = u.ledger();
  expectRejected(l, new Uint8Array(0), 'request of 0 bytes is shorter than the 8-byte header');
  expectRejected(l, new Uint8Array(7), 'request of 7 bytes is shorter than the 8-byte header');
  expectRejected(l, withBody(header(0, 1), 128), 'unknown operation 0');
  expectRejected(l, withBody(header(9, 1), 128), 'unknown operation 9');
  expectRejected(l, withBody(header(255, 1), 128), 'unknown operation 255');
  expectRejected(l, withBody(header(Operation.create_accounts, 1, [1, 0, 0]), 128), 'reserved header byte must be zero');
  expectRejected(l, withBody(header(Operation.create_accounts, 1, [0, 17, 0]), 128), 'a scope is at most 16 ledgers');
  expectRejected(l, withBody(header(Operation.create_accounts, 1, [0, 0, 128]), 128), 'a scope is at most 16 ledgers');
  expectRejected(l, withBody(header(Operation.lookup_accounts, 1, [0, 17, 0]), 16 + 68), 'a scope is at most 16 ledgers');
  expectRejected(l, withBody(header(Operation.get_account_balances, 1, [0, 1, 0]), 132),
    'balance history is not limited by ledger; this request is');
  expectRejected(l, withBody(header(Operation.lookup_accounts, 1, [0, 1, 0]), 16),
    'payload of 24 bytes does not match 8 + count * 16 + scope * 4 = 28');
  expectRejected(l, withBody(header(Operation.create_accounts, 1, [0, 1, 0]), 128), 'payload of 136 bytes does not match 8 + count * 128 + scope * 4 = 140');
  expectRejected(l, header(Operation.create_transfers, 0), 'count must not be zero');
  expectRejected(l, header(Operation.lookup_accounts, BATCH_EVENTS_MAX + 1), 'count 8190 exceeds the batch maximum 8189');
  expectRejected(l, withBody(header(Operation.get_account_transfers, 2), 256),
    'a query takes exactly one AccountFilter, count is 2');
  expectRejected(l, withBody(header(Operation.get_account_balances, 2), 256),
    'a query takes exactly one AccountFilter, count is 2');
  expectRejected(l, withBody(header(Operation.query_accounts, 2), 128), 'a query takes exactly one QueryFilter, count is 2');
  expectRejected(l, withBody(header(Operation.query_transfers, 1), 128),
    'payload of 136 bytes does not match 8 + count * 64 + scope * 4 = 72');
  expectRejected(l, withBody(header(Operation.create_accounts, 2), 128),
    'payload of 136 bytes does not match 8 + count * 128 + scope * 4 = 264');
  expectRejected(l, withBody(header(Operation.lookup_transfers, 1), 17),
    'payload of 25 bytes does not match 8 + count * 16 + scope * 4 = 24');
  expectRejected(l, header(Operation.create_transfers, 1), 'payload of 8 bytes does not match 8 + count * 128 + scope * 4 = 136');
  assert.is(l.checkInvariants(), 0);
});

test('a rejected request applies nothing and consumes no timestamps', () => {
  // Proves "nothing applied": valid accounts inside a mis-framed request are not created,
  // and the next good batch gets the timestamps it would have had.
  const l = u.ledger();
  l.nowNs = 1_000n;
  const good = encodeAccounts([u.account({ id: 1n }), u.account({ id: 2n })]);
  const truncated = good.slice(0, good.length - 1);
  expectRejected(l, truncated, 'payload of 263 bytes does not match 8 + count * 128 + scope * 4 = 264');
  const extended = new Uint8Array(good.length + 16);
  extended.set(good);
  expectRejected(l, extended, 'payload of 280 bytes does not match 8 + count * 128 + scope * 4 = 264');
  const badReserved = good.slice();
  badReserved[1] = 1;
  expectRejected(l, badReserved, 'reserved header byte must be zero');
  assert.equal(u.lookupAccounts(l, [1n, 2n]), []);
  assert.equal(u.createAccounts(l, [u.account({ id: 1n })]), [{ name: 'created', timestamp: 1_000n }]);
});

test('the largest batch (8189 events) and the largest reply fit', () => {
  // Proves count == 8189 is accepted, and a full lookup reply (8 + 8189 * 128 bytes) is returned.
  const l = u.ledger({ accounts_max: BATCH_EVENTS_MAX, transfers_max: 16, pending_max: 1, history_max: 1 });
  const ids = Array.from({ length: BATCH_EVENTS_MAX }, (_, i) => BigInt(i + 1));
  const results = u.createAccounts(l, ids.map((id) => u.account({ id })));
  assert.ok(results.every((r) => r.name === 'created'));
  const reply = l.send(encodeLookupAccounts(ids));
  assert.is(reply.status, 0);
  assert.is(reply.bytes.length, HEADER_BYTES + BATCH_EVENTS_MAX * 128);
});

test('config: defaults, whitespace and every capacity key are accepted', () => {
  // Proves the config scanner accepts an empty config (defaults) and well-formed JSON.
  const defaults = new Ledger('');
  assert.is(defaults.checkInvariants(), 0);
  const spaced = new Ledger(' {\n "accounts_max" : 3 ,\t"transfers_max":5,"pending_max":2, "history_max":4 }\n');
  assert.equal(u.accountNames(spaced, [1n, 2n, 3n, 4n].map((id) => u.account({ id }))),
    ['created', 'created', 'created', 'accounts_full']);
  assert.is(new Ledger('{}').checkInvariants(), 0);
});

test('config: a bad config stops the service at boot and logs why', () => {
  // Proves unknown keys and bad values are boot errors with a logged reason
  // that names the key or the byte (the reader is lib/json.ts).
  const cases: [string, string][] = [
    ['{"accounts_max":10,"bogus":1}', 'unknown key bogus'],
    ['{"accounts_max":-1}', 'expected a non-negative integer at byte 16'],
    ['{"accounts_max":0}', 'accounts_max = 0 is outside 1..4194304'],
    ['{"accounts_max":99999999999}', 'accounts_max = 99999999999 is outside 1..4194304'],
    ['{"accounts_max":1.5}', 'fraction not allowed in an integer at byte 17'],
    ['{"transfers_max":4194305}', 'transfers_max = 4194305 is outside 1..4194304'],
    ['{"accounts_max":1,"accounts_max":2}', 'repeated key accounts_max'],
    ['{"accounts_max":1', 'unexpected end of input at byte 17'],
    ['{"accounts_max":1} x', 'unexpected data after the document at byte 19'],
    ['[1]', "expected '{' at byte 0"],
    ['{"events":1}', 'expected true or false at byte 10'],
    ['{"transfers_max":5,"pending_max":6}', 'pending_max exceeds transfers_max'],
  ];
  for (const [config, reason] of cases) {
    assert.throws(() => new Ledger(config), (error: Error) => error.message.includes(`ledger config: ${reason}`), config);
  }
});

test.run();
