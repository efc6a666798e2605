// Codec for the QENEX ledger service's binary protocol: TigerBeetle's
// 128-byte Account / Transfer / AccountFilter / AccountBalance records, the
// 64-byte QueryFilter,
// the request header, result codes and flags, and time-based ids.
//
// Used by tests, and later by the HTTP gateway and the client. u128 and u64
// fields are bigint; u32 and u16 fields are number. Money never passes
// through a JavaScript number.
//
// The layouts, operations, flags and result codes are the ledger's protocol
// file (services/ledger/protocol.ts), which the service compiles too; this
// turns them into JavaScript values and back.

import { randomFillSync } from 'node:crypto';
import { FRAME_E_SERVICE } from '../../hal/abi.ts';
import * as p from '../../services/ledger/protocol.ts';

export { RECORD_BYTES, HEADER_BYTES, ID_BYTES, RESULT_BYTES, BATCH_EVENTS_MAX, QUERY_FILTER_BYTES } from '../../services/ledger/protocol.ts';
const { RECORD_BYTES, HEADER_BYTES, ID_BYTES, RESULT_BYTES, BATCH_EVENTS_MAX } = p;
/** Reply status for a malformed request (payload: UTF-8 message). */
export const STATUS_SERVICE_ERROR = FRAME_E_SERVICE;

export const U128_MAX = (1n << 128n) - 1n;
export const U64_MAX = (1n << 64n) - 1n;

/** A numeric enum of the protocol file as a plain object of its names (without TypeScript's reverse entries). */
function namesOf<E extends Record<string, string | number>>(e: E): Readonly<{ [K in Exclude<keyof E, number>]: number }> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(e)) if (typeof v === 'number') out[k] = v;
  return Object.freeze(out) as { [K in Exclude<keyof E, number>]: number };
}

export const Operation = namesOf(p.Operation);
export type OperationName = keyof typeof Operation;
export const AccountFlags = namesOf(p.AccountFlags);
export const TransferFlags = namesOf(p.TransferFlags);
export const AccountFilterFlags = namesOf(p.AccountFilterFlags);
export const QueryFilterFlags = namesOf(p.QueryFilterFlags);

/** Flag names to bits, e.g. flagsFromNames(TransferFlags, ['pending', 'linked']). */
export function flagsFromNames(map: Record<string, number>, names: readonly string[]): number {
  let bits = 0;
  for (const name of names) {
    if (!Object.hasOwn(map, name)) throw new Error(`unknown flag ${name}`);
    const bit = map[name];
    bits |= bit;
  }
  return bits;
}

/** Bits to flag names; bits with no name come back as `bit_N`. */
export function flagsToNames(map: Record<string, number>, bits: number): string[] {
  const names: string[] = [];
  for (let bit = 0; bit < 32; bit++) {
    const value = 1 << bit;
    if ((bits & value) === 0) continue;
    const name = Object.keys(map).find((key) => map[key] === value);
    names.push(name ?? `bit_${bit}`);
  }
  return names;
}

/** create_accounts results: TigerBeetle's names and numbers, plus QENEX's capacity code; `ok` is `created` (0). */
export const CreateAccountResult = Object.freeze({ ok: p.AccountResult.created, ...namesOf(p.AccountResult) });
export type CreateAccountResultName = keyof typeof CreateAccountResult;

/** create_transfers results, in TigerBeetle's order of precedence, plus QENEX's capacity codes; `ok` is `created` (0). */
export const CreateTransferResult = Object.freeze({ ok: p.TransferResult.created, ...namesOf(p.TransferResult) });
export type CreateTransferResultName = keyof typeof CreateTransferResult;

/** Results whose failure is remembered per transfer id (TigerBeetle's transient errors). */
export const TRANSIENT_TRANSFER_RESULTS: readonly CreateTransferResultName[] = (Object.keys(CreateTransferResult) as CreateTransferResultName[])
  .filter((name) => p.transferResultIsTransient(CreateTransferResult[name]));

function invert(map: Record<string, number>): Map<number, string> {
  return new Map(Object.entries(map).map(([name, value]) => [value, name]));
}
const accountResultNames = invert(namesOf(p.AccountResult));
const transferResultNames = invert(namesOf(p.TransferResult));

/** snake_case name of a create_accounts result; success is `created` (TigerBeetle 0.17's name). */
export function createAccountResultName(code: number): string {
  if (code === 0) return 'created';
  return accountResultNames.get(code) ?? `unknown_${code}`;
}

