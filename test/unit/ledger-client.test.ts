// The ledger client's encoder refuses values that do not fit their fields
// instead of letting DataView wrap them, and flag names are looked up only
// among the map's own keys.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  encodeAccounts, encodeTransfers, encodeGetAccountTransfers, decodeAccounts, account, transfer, accountFilter,
  flagsFromNames, TransferFlags, U128_MAX,
} from '../../host/client/ledger.ts';

test('u32 and u16 fields out of range are RangeErrors naming the field', () => {
  // Proves a ledger 2^32 or a code 65536 is refused, not encoded as 0.
  assert.throws(() => encodeAccounts([account({ id: 1n, ledger: 2 ** 32, code: 1 })]), /ledger 4294967296 out of range 0\.\.4294967295/);
  assert.throws(() => encodeTransfers([transfer({ id: 1n, ledger: 1, code: 65536 })]), /code 65536 out of range 0\.\.65535/);
  assert.throws(() => encodeTransfers([transfer({ id: 1n, ledger: 1, code: 1, timeout: -1 })]), /timeout -1/);
  assert.throws(() => encodeTransfers([transfer({ id: 1n, ledger: 1.5, code: 1 })]), /ledger 1\.5/);
  assert.throws(() => encodeGetAccountTransfers(accountFilter({ account_id: 1n, limit: NaN })), /limit NaN/);
  assert.throws(() => encodeAccounts([account({ id: U128_MAX + 1n, ledger: 1, code: 1 })]), /id .* out of range/);
});

test('values at the top of each range round-trip', () => {
  // Proves the range checks are not off by one.
  const a = account({ id: U128_MAX, ledger: 0xffff_ffff, code: 0xffff, user_data_32: 0xffff_ffff });
  const bytes = encodeAccounts([a]).subarray(8);
  const header = new Uint8Array(8); new DataView(header.buffer).setUint32(0, 1, true);
  const [back] = decodeAccounts(new Uint8Array([...header, ...bytes]));
  assert.equal([back.id, back.ledger, back.code, back.user_data_32], [U128_MAX, 0xffff_ffff, 0xffff, 0xffff_ffff]);
});

test('flag names come only from the map itself', () => {
  // Proves inherited keys such as "constructor" or "toString" are unknown flags.
  assert.is(flagsFromNames(TransferFlags, ['pending', 'linked']), TransferFlags.pending | TransferFlags.linked);
  assert.throws(() => flagsFromNames(TransferFlags, ['constructor']), /unknown flag constructor/);
  assert.throws(() => flagsFromNames(TransferFlags, ['toString']), /unknown flag toString/);
});

test.run();
