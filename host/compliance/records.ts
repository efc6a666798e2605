// host/compliance/records.ts: the compliance service's requests and replies
// (services/compliance/protocol.ts) written and read on the host side: the
// staged load (list_begin, list_names, list_commit), search and list_status,
// and their replies; a refusal is thrown as a ComplianceRefusal with its
// REFUSED_* code and the service's reason. The lists' loader, the gateway's
// front end and the tests use it; the layouts are the protocol file's alone.
// Normalised text is the normaliser's (names.ts): here it is only checked.

import * as P from '../../services/compliance/protocol.ts';
import { cutUtf8 } from './names.ts';

export class RecordError extends Error {}

export class ComplianceRefusal extends Error {
  constructor(readonly code: number, message: string) {
    super(message);
  }
}

/** One name of one entry of a list: its primary name or an alias. */
export interface NameRecord {
  /** The list (LIST_*); namesRequest takes it from its records when not given. */
  list?: number;
  /** TYPE_*. */
  type: number;
  alias: boolean;
  /** An alias its list marks of low quality (an alias only). */
  weak: boolean;
  /** The list's own id of the entry (printable ASCII, no space). */
  entityId: string;
  /** The normaliser's text: [a-z0-9] words, one space between them. */
  normalized: string;
  /** The name as the list writes it (UTF-8; cut at a character boundary to DISPLAY_MAX bytes). */
  display: string;
}

export interface ListLoad {
  list: number;
  /** SHA-256 of the list's input files (32 bytes). */
  version: Uint8Array;
  entries: number;
  names: number;
}

export interface SearchQuery {
  normalized: string;
  /** TYPE_*, or 0 (default): any. */
  type?: number;
  /** 1..MATCHES_MAX (default 10). */
  limit?: number;
  /** Millionths; 0 (default): the service's configured threshold. */
  threshold?: number;
}

export interface Match {
  list: number;
  type: number;
  entityId: string;
  display: string;
  score: number;
  /** The first 4 bytes of the list version that decided, as hex. */
  version: string;
  alias: boolean;
  weak: boolean;
}

export interface SearchResult {
  matches: Match[];
  /** Names the service scored (the candidates its index gave). */
  scored: number;
  /** Entries at or over the threshold (matches is at most `limit` of them). */
  total: number;
}

export interface ListStatus {
  list: number;
  /** Hex; null when no list is in force. */
  version: string | null;
  entries: number;
  names: number;
  /** Logical ns when it was put in force. */
  time: bigint;
  /** Names of a load in progress. */
  staged: number;
}

const NORMALIZED = /^[a-z0-9]+( [a-z0-9]+)*$/;
const ENTITY_ID = /^[\x21-\x7e]+$/;
const DEFAULT_LIMIT = 10;

function header(op: number, list: number, count: number): Buffer {
  const b = Buffer.alloc(P.HEADER_BYTES);
  b[P.HEADER_OP] = op;
  b[P.HEADER_LIST] = list;
  b.writeUInt32LE(count, P.HEADER_COUNT);
  return b;
}

function listValid(list: number | undefined, what: string): number {
  if (list === undefined || !Number.isInteger(list) || list < 1 || list > P.LISTS) throw new RecordError(`${what}: list ${list} is not 1..${P.LISTS}`);
  return list;
}

/** Normalised text as bytes, checked: [a-z0-9] words, one space between them, 1..NORMALIZED_MAX bytes. */
/** Whether `text` is normalised text a slot holds: [a-z0-9] words, one space between them, at most NORMALIZED_MAX bytes. */
export function isNormalized(text: string): boolean {
  return NORMALIZED.test(text) && text.length <= P.NORMALIZED_MAX;
}

function normalizedBytes(text: string, what: string): Buffer {
  if (!NORMALIZED.test(text)) throw new RecordError(`${what}: ${JSON.stringify(text)} is not normalised text ([a-z0-9] words, one space between them)`);
  if (text.length > P.NORMALIZED_MAX) throw new RecordError(`${what}: ${text.length} bytes of normalised text, at most ${P.NORMALIZED_MAX}`);
  return Buffer.from(text, 'latin1');
}