/** snake_case name of a create_transfers result; success is `created`. */
export function createTransferResultName(code: number): string {
  if (code === 0) return 'created';
  return transferResultNames.get(code) ?? `unknown_${code}`;
}

export interface Account {
  id: bigint;
  debits_pending: bigint;
  debits_posted: bigint;
  credits_pending: bigint;
  credits_posted: bigint;
  user_data_128: bigint;
  user_data_64: bigint;
  user_data_32: number;
  reserved: number;
  ledger: number;
  code: number;
  flags: number;
  timestamp: bigint;
}

export interface Transfer {
  id: bigint;
  debit_account_id: bigint;
  credit_account_id: bigint;
  amount: bigint;
  pending_id: bigint;
  user_data_128: bigint;
  user_data_64: bigint;
  user_data_32: number;
  timeout: number;
  ledger: number;
  code: number;
  flags: number;
  timestamp: bigint;
}

export interface AccountFilter {
  account_id: bigint;
  user_data_128: bigint;
  user_data_64: bigint;
  user_data_32: number;
  code: number;
  timestamp_min: bigint;
  timestamp_max: bigint;
  limit: number;
  flags: number;
}

/** query_accounts / query_transfers: zero fields match anything (TigerBeetle's QueryFilter). */
export interface QueryFilter {
  user_data_128: bigint;
  user_data_64: bigint;
  user_data_32: number;
  ledger: number;
  code: number;
  timestamp_min: bigint;
  timestamp_max: bigint;
  limit: number;
  flags: number;
}

export interface AccountBalance {
  debits_pending: bigint;
  debits_posted: bigint;
  credits_pending: bigint;
  credits_posted: bigint;
  timestamp: bigint;
}

export interface CreateResult {
  result: number;
  timestamp: bigint;
}

export function account(fields: Partial<Account> & { id: bigint }): Account {
  return {
    debits_pending: 0n, debits_posted: 0n, credits_pending: 0n, credits_posted: 0n,
    user_data_128: 0n, user_data_64: 0n, user_data_32: 0, reserved: 0,
    ledger: 1, code: 1, flags: 0, timestamp: 0n, ...fields,
  };
}

export function transfer(fields: Partial<Transfer> & { id: bigint }): Transfer {
  return {
    debit_account_id: 0n, credit_account_id: 0n, amount: 0n, pending_id: 0n,
    user_data_128: 0n, user_data_64: 0n, user_data_32: 0, timeout: 0,
    ledger: 1, code: 1, flags: 0, timestamp: 0n, ...fields,
  };
}

export function accountFilter(fields: Partial<AccountFilter> & { account_id: bigint }): AccountFilter {
  return {
    user_data_128: 0n, user_data_64: 0n, user_data_32: 0, code: 0,
    timestamp_min: 0n, timestamp_max: 0n, limit: BATCH_EVENTS_MAX,
    flags: AccountFilterFlags.debits | AccountFilterFlags.credits, ...fields,
  };
}

export function queryFilter(fields: Partial<QueryFilter> = {}): QueryFilter {
  return {
    user_data_128: 0n, user_data_64: 0n, user_data_32: 0, ledger: 0, code: 0,
    timestamp_min: 0n, timestamp_max: 0n, limit: BATCH_EVENTS_MAX, flags: 0, ...fields,
  };
}

function checkRange(name: string, value: bigint, max: bigint): void {
  if (value < 0n || value > max) throw new RangeError(`${name} ${value} out of range`);
}

function setU128(view: DataView, offset: number, value: bigint, name: string): void {
  checkRange(name, value, U128_MAX);
  view.setBigUint64(offset, value & U64_MAX, true);
  view.setBigUint64(offset + 8, value >> 64n, true);
}

function getU128(view: DataView, offset: number): bigint {
  return view.getBigUint64(offset, true) | (view.getBigUint64(offset + 8, true) << 64n);
}

/** A u32 or u16 field: an integer in range, or a RangeError naming the field
 *  (DataView would silently wrap it). */
function setSmall(view: DataView, offset: number, value: number, name: string, bytes: 2 | 4): void {
  const max = bytes === 4 ? 0xffff_ffff : 0xffff;
  if (!Number.isInteger(value) || value < 0 || value > max) throw new RangeError(`${name} ${value} out of range 0..${max}`);
  if (bytes === 4) view.setUint32(offset, value, true);
  else view.setUint16(offset, value, true);
}

