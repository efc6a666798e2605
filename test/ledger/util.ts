// Helpers shared by the ledger tests: send typed batches through the fake
// kernel, name the results, and check the money invariants after every batch.

import * as assert from 'uvu/assert';
import { Ledger, type Capacity } from './harness.ts';
import {
  type Account, type AccountBalance, type AccountFilter, type QueryFilter, type Transfer, account, accountFilter, queryFilter, transfer,
  createAccountResultName, createTransferResultName, decodeAccountBalances, decodeAccounts, decodeCreateResults,
  decodeTransfers, encodeAccounts, encodeGetAccountBalances, encodeGetAccountTransfers, encodeLookupAccounts,
  encodeLookupTransfers, encodeQueryAccounts, encodeQueryTransfers, encodeTransfers,
} from '../../host/client/ledger.ts';

export { account, accountFilter, queryFilter, transfer };

export interface Named {
  name: string;
  timestamp: bigint;
}

export function ledger(capacity?: Capacity): Ledger {
  return new Ledger(capacity);
}

function checkOk(l: Ledger, status: number, text: string): void {
  assert.is(status, 0, `reply status ${status}: ${text}`);
  assert.is(l.checkInvariants(), 0, 'money invariants must hold after every batch');
}

export function createAccounts(l: Ledger, accounts: Account[]): Named[] {
  const reply = l.send(encodeAccounts(accounts));
  checkOk(l, reply.status, reply.text);
  return decodeCreateResults(reply.bytes).map((r) => ({ name: createAccountResultName(r.result), timestamp: r.timestamp }));
}

export function createTransfers(l: Ledger, transfers: Transfer[]): Named[] {
  const reply = l.send(encodeTransfers(transfers));
  checkOk(l, reply.status, reply.text);
  return decodeCreateResults(reply.bytes).map((r) => ({ name: createTransferResultName(r.result), timestamp: r.timestamp }));
}

/** Result names of a create_accounts batch. */
export function accountNames(l: Ledger, accounts: Account[]): string[] {
  return createAccounts(l, accounts).map((r) => r.name);
}

/** Result names of a create_transfers batch. */
export function transferNames(l: Ledger, transfers: Transfer[]): string[] {
  return createTransfers(l, transfers).map((r) => r.name);
}

export function lookupAccounts(l: Ledger, ids: bigint[]): Account[] {
  const reply = l.send(encodeLookupAccounts(ids));
  checkOk(l, reply.status, reply.text);
  return decodeAccounts(reply.bytes);
}

export function lookupAccount(l: Ledger, id: bigint): Account {
  const found = lookupAccounts(l, [id]);
  assert.is(found.length, 1, `account ${id} must exist`);
  return found[0];
}

export function lookupTransfers(l: Ledger, ids: bigint[]): Transfer[] {
  const reply = l.send(encodeLookupTransfers(ids));
  checkOk(l, reply.status, reply.text);
  return decodeTransfers(reply.bytes);
}

export function getAccountTransfers(l: Ledger, filter: AccountFilter): Transfer[] {
  const reply = l.send(encodeGetAccountTransfers(filter));
  checkOk(l, reply.status, reply.text);
  return decodeTransfers(reply.bytes);
}

export function getAccountBalances(l: Ledger, filter: AccountFilter): AccountBalance[] {
  const reply = l.send(encodeGetAccountBalances(filter));
  checkOk(l, reply.status, reply.text);
  return decodeAccountBalances(reply.bytes);
}

export function queryAccounts(l: Ledger, filter: QueryFilter): Account[] {
  const reply = l.send(encodeQueryAccounts(filter));
  checkOk(l, reply.status, reply.text);
  return decodeAccounts(reply.bytes);
}

export function queryTransfers(l: Ledger, filter: QueryFilter): Transfer[] {
  const reply = l.send(encodeQueryTransfers(filter));
  checkOk(l, reply.status, reply.text);
  return decodeTransfers(reply.bytes);
}

/** A request limited to `ledgers` (the u16 at +2 and the u32 list after the items), as the gateway and the kernel build it. */
export function scoped(request: Uint8Array, ledgers: number[]): Uint8Array {
  const out = new Uint8Array(request.length + ledgers.length * 4);
  out.set(request);
  const v = new DataView(out.buffer);
  v.setUint16(2, ledgers.length, true);
  ledgers.forEach((l, i) => v.setUint32(request.length + i * 4, l, true));
  return out;
}

/** Balances of an account as [debits_pending, debits_posted, credits_pending, credits_posted]. */
export function balances(l: Ledger, id: bigint): bigint[] {
  const a = lookupAccount(l, id);
  return [a.debits_pending, a.debits_posted, a.credits_pending, a.credits_posted];
}