/** One NAME_BYTES record. */
export function nameRecord(r: NameRecord): Buffer {
  const b = Buffer.alloc(P.NAME_BYTES);
  if (!Number.isInteger(r.type) || r.type < P.TYPE_INDIVIDUAL || r.type > P.TYPE_AIRCRAFT) throw new RecordError(`name: type ${r.type}`);
  if (r.weak && !r.alias) throw new RecordError(`name ${r.entityId}: weak, but not an alias`);
  if (!ENTITY_ID.test(r.entityId) || r.entityId.length > P.ENTITY_ID_MAX) throw new RecordError(`name: entity id ${JSON.stringify(r.entityId)}`);
  const normalized = normalizedBytes(r.normalized, `name ${r.entityId}`);
  const display = Buffer.from(cutUtf8(r.display, P.DISPLAY_MAX), 'utf8');
  if (display.length === 0) throw new RecordError(`name ${r.entityId}: no display name`);
  b[P.NAME_TYPE] = r.type;
  b[P.NAME_FLAGS] = (r.alias ? P.NAME_F_ALIAS : 0) | (r.weak ? P.NAME_F_WEAK : 0);
  b[P.NAME_ID_LENGTH] = r.entityId.length;
  b.write(r.entityId, P.NAME_ID, 'latin1');
  b[P.NAME_NORMALIZED_LENGTH] = normalized.length;
  normalized.copy(b, P.NAME_NORMALIZED);
  b[P.NAME_DISPLAY_LENGTH] = display.length;
  display.copy(b, P.NAME_DISPLAY);
  return b;
}

function beginRecord(load: ListLoad): Buffer {
  const b = Buffer.alloc(P.BEGIN_BYTES);
  if (load.version.length !== 32) throw new RecordError(`list version: ${load.version.length} bytes, not 32`);
  for (const [k, v] of [['entries', load.entries], ['names', load.names]] as const) {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new RecordError(`list ${k}: ${v}`);
  }
  Buffer.from(load.version).copy(b, P.BEGIN_VERSION);
  b.writeUInt32LE(load.entries, P.BEGIN_ENTRIES);
  b.writeUInt32LE(load.names, P.BEGIN_NAMES);
  return b;
}

/** list_begin: starts a staged load of load.list. */
export function beginRequest(load: ListLoad): Buffer {
  return Buffer.concat([header(P.Op.list_begin, listValid(load.list, 'list_begin'), 1), beginRecord(load)]);
}

/** list_commit: puts the staged load in force (the same record as its list_begin). */
export function commitRequest(load: ListLoad): Buffer {
  return Buffer.concat([header(P.Op.list_commit, listValid(load.list, 'list_commit'), 1), beginRecord(load)]);
}

/** list_names: 1..NAMES_PER_REQUEST records of one list (`list`, or the records' own). */
export function namesRequest(records: NameRecord[], list?: number): Buffer {
  if (records.length === 0 || records.length > P.NAMES_PER_REQUEST) throw new RecordError(`list_names: ${records.length} records, 1..${P.NAMES_PER_REQUEST}`);
  const l = listValid(list ?? records[0].list, 'list_names');
  for (const r of records) if (r.list !== undefined && r.list !== l) throw new RecordError(`list_names: a name of list ${r.list} in a request of list ${l}`);
  return Buffer.concat([header(P.Op.list_names, l, records.length), ...records.map(nameRecord)]);
}

/** The list_names requests of a whole list, NAMES_PER_REQUEST records at most each. */
export function namesRequests(records: NameRecord[], list?: number, per: number = P.NAMES_PER_REQUEST): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < records.length; i += per) out.push(namesRequest(records.slice(i, i + per), list));
  return out;
}

export function searchRequest(q: SearchQuery): Buffer {
  const b = Buffer.alloc(P.SEARCH_BYTES);
  const normalized = normalizedBytes(q.normalized, 'search');
  const type = q.type ?? 0;
  const limit = q.limit ?? DEFAULT_LIMIT;
  const threshold = q.threshold ?? 0;
  if (!Number.isInteger(type) || type < 0 || type > P.TYPE_AIRCRAFT) throw new RecordError(`search: type ${type}`);
  if (!Number.isInteger(limit) || limit < 1 || limit > P.MATCHES_MAX) throw new RecordError(`search: limit ${limit}, 1..${P.MATCHES_MAX}`);
  if (!Number.isInteger(threshold) || threshold < 0 || threshold > P.SCORE_ONE) throw new RecordError(`search: threshold ${threshold}, 0..${P.SCORE_ONE}`);
  b[P.SEARCH_TYPE] = type;
  b[P.SEARCH_LIMIT] = limit;
  b[P.SEARCH_NORMALIZED_LENGTH] = normalized.length;
  b.writeUInt32LE(threshold, P.SEARCH_THRESHOLD);
  normalized.copy(b, P.SEARCH_NORMALIZED);
  return Buffer.concat([header(P.Op.search, 0, 1), b]);
}