function setU64(view: DataView, offset: number, value: bigint, name: string): void {
  checkRange(name, value, U64_MAX);
  view.setBigUint64(offset, value, true);
}

export function writeAccount(view: DataView, offset: number, a: Account): void {
  setU128(view, offset + p.ACCOUNT_ID, a.id, 'id');
  setU128(view, offset + p.ACCOUNT_DEBITS_PENDING, a.debits_pending, 'debits_pending');
  setU128(view, offset + p.ACCOUNT_DEBITS_POSTED, a.debits_posted, 'debits_posted');
  setU128(view, offset + p.ACCOUNT_CREDITS_PENDING, a.credits_pending, 'credits_pending');
  setU128(view, offset + p.ACCOUNT_CREDITS_POSTED, a.credits_posted, 'credits_posted');
  setU128(view, offset + p.ACCOUNT_USER_DATA_128, a.user_data_128, 'user_data_128');
  setU64(view, offset + p.ACCOUNT_USER_DATA_64, a.user_data_64, 'user_data_64');
  setSmall(view, offset + p.ACCOUNT_USER_DATA_32, a.user_data_32, 'user_data_32', 4);
  setSmall(view, offset + p.ACCOUNT_RESERVED, a.reserved, 'reserved', 4);
  setSmall(view, offset + p.ACCOUNT_LEDGER, a.ledger, 'ledger', 4);
  setSmall(view, offset + p.ACCOUNT_CODE, a.code, 'code', 2);
  setSmall(view, offset + p.ACCOUNT_FLAGS, a.flags, 'flags', 2);
  setU64(view, offset + p.ACCOUNT_TIMESTAMP, a.timestamp, 'timestamp');
}

export function readAccount(view: DataView, offset: number): Account {
  return {
    id: getU128(view, offset + p.ACCOUNT_ID),
    debits_pending: getU128(view, offset + p.ACCOUNT_DEBITS_PENDING),
    debits_posted: getU128(view, offset + p.ACCOUNT_DEBITS_POSTED),
    credits_pending: getU128(view, offset + p.ACCOUNT_CREDITS_PENDING),
    credits_posted: getU128(view, offset + p.ACCOUNT_CREDITS_POSTED),
    user_data_128: getU128(view, offset + p.ACCOUNT_USER_DATA_128),
    user_data_64: view.getBigUint64(offset + p.ACCOUNT_USER_DATA_64, true),
    user_data_32: view.getUint32(offset + p.ACCOUNT_USER_DATA_32, true),
    reserved: view.getUint32(offset + p.ACCOUNT_RESERVED, true),
    ledger: view.getUint32(offset + p.ACCOUNT_LEDGER, true),
    code: view.getUint16(offset + p.ACCOUNT_CODE, true),
    flags: view.getUint16(offset + p.ACCOUNT_FLAGS, true),
    timestamp: view.getBigUint64(offset + p.ACCOUNT_TIMESTAMP, true),
  };
}

export function writeTransfer(view: DataView, offset: number, t: Transfer): void {
  setU128(view, offset + p.TRANSFER_ID, t.id, 'id');
  setU128(view, offset + p.TRANSFER_DEBIT_ACCOUNT_ID, t.debit_account_id, 'debit_account_id');
  setU128(view, offset + p.TRANSFER_CREDIT_ACCOUNT_ID, t.credit_account_id, 'credit_account_id');
  setU128(view, offset + p.TRANSFER_AMOUNT, t.amount, 'amount');
  setU128(view, offset + p.TRANSFER_PENDING_ID, t.pending_id, 'pending_id');
  setU128(view, offset + p.TRANSFER_USER_DATA_128, t.user_data_128, 'user_data_128');
  setU64(view, offset + p.TRANSFER_USER_DATA_64, t.user_data_64, 'user_data_64');
  setSmall(view, offset + p.TRANSFER_USER_DATA_32, t.user_data_32, 'user_data_32', 4);
  setSmall(view, offset + p.TRANSFER_TIMEOUT, t.timeout, 'timeout', 4);
  setSmall(view, offset + p.TRANSFER_LEDGER, t.ledger, 'ledger', 4);
  setSmall(view, offset + p.TRANSFER_CODE, t.code, 'code', 2);
  setSmall(view, offset + p.TRANSFER_FLAGS, t.flags, 'flags', 2);
  setU64(view, offset + p.TRANSFER_TIMESTAMP, t.timestamp, 'timestamp');
}

