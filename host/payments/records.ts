// host/payments/records.ts: the payments service's records
// (services/payments/protocol.ts) written and read on the host side: the
// directory's entries and account keys, credit_transfers requests, and the
// results and payment records that come back. The front end (host/gateway/payments-front.ts)
// and the tests use it; the layouts are the protocol file's alone.

import { createHash } from 'node:crypto';
import * as P from '../../services/payments/protocol.ts';
import * as C from '../../services/compliance/protocol.ts';

export type DirectoryKind = 'iban' | 'other' | 'agent';
const KIND_CODE: Record<DirectoryKind, number> = { iban: P.DIR_IBAN, other: P.DIR_OTHER, agent: P.DIR_AGENT };
const KIND_NAME = new Map<number, DirectoryKind>(Object.entries(KIND_CODE).map(([k, v]) => [v, k as DirectoryKind]));

export interface AccountKey { kind: DirectoryKind; text: string }
export interface DirectoryEntry { key: AccountKey; ledger: number; account: bigint; closed?: boolean; blocked?: boolean; name?: string }

export interface TxRecord {
  instrId?: string;
  endToEndId: string;
  txId?: string;
  /** The UUID as text (any case) or absent. */
  uetr?: string;
  ledger: number;
  amount: bigint;
  debtor?: AccountKey;
  creditor?: AccountKey;
  debtorAgent?: string;
  creditorAgent?: string;
  /** The parties for the compliance checks: names normalised for screening (host/compliance/names.ts partyName), ISO 3166 alpha-2 countries. */
  debtorName?: string;
  creditorName?: string;
  debtorCountry?: string;
  creditorCountry?: string;
}

export interface CreditTransfersRequest {
  source: 'pacs.008' | 'pain.001' | 'mt103' | 'json';
  msgId: string;
  /** The sending agent's BIC (pacs.008, MT103). */
  agent?: string;
  /** SHA-256 of the original message bytes. */
  digest: Uint8Array;
  transactions: TxRecord[];
  original: Uint8Array;
}

export const SOURCE_CODE = { 'pacs.008': P.SOURCE_PACS008, 'pain.001': P.SOURCE_PAIN001, mt103: P.SOURCE_MT103, json: P.SOURCE_JSON } as const;

export class RecordError extends Error {}

/** Writes text into a slot of `bytes` (u8 length, the UTF-8 bytes, zeros after); refuses more than `max` bytes. */
function putText(b: Buffer, at: number, text: string | undefined, max: number, what: string): void {
  if (text === undefined) return;
  const raw = Buffer.from(text, 'utf8');
  if (raw.length > max) throw new RecordError(`${what}: ${raw.length} bytes of text, at most ${max}`);
  if (/[\u0000-\u001f]/.test(text)) throw new RecordError(`${what}: control characters`);
  b[at] = raw.length;
  raw.copy(b, at + 1);
}

function getText(b: Buffer, at: number): string {
  return b.toString('utf8', at + 1, at + 1 + b[at]);
}

function putU128(b: Buffer, at: number, v: bigint): void {
  if (v < 0n || v >= 1n << 128n) throw new RecordError(`${v} is not a u128`);
  b.writeBigUInt64LE(v & 0xffffffffffffffffn, at);
  b.writeBigUInt64LE(v >> 64n, at + 8);
}

function getU128(b: Buffer, at: number): bigint {
  return b.readBigUInt64LE(at) | (b.readBigUInt64LE(at + 8) << 64n);
}

/** The UUID's 16 bytes (hex digits in order). */
export function uetrBytes(uetr: string): Buffer {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i.test(uetr)) throw new RecordError(`UETR ${uetr} is not a UUID v4`);
  return Buffer.from(uetr.replace(/-/g, ''), 'hex');
}