export function listStatusRequest(): Buffer {
  return header(P.Op.list_status, 0, 0);
}

/** Throws ComplianceRefusal when the reply is a refusal; else the reply as a Buffer. */
function unrefused(reply: Uint8Array): Buffer {
  const b = Buffer.from(reply);
  if (b.length < P.REPLY_HEADER_BYTES) throw new RecordError('a reply shorter than its header');
  if ((b.readUInt32LE(4) & P.REPLY_F_REFUSED) !== 0) throw new ComplianceRefusal(b.readUInt32LE(P.REPLY_REFUSED), b.toString('latin1', P.REPLY_HEADER_BYTES));
  return b;
}

function bare(reply: Uint8Array, what: string): Buffer {
  const b = unrefused(reply);
  if (b.length !== P.REPLY_HEADER_BYTES || b.readUInt32LE(0) !== 0) throw new RecordError(`${what} reply of ${b.length} bytes`);
  return b;
}

/** list_begin's reply: nothing but that it was taken. */
export function beginReply(reply: Uint8Array): void {
  bare(reply, 'list_begin');
}

/** list_names' reply: the names staged so far. */
export function namesReply(reply: Uint8Array): number {
  return Number(bare(reply, 'list_names').readBigUInt64LE(8));
}

/** list_commit's reply: the names now in force. */
export function commitReply(reply: Uint8Array): number {
  return Number(bare(reply, 'list_commit').readBigUInt64LE(8));
}

function matchAt(b: Buffer, at: number): Match {
  const flags = b[at + P.MATCH_FLAGS];
  return {
    list: b[at + P.MATCH_LIST], type: b[at + P.MATCH_TYPE],
    entityId: b.toString('latin1', at + P.MATCH_ID, at + P.MATCH_ID + b[at + P.MATCH_ID_LENGTH]),
    display: b.toString('utf8', at + P.MATCH_DISPLAY, at + P.MATCH_DISPLAY + b[at + P.MATCH_DISPLAY_LENGTH]),
    score: b.readUInt32LE(at + P.MATCH_SCORE), version: b.toString('hex', at + P.MATCH_VERSION, at + P.MATCH_VERSION + 4),
    alias: (flags & P.NAME_F_ALIAS) !== 0, weak: (flags & P.NAME_F_WEAK) !== 0,
  };
}

export function searchReply(reply: Uint8Array): SearchResult {
  const b = unrefused(reply);
  const n = b.readUInt32LE(0);
  if (n > P.MATCHES_MAX || b.length !== P.REPLY_HEADER_BYTES + n * P.MATCH_BYTES) throw new RecordError(`search reply of ${b.length} bytes for ${n}`);
  const matches = Array.from({ length: n }, (_, i) => matchAt(b, P.REPLY_HEADER_BYTES + i * P.MATCH_BYTES));
  return { matches, scored: b.readUInt32LE(8), total: b.readUInt32LE(12) };
}

export function listStatusReply(reply: Uint8Array): ListStatus[] {
  const b = unrefused(reply);
  const n = b.readUInt32LE(0);
  if (n !== P.LISTS || b.length !== P.REPLY_HEADER_BYTES + n * P.STATUS_BYTES) throw new RecordError(`list_status reply of ${b.length} bytes for ${n}`);
  return Array.from({ length: n }, (_, i) => {
    const at = P.REPLY_HEADER_BYTES + i * P.STATUS_BYTES;
    const version = b.subarray(at + P.STATUS_VERSION, at + P.STATUS_VERSION + 32);
    return {
      list: i + 1, version: version.every((x) => x === 0) ? null : version.toString('hex'),
      entries: b.readUInt32LE(at + P.STATUS_ENTRIES), names: b.readUInt32LE(at + P.STATUS_NAMES),
      time: b.readBigUInt64LE(at + P.STATUS_TIME), staged: b.readUInt32LE(at + P.STATUS_STAGED),
    };
  });
}