export function readTransfer(view: DataView, offset: number): Transfer {
  return {
    id: getU128(view, offset + p.TRANSFER_ID),
    debit_account_id: getU128(view, offset + p.TRANSFER_DEBIT_ACCOUNT_ID),
    credit_account_id: getU128(view, offset + p.TRANSFER_CREDIT_ACCOUNT_ID),
    amount: getU128(view, offset + p.TRANSFER_AMOUNT),
    pending_id: getU128(view, offset + p.TRANSFER_PENDING_ID),
    user_data_128: getU128(view, offset + p.TRANSFER_USER_DATA_128),
    user_data_64: view.getBigUint64(offset + p.TRANSFER_USER_DATA_64, true),
    user_data_32: view.getUint32(offset + p.TRANSFER_USER_DATA_32, true),
    timeout: view.getUint32(offset + p.TRANSFER_TIMEOUT, true),
    ledger: view.getUint32(offset + p.TRANSFER_LEDGER, true),
    code: view.getUint16(offset + p.TRANSFER_CODE, true),
    flags: view.getUint16(offset + p.TRANSFER_FLAGS, true),
    timestamp: view.getBigUint64(offset + p.TRANSFER_TIMESTAMP, true),
  };
}

export function writeAccountFilter(view: DataView, offset: number, f: AccountFilter): void {
  setU128(view, offset + p.FILTER_ACCOUNT_ID, f.account_id, 'account_id');
  setU128(view, offset + p.FILTER_USER_DATA_128, f.user_data_128, 'user_data_128');
  setU64(view, offset + p.FILTER_USER_DATA_64, f.user_data_64, 'user_data_64');
  setSmall(view, offset + p.FILTER_USER_DATA_32, f.user_data_32, 'user_data_32', 4);
  setSmall(view, offset + p.FILTER_CODE, f.code, 'code', 2);
  // FILTER_RESERVED: zero.
  setU64(view, offset + p.FILTER_TIMESTAMP_MIN, f.timestamp_min, 'timestamp_min');
  setU64(view, offset + p.FILTER_TIMESTAMP_MAX, f.timestamp_max, 'timestamp_max');
  setSmall(view, offset + p.FILTER_LIMIT, f.limit, 'limit', 4);
  setSmall(view, offset + p.FILTER_FLAGS, f.flags, 'flags', 4);
}

export function writeQueryFilter(view: DataView, offset: number, f: QueryFilter): void {
  setU128(view, offset + p.QUERY_USER_DATA_128, f.user_data_128, 'user_data_128');
  setU64(view, offset + p.QUERY_USER_DATA_64, f.user_data_64, 'user_data_64');
  setSmall(view, offset + p.QUERY_USER_DATA_32, f.user_data_32, 'user_data_32', 4);
  setSmall(view, offset + p.QUERY_LEDGER, f.ledger, 'ledger', 4);
  setSmall(view, offset + p.QUERY_CODE, f.code, 'code', 2);
  // QUERY_RESERVED: zero.
  setU64(view, offset + p.QUERY_TIMESTAMP_MIN, f.timestamp_min, 'timestamp_min');
  setU64(view, offset + p.QUERY_TIMESTAMP_MAX, f.timestamp_max, 'timestamp_max');
  setSmall(view, offset + p.QUERY_LIMIT, f.limit, 'limit', 4);
  setSmall(view, offset + p.QUERY_FLAGS, f.flags, 'flags', 4);
}

export function readAccountBalance(view: DataView, offset: number): AccountBalance {
  return {
    debits_pending: getU128(view, offset + p.BALANCE_DEBITS_PENDING),
    debits_posted: getU128(view, offset + p.BALANCE_DEBITS_POSTED),
    credits_pending: getU128(view, offset + p.BALANCE_CREDITS_PENDING),
    credits_posted: getU128(view, offset + p.BALANCE_CREDITS_POSTED),
    timestamp: view.getBigUint64(offset + p.BALANCE_TIMESTAMP, true),
  };
}