export function uetrText(b: Uint8Array): string | undefined {
  if (b.every((x) => x === 0)) return undefined;
  const h = Buffer.from(b).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function putKey(b: Buffer, at: number, key: AccountKey | undefined, what: string): void {
  if (key === undefined) return;
  b[at + P.KEY_KIND] = KIND_CODE[key.kind];
  putText(b, at + P.KEY_TEXT, key.text, key.kind === 'agent' ? 11 : P.TEXT_MAX, what);
}

function getKey(b: Buffer, at: number): AccountKey | undefined {
  const kind = KIND_NAME.get(b[at + P.KEY_KIND]);
  return kind === undefined ? undefined : { kind, text: getText(b, at + P.KEY_TEXT) };
}

function header(op: number, source: number, count: number, originalBytes = 0): Buffer {
  const b = Buffer.alloc(P.HEADER_BYTES);
  b[P.HEADER_OP] = op;
  b[P.HEADER_SOURCE] = source;
  b.writeUInt32LE(count, P.HEADER_COUNT);
  b.writeUInt32LE(originalBytes, P.HEADER_ORIGINAL_BYTES);
  return b;
}

export function directoryPutRequest(entries: DirectoryEntry[]): Buffer {
  const body = Buffer.alloc(entries.length * P.DIRECTORY_ENTRY_BYTES);
  entries.forEach((e, i) => {
    const at = i * P.DIRECTORY_ENTRY_BYTES;
    putKey(body, at + P.ENTRY_KEY, e.key, 'directory key');
    body.writeUInt32LE(e.ledger, at + P.ENTRY_LEDGER);
    body[at + P.ENTRY_FLAGS] = (e.closed ? P.DIR_F_CLOSED : 0) | (e.blocked ? P.DIR_F_BLOCKED : 0);
    putU128(body, at + P.ENTRY_ACCOUNT, e.account);
    putText(body, at + P.ENTRY_NAME, e.name, P.TEXT_MAX, 'directory name');
  });
  return Buffer.concat([header(P.Op.directory_put, 0, entries.length), body]);
}

/** directory_put results: a DIR_R_* per entry. */
export function directoryPutResults(reply: Uint8Array): number[] {
  const b = unrefused(reply);
  const n = b.readUInt32LE(0);
  if (b.length !== P.REPLY_HEADER_BYTES + n * P.DIRECTORY_RESULT_BYTES) throw new RecordError(`directory_put reply of ${b.length} bytes for ${n}`);
  return Array.from({ length: n }, (_, i) => b.readUInt32LE(P.REPLY_HEADER_BYTES + i * P.DIRECTORY_RESULT_BYTES));
}

export function directoryGetRequest(keys: AccountKey[]): Buffer {
  const body = Buffer.alloc(keys.length * P.ACCOUNT_KEY_BYTES);
  keys.forEach((k, i) => putKey(body, i * P.ACCOUNT_KEY_BYTES, k, 'directory key'));
  return Buffer.concat([header(P.Op.directory_get, 0, keys.length), body]);
}

export function directoryGetEntries(reply: Uint8Array): (DirectoryEntry | null)[] {
  const b = unrefused(reply);
  const n = b.readUInt32LE(0);
  if (b.length !== P.REPLY_HEADER_BYTES + n * P.DIRECTORY_ENTRY_BYTES) throw new RecordError(`directory_get reply of ${b.length} bytes for ${n}`);
  return Array.from({ length: n }, (_, i) => {
    const at = P.REPLY_HEADER_BYTES + i * P.DIRECTORY_ENTRY_BYTES;
    const key = getKey(b, at + P.ENTRY_KEY);
    if (key === undefined) return null;
    const flags = b[at + P.ENTRY_FLAGS];
    const name = getText(b, at + P.ENTRY_NAME);
    return {
      key, ledger: b.readUInt32LE(at + P.ENTRY_LEDGER), account: getU128(b, at + P.ENTRY_ACCOUNT),
      closed: (flags & P.DIR_F_CLOSED) !== 0, blocked: (flags & P.DIR_F_BLOCKED) !== 0, ...(name === '' ? {} : { name }),
    };
  });
}

export function directoryListRequest(after: number, limit: number): Buffer {
  if (!Number.isInteger(after) || after < 0 || after > 0xffffffff) throw new RecordError(`directory_list after ${after}`);
  if (!Number.isInteger(limit) || limit < 1 || limit > P.GET_MAX) throw new RecordError(`directory_list limit ${limit}: 1 to ${P.GET_MAX}`);
  const b = Buffer.concat([header(P.Op.directory_list, 0, 1), Buffer.alloc(8)]);
  b.writeUInt32LE(after, P.HEADER_BYTES);
  b.writeUInt32LE(limit, P.HEADER_BYTES + 4);
  return b;
}

/** A directory_list page: its entries and where the next page starts (after = last; a page of none: the end). */
export function directoryListReply(reply: Uint8Array): { last: number; entries: DirectoryEntry[] } {
  const b = unrefused(reply);
  const entries = directoryGetEntries(reply).map((e, i) => {
    if (e === null) throw new RecordError(`directory_list entry ${i}: empty`);
    return e;
  });
  return { last: Number(b.readBigUInt64LE(8)), entries };
}

export interface StatusLine {
  /** The original's EndToEndId, and its UETR when the report gives one. */
  endToEndId?: string;
  uetr?: string;
  /** Four letters: ACSC, ACCC, RJCT, ACSP, PDNG, ... */
  status: string;
  /** An ISO reason code (four letters) for RJCT, when given. */
  reason?: string;
}

export interface StatusReportsRequest {
  msgId: string;
  agent?: string;
  digest: Uint8Array;
  lines: StatusLine[];
  original: Uint8Array;
}

/** Four ASCII letters as the u32 the records hold. */
export function code4Value(code: string, what: string): number {
  if (!/^[A-Z0-9]{4}$/.test(code)) throw new RecordError(`${what}: ${code} is not a four-letter code`);
  return Buffer.from(code, 'latin1').readUInt32LE(0);
}

/** The lead record of a request about a message: its MsgId, the sending agent's BIC (or the servicer's), the SHA-256 of its bytes. */
function messageRecord(msgId: string, agent: string | undefined, digest: Uint8Array, agentWhat: string): Buffer {
  if (digest.length !== 32) throw new RecordError('the digest is a SHA-256');
  const m = Buffer.alloc(P.MESSAGE_BYTES);
  putText(m, P.MESSAGE_ID, msgId, P.TEXT_MAX, 'MsgId');
  putText(m, P.MESSAGE_AGENT, agent, 11, agentWhat);
  m.set(digest, P.MESSAGE_DIGEST);
  return m;
}

/** A request of `lines` records of `recordBytes` each (`write` fills one at `at`), after its header and message record, then the original. */
function linesRequest<T>(op: number, source: number, lead: Buffer, lines: readonly T[], recordBytes: number, what: string,
  write: (b: Buffer, at: number, line: T) => void, original: Uint8Array): Buffer {
  if (lines.length === 0 || lines.length > P.TX_MAX) throw new RecordError(`${lines.length} ${what}: 1 to ${P.TX_MAX}`);
  const body = Buffer.alloc(lines.length * recordBytes);
  lines.forEach((l, i) => write(body, i * recordBytes, l));
  return Buffer.concat([header(op, source, lines.length, original.length), lead, body, original]);
}

export function statusReportsRequest(r: StatusReportsRequest): Buffer {
  return linesRequest(P.Op.status_reports, P.SOURCE_PACS002, messageRecord(r.msgId, r.agent, r.digest, 'sending agent'), r.lines, P.STATUS_BYTES,
    'statuses', (b, at, l) => {
      putText(b, at + P.STATUS_END_TO_END_ID, l.endToEndId, P.TEXT_MAX, 'OrgnlEndToEndId');
      if (l.uetr !== undefined) uetrBytes(l.uetr).copy(b, at + P.STATUS_UETR);
      b.writeUInt32LE(code4Value(l.status, 'TxSts'), at + P.STATUS_STATUS);
      if (l.reason !== undefined) b.writeUInt32LE(code4Value(l.reason, 'StsRsnInf/Rsn/Cd'), at + P.STATUS_REASON);
    }, r.original);
}

export interface ReturnLine {
  endToEndId?: string;
  uetr?: string;
  /** The ledger of the returned amount's currency (0: none holds it). */
  ledger: number;
  amount: bigint;
  /** The return reason (four letters), when given. */
  reason?: string;
}

export function returnsRequest(r: { msgId: string; agent?: string; digest: Uint8Array; lines: ReturnLine[]; original: Uint8Array }): Buffer {
  return linesRequest(P.Op.returns, P.SOURCE_PACS004, messageRecord(r.msgId, r.agent, r.digest, 'sending agent'), r.lines, P.RETURN_BYTES,
    'returns', (b, at, l) => {
      putText(b, at + P.RETURN_END_TO_END_ID, l.endToEndId, P.TEXT_MAX, 'OrgnlEndToEndId');
      if (l.uetr !== undefined) uetrBytes(l.uetr).copy(b, at + P.RETURN_UETR);
      b.writeUInt32LE(l.ledger, at + P.RETURN_LEDGER);
      if (l.reason !== undefined) b.writeUInt32LE(code4Value(l.reason, 'RtrRsnInf/Rsn/Cd'), at + P.RETURN_REASON);
      putU128(b, at + P.RETURN_AMOUNT, l.amount);
    }, r.original);
}

export interface EntryLine {
  endToEndId?: string;
  uetr?: string;
  ledger: number;
  amount: bigint;
  side: 'CRDT' | 'DBIT';
}

export function reconcileRequest(r: { source: 'camt.053' | 'camt.054'; msgId: string; agent?: string; digest: Uint8Array; lines: EntryLine[]; original: Uint8Array }): Buffer {
  const source = r.source === 'camt.053' ? P.SOURCE_CAMT053 : P.SOURCE_CAMT054;
  return linesRequest(P.Op.reconcile, source, messageRecord(r.msgId, r.agent, r.digest, 'account servicer'), r.lines, P.ENTRY_BYTES,
    'entries', (b, at, l) => {
      putText(b, at + P.ENTRY_END_TO_END_ID, l.endToEndId, P.TEXT_MAX, 'EndToEndId');
      if (l.uetr !== undefined) uetrBytes(l.uetr).copy(b, at + P.ENTRY_UETR);
      b.writeUInt32LE(l.ledger, at + P.ENTRY_LEDGER_OF);
      b[at + P.ENTRY_SIDE] = l.side === 'CRDT' ? P.ENTRY_CREDIT : P.ENTRY_DEBIT;
      putU128(b, at + P.ENTRY_AMOUNT, l.amount);
    }, r.original);
}

/** A normalised party name (a-z 0-9 words, one space apart) into its length byte and slot. */
function putName(b: Buffer, lengthAt: number, at: number, name: string | undefined, what: string): void {
  if (name === undefined || name === '') return;
  // The compliance protocol's normalised text (host/compliance/records.ts isNormalized, which this folder may not import:
  // host/compliance reads payments' records).
  if (!/^[a-z0-9]+( [a-z0-9]+)*$/.test(name) || name.length > P.TX_NAME_MAX) throw new RecordError(`${what}: not a normalised name of at most ${P.TX_NAME_MAX} bytes`);
  b[lengthAt] = name.length;
  b.write(name, at, 'latin1');
}

/** A country (ISO 3166 alpha-2, upper case) into its two bytes; none leaves zeros. */
function putCountry(b: Buffer, at: number, country: string | undefined, what: string): void {
  if (country === undefined) return;
  if (!/^[A-Z]{2}$/.test(country)) throw new RecordError(`${what}: ${JSON.stringify(country)} is not two upper-case letters`);
  b.write(country, at, 'latin1');
}

export function creditTransfersRequest(r: CreditTransfersRequest): Buffer {
  return linesRequest(P.Op.credit_transfers, SOURCE_CODE[r.source], messageRecord(r.msgId, r.agent, r.digest, 'sending agent'), r.transactions,
    P.TX_BYTES, 'transactions', (b, at, t) => {
      putText(b, at + P.TX_INSTR_ID, t.instrId, P.TEXT_MAX, 'InstrId');
      putText(b, at + P.TX_END_TO_END_ID, t.endToEndId, P.TEXT_MAX, 'EndToEndId');
      putText(b, at + P.TX_TX_ID, t.txId, P.TEXT_MAX, 'TxId');
      if (t.uetr !== undefined) uetrBytes(t.uetr).copy(b, at + P.TX_UETR);
      b.writeUInt32LE(t.ledger, at + P.TX_LEDGER);
      putU128(b, at + P.TX_AMOUNT, t.amount);
      putKey(b, at + P.TX_DEBTOR, t.debtor, 'debtor account');
      putKey(b, at + P.TX_CREDITOR, t.creditor, 'creditor account');
      putText(b, at + P.TX_DEBTOR_AGENT, t.debtorAgent, 11, 'debtor agent');
      putText(b, at + P.TX_CREDITOR_AGENT, t.creditorAgent, 11, 'creditor agent');
      putName(b, at + P.TX_DEBTOR_NAME_LENGTH, at + P.TX_DEBTOR_NAME, t.debtorName, 'debtor name');
      putName(b, at + P.TX_CREDITOR_NAME_LENGTH, at + P.TX_CREDITOR_NAME, t.creditorName, 'creditor name');
      putCountry(b, at + P.TX_DEBTOR_COUNTRY, t.debtorCountry, 'debtor country');
      putCountry(b, at + P.TX_CREDITOR_COUNTRY, t.creditorCountry, 'creditor country');
    }, r.original);
}

export interface TxResult {
  status: string;
  reason?: string;
  payment: bigint;
  transfer: bigint;
  ledgerResult: number;
  timestamp: bigint;
}

const code4 = (v: number): string => Buffer.from(Uint32Array.of(v).buffer).toString('latin1');

/** A request the payments service refused whole (REPLY_F_REFUSED): why (REFUSED_*) and its reason. */
export class PaymentsRefusal extends Error {
  constructor(readonly code: number, message: string) {
    super(message);
  }
}

/** Throws PaymentsRefusal when the reply is a refusal; else the reply as a Buffer. */
function unrefused(reply: Uint8Array): Buffer {
  const b = Buffer.from(reply);
  if (b.length < P.REPLY_HEADER_BYTES) throw new RecordError('a reply shorter than its header');
  if ((b.readUInt32LE(4) & P.REPLY_F_REFUSED) !== 0) throw new PaymentsRefusal(b.readUInt32LE(P.REPLY_REFUSED), b.toString('latin1', P.REPLY_HEADER_BYTES));
  return b;
}

/** A credit transfers (or status report, return, reconcile) reply: whether repeated, the time of its message, a result per line. */
export function creditTransfersResults(reply: Uint8Array): { repeated: boolean; time: bigint; results: TxResult[] } {
  const b = unrefused(reply);
  const n = b.readUInt32LE(0);
  if (b.length !== P.REPLY_HEADER_BYTES + n * P.RESULT_BYTES) throw new RecordError(`credit_transfers reply of ${b.length} bytes for ${n}`);
  const results = Array.from({ length: n }, (_, i) => resultAt(b, P.REPLY_HEADER_BYTES + i * P.RESULT_BYTES));
  return { repeated: (b.readUInt32LE(4) & P.REPLY_F_REPEATED) !== 0, time: b.readBigUInt64LE(P.REPLY_TIME), results };
}

function resultAt(b: Buffer, at: number): TxResult {
  const reason = b.readUInt32LE(at + P.RESULT_REASON);
  return {
    status: code4(b.readUInt32LE(at + P.RESULT_STATUS)), ...(reason === 0 ? {} : { reason: code4(reason) }),
    payment: b.readBigUInt64LE(at + P.RESULT_PAYMENT), transfer: getU128(b, at + P.RESULT_TRANSFER),
    ledgerResult: b.readUInt32LE(at + P.RESULT_LEDGER), timestamp: b.readBigUInt64LE(at + P.RESULT_TIMESTAMP),
  };
}

/**
 * A credit_transfers request as the message_part requests that carry it
 * when it is more than one message holds (PART_BYTES_MAX), else itself alone.
 */
export function inParts(request: Buffer): Buffer[] {
  if (request.length <= P.PART_BYTES_MAX) return [request];
  const parts = Math.ceil(request.length / P.PART_BYTES_MAX);
  if (parts > P.PARTS_MAX || request.length > P.ASSEMBLED_BYTES_MAX) {
    throw new RecordError(`a request of ${request.length} bytes: more than the ${P.ASSEMBLED_BYTES_MAX} bytes a message in parts may be`);
  }
  const digest = createHash('sha256').update(request).digest();
  return Array.from({ length: parts }, (_, i) => {
    const lead = Buffer.alloc(P.PART_BYTES);
    digest.copy(lead, P.PART_DIGEST);
    lead.writeUInt32LE(request.length, P.PART_TOTAL);
    lead.writeUInt32LE(i, P.PART_INDEX);
    lead.writeUInt32LE(parts, P.PART_COUNT);
    return Buffer.concat([header(P.Op.message_part, request[P.HEADER_SOURCE], 1), lead, request.subarray(i * P.PART_BYTES_MAX, (i + 1) * P.PART_BYTES_MAX)]);
  });
}

/** Whether a reply says a message part was taken (the next one is wanted). */
export function partTaken(reply: Uint8Array): boolean {
  const b = Buffer.from(reply.buffer, reply.byteOffset, reply.byteLength);
  return b.length === P.REPLY_HEADER_BYTES && b.readUInt32LE(0) === 0 && (b.readUInt32LE(4) & P.REPLY_F_PART) !== 0;
}

export function paymentMessagesRequest(id: bigint): Buffer {
  const body = Buffer.alloc(8);
  body.writeBigUInt64LE(id);
  return Buffer.concat([header(P.Op.payment_messages, 0, 1), body]);
}

/** A message about a payment (payment_messages' MESSAGE_INFO_BYTES record). */
export interface MessageInfo {
  number: number; source: number; role: 'origin' | 'status' | 'return'; count: number; time: bigint;
  msgId: string; agent?: string; digest: Buffer; first: bigint;
}

const ROLE_NAME: Record<number, MessageInfo['role']> = { [P.MSG_ROLE_ORIGIN]: 'origin', [P.MSG_ROLE_STATUS]: 'status', [P.MSG_ROLE_RETURN]: 'return' };

/** payment_messages' reply: the payment, the messages about it, its first message's results as first answered; null: no such payment. */
export function paymentMessagesReply(reply: Uint8Array): { payment: PaymentRecord; messages: MessageInfo[]; results: TxResult[] } | null {
  const b = unrefused(reply);
  const n = b.readUInt32LE(0);
  if (n === 0 && b.length === P.REPLY_HEADER_BYTES) return null;
  const infos = P.REPLY_HEADER_BYTES + P.PAYMENT_BYTES;
  if (n < 1 || n > P.PAYMENT_MESSAGES_MAX || b.length < infos + n * P.MESSAGE_INFO_BYTES) throw new RecordError(`payment_messages reply of ${b.length} bytes for ${n}`);
  const payment = paymentRecordAt(b, P.REPLY_HEADER_BYTES);
  if (payment === null) throw new RecordError('payment_messages: an empty payment record');
  const messages = Array.from({ length: n }, (_, i): MessageInfo => {
    const at = infos + i * P.MESSAGE_INFO_BYTES;
    const role = ROLE_NAME[b[at + P.INFO_ROLE]];
    if (role === undefined) throw new RecordError(`payment_messages: message ${i}: role ${b[at + P.INFO_ROLE]}`);
    const agent = getText(b, at + P.INFO_AGENT);
    return {
      number: b.readUInt32LE(at + P.INFO_NUMBER), source: b[at + P.INFO_SOURCE], role, count: b.readUInt32LE(at + P.INFO_COUNT),
      time: b.readBigUInt64LE(at + P.INFO_TIME), msgId: getText(b, at + P.INFO_MSG_ID), ...(agent === '' ? {} : { agent }),
      digest: Buffer.from(b.subarray(at + P.INFO_DIGEST, at + P.INFO_DIGEST + 32)), first: b.readBigUInt64LE(at + P.INFO_FIRST),
    };
  });
  const from = infos + n * P.MESSAGE_INFO_BYTES;
  if (messages[0].role !== 'origin' || b.length !== from + messages[0].count * P.RESULT_BYTES) {
    throw new RecordError(`payment_messages reply of ${b.length} bytes for ${messages[0].count} results`);
  }
  const results = Array.from({ length: messages[0].count }, (_, i) => resultAt(b, from + i * P.RESULT_BYTES));
  return { payment, messages, results };
}

export function paymentGetRequest(ids: bigint[]): Buffer {
  const body = Buffer.alloc(ids.length * 8);
  ids.forEach((id, i) => body.writeBigUInt64LE(id, i * 8));
  return Buffer.concat([header(P.Op.payment_get, 0, ids.length), body]);
}

export interface ListFilter { after: bigint; limit: number; state: number; source: number; ledger: number }

export function paymentListRequest(f: ListFilter): Buffer {
  const b = Buffer.alloc(P.LIST_FILTER_BYTES);
  b.writeBigUInt64LE(f.after, P.LIST_AFTER);
  b.writeUInt32LE(f.limit, P.LIST_LIMIT);
  b[P.LIST_STATE] = f.state;
  b[P.LIST_SOURCE] = f.source;
  b.writeUInt32LE(f.ledger, P.LIST_LEDGER);
  return Buffer.concat([header(P.Op.payment_list, 0, 1), b]);
}

/** payment_list's reply: the records, and the last id looked at (the next page's `after`). */
export function paymentList(reply: Uint8Array): { last: bigint; records: PaymentRecord[] } {
  const b = unrefused(reply);
  const records = paymentRecords(b).map((p, i) => {
    if (p === null) throw new RecordError(`payment_list: record ${i} is empty`);
    return p;
  });
  return { last: b.readBigUInt64LE(P.REPLY_LAST), records };
}

export function statementRequest(key: AccountKey, from: bigint, to: bigint, limit: number): Buffer {
  const b = Buffer.alloc(P.STATEMENT_REQUEST_BYTES);
  putKey(b, P.STATEMENT_KEY, key, 'account');
  b.writeBigUInt64LE(from, P.STATEMENT_FROM);
  b.writeBigUInt64LE(to, P.STATEMENT_TO);
  b.writeUInt32LE(limit, P.STATEMENT_LIMIT);
  return Buffer.concat([header(P.Op.statement, 0, 1), b]);
}

export interface StatementReply {
  account: bigint;
  ledger: number;
  /** Transfers in the period (all, even those not listed) and whether the list was cut. */
  entriesInPeriod: number;
  truncated: boolean;
  opening: { debitsPosted: bigint; creditsPosted: bigint };
  closing: { debitsPosted: bigint; creditsPosted: bigint };
  from: bigint;
  to: bigint;
  /** The listed transfers: the ledger's records, oldest first. */
  transfers: Buffer[];
}

export function statementReply(reply: Uint8Array): StatementReply {
  const b = unrefused(reply);
  const n = b.readUInt32LE(0);
  const at = P.REPLY_HEADER_BYTES;
  if (b.length !== at + P.STATEMENT_BYTES + n * 128) throw new RecordError(`statement reply of ${b.length} bytes for ${n} entries`);
  return {
    account: getU128(b, at + P.STMT_ACCOUNT), ledger: b.readUInt32LE(at + P.STMT_LEDGER), entriesInPeriod: b.readUInt32LE(at + P.STMT_ENTRIES),
    truncated: b[at + P.STMT_TRUNCATED] !== 0,
    opening: { debitsPosted: getU128(b, at + P.STMT_OPENING_DEBITS), creditsPosted: getU128(b, at + P.STMT_OPENING_CREDITS) },
    closing: { debitsPosted: getU128(b, at + P.STMT_CLOSING_DEBITS), creditsPosted: getU128(b, at + P.STMT_CLOSING_CREDITS) },
    from: b.readBigUInt64LE(at + P.STMT_FROM), to: b.readBigUInt64LE(at + P.STMT_TO),
    transfers: Array.from({ length: n }, (_, i) => b.subarray(at + P.STATEMENT_BYTES + i * 128, at + P.STATEMENT_BYTES + (i + 1) * 128)),
  };
}

export interface PaymentRecord {
  id: bigint; state: 'settled' | 'pending' | 'rejected' | 'returned' | 'held'; source: number; reason?: string; ledger: number;
  /** The compliance service's decision on it (absent: not checked) and the alert it raised (0: none). */
  compliance?: 'allow' | 'hold' | 'refuse'; alert: number;
  amount: bigint; transfer: bigint; debit: bigint; credit: bigint; created: bigint; timestamp: bigint;
  uetr?: string; endToEndId: string; instrId?: string; txId?: string; agent?: string; ledgerResult: number;
}

const STATE_NAME: Record<number, PaymentRecord['state']> = {
  [P.STATE_SETTLED]: 'settled', [P.STATE_PENDING]: 'pending', [P.STATE_REJECTED]: 'rejected', [P.STATE_RETURNED]: 'returned', [P.STATE_HELD]: 'held',
};
const DECISION_NAME: Record<number, PaymentRecord['compliance']> = { [C.ACTION_ALLOW]: 'allow', [C.ACTION_HOLD]: 'hold', [C.ACTION_REFUSE]: 'refuse' };

function decisionName(id: bigint, code: number): PaymentRecord['compliance'] {
  const name = DECISION_NAME[code];
  if (name === undefined) throw new RecordError(`payment ${id}: compliance decision ${code}`);
  return name;
}

/** A held payment's release or rejection (hold_release), once its compliance case is closed. */
export interface ReleaseLine { payment: bigint; outcome: 'release' | 'reject'; reason?: string }

export function holdReleaseRequest(lines: readonly ReleaseLine[]): Buffer {
  if (lines.length === 0 || lines.length > P.GET_MAX) throw new RecordError(`${lines.length} releases: 1 to ${P.GET_MAX}`);
  const b = Buffer.concat([header(P.Op.hold_release, 0, lines.length), Buffer.alloc(lines.length * P.RELEASE_BYTES)]);
  lines.forEach((l, i) => {
    const at = P.HEADER_BYTES + i * P.RELEASE_BYTES;
    if (l.payment <= 0n || l.payment >= 1n << 64n) throw new RecordError(`release ${i + 1}: payment id ${l.payment}`);
    b.writeBigUInt64LE(l.payment, at + P.RELEASE_PAYMENT);
    b[at + P.RELEASE_OUTCOME] = l.outcome === 'release' ? C.OUTCOME_RELEASE : C.OUTCOME_REJECT;
    if (l.reason !== undefined) {
      if (l.outcome === 'release') throw new RecordError(`release ${i + 1}: a release gives no reason`);
      b.writeUInt32LE(code4Value(l.reason, `release ${i + 1}: reason`), at + P.RELEASE_REASON);
    }
  });
  return b;
}

/** hold_release's results, one per line (the layout of credit transfers' results). */
export function holdReleaseResults(reply: Uint8Array): TxResult[] {
  const b = unrefused(reply);
  const n = b.readUInt32LE(0);
  if (b.length !== P.REPLY_HEADER_BYTES + n * P.RESULT_BYTES) throw new RecordError(`hold_release reply of ${b.length} bytes for ${n}`);
  return Array.from({ length: n }, (_, i) => resultAt(b, P.REPLY_HEADER_BYTES + i * P.RESULT_BYTES));
}

export function paymentRecords(reply: Uint8Array): (PaymentRecord | null)[] {
  const b = unrefused(reply);
  const n = b.readUInt32LE(0);
  if (b.length !== P.REPLY_HEADER_BYTES + n * P.PAYMENT_BYTES) throw new RecordError(`payment_get reply of ${b.length} bytes for ${n}`);
  return Array.from({ length: n }, (_, i) => paymentRecordAt(b, P.REPLY_HEADER_BYTES + i * P.PAYMENT_BYTES));
}

/** The PAYMENT_BYTES record at `at` of `b` (a reply, an event's items); null for an empty one (id 0). */
export function paymentRecordAt(b: Buffer, at: number): PaymentRecord | null {
  if (at < 0 || at + P.PAYMENT_BYTES > b.length) throw new RecordError(`a payment record at ${at} of ${b.length} bytes`);
  const id = b.readBigUInt64LE(at + P.PAY_ID);
  if (id === 0n) return null;
  const state = STATE_NAME[b[at + P.PAY_STATE]];
  if (state === undefined) throw new RecordError(`payment ${id}: state ${b[at + P.PAY_STATE]}`);
  const reason = b.readUInt32LE(at + P.PAY_REASON);
  const opt = (k: string, v: string | undefined) => (v === undefined || v === '' ? {} : { [k]: v });
  return {
    id, state, source: b[at + P.PAY_SOURCE], ...(reason === 0 ? {} : { reason: code4(reason) }), ledger: b.readUInt32LE(at + P.PAY_LEDGER),
    amount: getU128(b, at + P.PAY_AMOUNT), transfer: getU128(b, at + P.PAY_TRANSFER), debit: getU128(b, at + P.PAY_DEBIT),
    credit: getU128(b, at + P.PAY_CREDIT), created: b.readBigUInt64LE(at + P.PAY_CREATED), timestamp: b.readBigUInt64LE(at + P.PAY_TIMESTAMP),
    ...opt('uetr', uetrText(b.subarray(at + P.PAY_UETR, at + P.PAY_UETR + 16))), endToEndId: getText(b, at + P.PAY_END_TO_END_ID),
    ...opt('instrId', getText(b, at + P.PAY_INSTR_ID)), ...opt('txId', getText(b, at + P.PAY_TX_ID)), ...opt('agent', getText(b, at + P.PAY_AGENT)),
    ledgerResult: b.readUInt32LE(at + P.PAY_LEDGER_RESULT),
    ...(b[at + P.PAY_COMPLIANCE] === 0 ? {} : { compliance: decisionName(id, b[at + P.PAY_COMPLIANCE]) }), alert: b.readUInt32LE(at + P.PAY_ALERT),
  } as PaymentRecord;
}