/** A request: the 8-byte header followed by `count` items of `itemBytes`. */
export function encodeRequest(operation: number, count: number, itemBytes: number,
  writeItem: (view: DataView, offset: number, index: number) => void): Uint8Array {
  if (count < 1 || count > BATCH_EVENTS_MAX) throw new RangeError(`count ${count} out of range`);
  const bytes = new Uint8Array(HEADER_BYTES + count * itemBytes);
  const view = new DataView(bytes.buffer);
  view.setUint8(p.HEADER_OPERATION, operation);
  view.setUint32(p.HEADER_COUNT, count, true);
  for (let i = 0; i < count; i++) writeItem(view, HEADER_BYTES + i * itemBytes, i);
  return bytes;
}

export function encodeAccounts(accounts: readonly Account[]): Uint8Array {
  return encodeRequest(Operation.create_accounts, accounts.length, RECORD_BYTES,
    (view, offset, i) => writeAccount(view, offset, accounts[i]));
}

export function encodeTransfers(transfers: readonly Transfer[]): Uint8Array {
  return encodeRequest(Operation.create_transfers, transfers.length, RECORD_BYTES,
    (view, offset, i) => writeTransfer(view, offset, transfers[i]));
}

export function encodeLookupAccounts(ids: readonly bigint[]): Uint8Array {
  return encodeRequest(Operation.lookup_accounts, ids.length, ID_BYTES,
    (view, offset, i) => setU128(view, offset, ids[i], 'id'));
}

export function encodeLookupTransfers(ids: readonly bigint[]): Uint8Array {
  return encodeRequest(Operation.lookup_transfers, ids.length, ID_BYTES,
    (view, offset, i) => setU128(view, offset, ids[i], 'id'));
}

export function encodeGetAccountTransfers(filter: AccountFilter): Uint8Array {
  return encodeRequest(Operation.get_account_transfers, 1, RECORD_BYTES,
    (view, offset) => writeAccountFilter(view, offset, filter));
}

export function encodeGetAccountBalances(filter: AccountFilter): Uint8Array {
  return encodeRequest(Operation.get_account_balances, 1, RECORD_BYTES,
    (view, offset) => writeAccountFilter(view, offset, filter));
}

export function encodeQueryAccounts(filter: QueryFilter): Uint8Array {
  return encodeRequest(Operation.query_accounts, 1, p.QUERY_FILTER_BYTES,
    (view, offset) => writeQueryFilter(view, offset, filter));
}

export function encodeQueryTransfers(filter: QueryFilter): Uint8Array {
  return encodeRequest(Operation.query_transfers, 1, p.QUERY_FILTER_BYTES,
    (view, offset) => writeQueryFilter(view, offset, filter));
}

function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export function decodeCreateResults(bytes: Uint8Array): CreateResult[] {
  if (bytes.length % RESULT_BYTES !== 0) throw new Error(`results of ${bytes.length} bytes`);
  const view = viewOf(bytes);
  const results: CreateResult[] = [];
  for (let offset = 0; offset < bytes.length; offset += RESULT_BYTES) {
    results.push({ result: view.getUint32(offset + p.RESULT_CODE, true), timestamp: view.getBigUint64(offset + p.RESULT_TIMESTAMP, true) });
  }
  return results;
}

/**
 * Why a query reply is empty, from the second u32 of its header (the
 * ledger's queries.ts EMPTY_REASON_*): TigerBeetle answers an empty list
 * either way; the JSON API says which it was. null: not said (or records).
 */
export const EMPTY_REASONS: Readonly<Record<number, string>> = { [p.EMPTY_REASON_NO_ACCOUNT]: 'account_not_found', [p.EMPTY_REASON_NO_HISTORY]: 'history_not_kept' };

export function emptyReason(bytes: Uint8Array): string | null {
  if (bytes.length < HEADER_BYTES) return null;
  // Read in place: a DataView per answer, over what may be all of kernel memory, cost more than the answer.
  return u32At(bytes, p.REPLY_COUNT) === 0 ? EMPTY_REASONS[u32At(bytes, p.REPLY_EMPTY_REASON)] ?? null : null;
}

function u32At(bytes: Uint8Array, at: number): number {
  return (bytes[at] | bytes[at + 1] << 8 | bytes[at + 2] << 16 | bytes[at + 3] << 24) >>> 0;
}

function decodeRecords<T>(bytes: Uint8Array, read: (view: DataView, offset: number) => T): T[] {
  const view = viewOf(bytes);
  const count = view.getUint32(p.REPLY_COUNT, true);
  const why = view.getUint32(p.REPLY_EMPTY_REASON, true);
  if (why !== 0 && (count !== 0 || EMPTY_REASONS[why] === undefined)) throw new Error(`reply header: reason ${why} for ${count} records`);
  if (bytes.length !== HEADER_BYTES + count * RECORD_BYTES) {
    throw new Error(`reply of ${bytes.length} bytes for ${count} records`);
  }
  const records: T[] = [];
  for (let i = 0; i < count; i++) records.push(read(view, HEADER_BYTES + i * RECORD_BYTES));
  return records;
}

export function decodeAccounts(bytes: Uint8Array): Account[] {
  return decodeRecords(bytes, readAccount);
}

export function decodeTransfers(bytes: Uint8Array): Transfer[] {
  return decodeRecords(bytes, readTransfer);
}

export function decodeAccountBalances(bytes: Uint8Array): AccountBalance[] {
  return decodeRecords(bytes, readAccountBalance);
}

let idLastMs = 0;
let idLastRandom = 0n;

/**
 * A TigerBeetle-style time-based id: the high 48 bits are milliseconds since
 * the epoch, the low 80 bits random; ids made within one millisecond
 * increase by one, so ids sort by creation order on this process.
 */
export function id(): bigint {
  let ms = Date.now();
  if (ms <= idLastMs) {
    ms = idLastMs;
    idLastRandom += 1n;
    if (idLastRandom >> 80n !== 0n) throw new Error('id: random part exhausted within one millisecond');
  } else {
    const random = new Uint8Array(10);
    randomFillSync(random);
    idLastRandom = random.reduce((acc, byte) => (acc << 8n) | BigInt(byte), 0n);
    idLastMs = ms;
  }
  return (BigInt(ms) << 80n) | idLastRandom;
}

/** The minimal transport a LedgerClient needs (FrameClient from ./frames.ts fits). */
export interface LedgerTransport {
  /** `read`: sent as a read (hal/frames.ts FRAME_F_READ), answered without a log entry. */
  call(service: string, payload: Uint8Array, timeoutMs?: number, read?: boolean): Promise<Buffer>;
}

/**
 * Typed calls to the ledger over any frame transport. Each call is one
 * request frame; replies come only after the request's batch is durable.
 * Through the default image the ledger is reached as service 'gateway' on a
 * connection that presented an API key (FrameClient.authenticate): the
 * gateway checks the key's role and ledger grants and relays the request.
 * 'ledger' reaches the service directly, which only an image that gives the
 * ledger the "net" capability allows.
 */
export class LedgerClient {
  /**
   * `reads`: lookups and queries go as reads (hal/frames.ts
   * FRAME_F_READ): answered from the applied state without a log entry, for
   * a service with capability read.
   */
  constructor(private readonly transport: LedgerTransport, private readonly service = 'ledger', private readonly reads = false) {}

  private query(payload: Uint8Array): Promise<Buffer> {
    return this.transport.call(this.service, payload, undefined, this.reads);
  }

  async createAccounts(accounts: readonly Account[]): Promise<CreateResult[]> {
    return decodeCreateResults(await this.transport.call(this.service, encodeAccounts(accounts)));
  }

  async createTransfers(transfers: readonly Transfer[]): Promise<CreateResult[]> {
    return decodeCreateResults(await this.transport.call(this.service, encodeTransfers(transfers)));
  }

  async lookupAccounts(ids: readonly bigint[]): Promise<Account[]> {
    return decodeAccounts(await this.query(encodeLookupAccounts(ids)));
  }

  async lookupTransfers(ids: readonly bigint[]): Promise<Transfer[]> {
    return decodeTransfers(await this.query(encodeLookupTransfers(ids)));
  }

  async getAccountTransfers(filter: AccountFilter): Promise<Transfer[]> {
    return decodeTransfers(await this.query(encodeGetAccountTransfers(filter)));
  }

  async getAccountBalances(filter: AccountFilter): Promise<AccountBalance[]> {
    return decodeAccountBalances(await this.query(encodeGetAccountBalances(filter)));
  }

  async queryAccounts(filter: QueryFilter): Promise<Account[]> {
    return decodeAccounts(await this.query(encodeQueryAccounts(filter)));
  }

  async queryTransfers(filter: QueryFilter): Promise<Transfer[]> {
    return decodeTransfers(await this.query(encodeQueryTransfers(filter)));
  }
}
