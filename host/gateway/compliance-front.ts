// host/gateway/compliance-front.ts: the compliance routes' front end
// (docs/compliance.md): what a client sends turned into the compliance
// service's requests (services/compliance/protocol.ts, host/compliance/
// records.ts), and its replies into the answer.
//
//   POST /v1/screening/search   {"name","type"?,"limit"?} → the name
//       normalised here (host/compliance/names.ts), searched by the service
//       → {"matches":[{"list","entity_id","name","score",...}],...}
//   POST /v1/compliance/lists   {"list":"ofac_sdn"|"un","files":{...base64}}
//       → the files parsed and normalised here (host/compliance/import.ts),
//       loaded as list_begin, list_names…, list_commit, each frame sent when
//       the service took the one before → {"event":"list_imported",...}
//       → then the bank's account owners screened again (below) →
//       {"event":"list_imported",...,"owners_screened",...}
//   GET  /v1/compliance/lists   → the lists in force (list_status)
//   POST /v1/compliance/rescreen → the payments directory paged and its
//       owners screened (host/compliance/rescreen.ts) → {"event":"rescreened",
//       "owners_screened","owners_listed","marks_changed","alerts","owners_unnamed"}
//   the rules, alerts, cases, decisions and reports routes: ./cases-front.ts
//
// A name or a list file refused here is answered 400 and never logged.

import { LedgerJsonError } from './ledger-json.ts';
import { SCREEN_NAME_CHARS_MAX } from '../base/limits.ts';
import { isJsonObject, JsonNumber, type JsonValue } from './json.ts';
import * as P from '../../services/compliance/protocol.ts';
import { ListError, type EntryType, type ListId } from '../compliance/lists.ts';
import { ENTRY_TYPES, NameError, normalizeName, typeCode, typeName } from '../compliance/names.ts';
import { checkCommitted, importedLine, LIST_FILES, LIST_NAMES, parseListFiles, prepareLoad, type ListFiles, type PreparedLoad } from '../compliance/import.ts';
import { casesAnswer, casesRequest, type CasesContext, type CasesHandler } from './cases-front.ts';
import { inOrder, type Chain, type Frame } from './gateway-wire.ts';
import { rescreenFirst, rescreenJson, rescreenNext, rescreenStart } from '../compliance/rescreen.ts';
import type { LedgerCurrencies } from './payment-json.ts';
import {
  listStatusReply, listStatusRequest, RecordError, searchReply, searchRequest, type ListStatus,
} from '../compliance/records.ts';

export type ComplianceHandler = 'screening_search' | 'lists_import' | 'lists_status' | 'rescreen' | CasesHandler;

/** What the answer needs of the request. */
export interface ComplianceContext {
  handler: ComplianceHandler;
  load?: Omit<PreparedLoad, 'requests'>;
  /** A list load's commit reply, when the account owners' rescreen followed it. */
  commit?: Buffer;
  /** The account owners' rescreen (POST /v1/compliance/rescreen, and after a list load): its progress and tally. */
  rescreen?: ReturnType<typeof rescreenStart> & { error?: string };
  /** The rules, alerts, cases, decisions and reports routes (./cases-front.ts). */
  cases?: CasesContext;
}

/** What a compliance request needs besides its body: the path's id, the query string, the gateway's ledgers. */
export interface ComplianceTarget { id: bigint; query: string; ledgers: LedgerCurrencies }

/** A refused compliance body: a LedgerJsonError, so the gateway's body refusal path answers it (400 with `code`). */
export class ComplianceInputError extends LedgerJsonError {
  override name = 'ComplianceInputError';
}

/** A rescreen a service refused part way (the marks made before it stand): its reason and what was done. */
export class ComplianceRescreenError extends Error {
  constructor(message: string, readonly done: Record<string, number>) { super(message); }
}

const DEFAULT_LIMIT = 10;

/** The service's requests for a route's body: the first frame and how each next one is made. */
export function complianceRequestBody(handler: ComplianceHandler, json: () => JsonValue, target: ComplianceTarget): { chain: Chain; context: ComplianceContext } {
  switch (handler) {
    case 'screening_search': return { chain: { first: searchFromJson(json()) }, context: { handler } };
    case 'lists_status': return { chain: { first: listStatusRequest() }, context: { handler } };
    case 'lists_import': {
      const { requests, ...load } = loadFromJson(json());
      const context: ComplianceContext = { handler, load };
      return { chain: loadThenRescreen(inOrder(requests, complianceTaken), context), context };
    }
    case 'rescreen': {
      const context: ComplianceContext = { handler, rescreen: rescreenStart() };
      return { chain: { first: rescreenFirst().body, next: (reply) => rescreenStep(context, reply) }, context };
    }
    default: {
      const { chain, context } = casesRequest(handler, json, target.id, target.query, target.ledgers);
      return { chain, context: { handler, cases: context } };
    }
  }
}

/** A list load's frames, then, once the commit's reply says the list is in force, the account owners' rescreen. */
function loadThenRescreen(load: Chain, context: ComplianceContext): Chain {
  const next = (reply: Buffer): Frame | null => {
    if (context.rescreen !== undefined) return rescreenStep(context, reply);
    const more = load.next?.(reply) ?? null;
    if (more !== null || !complianceTaken(reply)) return more; // more of the load, or a refusal: the answer renders it
    try {
      checkCommitted(context.load!, reply);
    } catch {
      return null; // not committed as sent: the answer says why
    }
    context.commit = Buffer.from(reply); // a copy: the reply's bytes are the frame buffer's, which the next reply reuses
    context.rescreen = rescreenStart();
    return rescreenFirst();
  };
  return { first: load.first, next };
}

/** The rescreen's next frame; a refusal (of the directory read or the screening) ends it with its reason kept for the answer. */
function rescreenStep(context: ComplianceContext, reply: Buffer): Frame | null {
  const r = context.rescreen!;
  try {
    return rescreenNext(r.tally, r.state, reply);
  } catch (e) {
    r.error = (e as Error).message;
    return null;
  }
}

function searchFromJson(value: JsonValue): Buffer {
  const o = object(value, 'body');
  for (const k of o.keys()) {
    if (k !== 'name' && k !== 'type' && k !== 'limit') throw new ComplianceInputError('invalid_field', `body.${k.slice(0, 32)}: not a field (name, type, limit)`);
  }
  const name = o.get('name');
  if (typeof name !== 'string' || name.length === 0) throw new ComplianceInputError('invalid_field', 'body.name: a non-empty string');
  if (name.length > SCREEN_NAME_CHARS_MAX) throw new ComplianceInputError('name_too_long', `body.name: ${name.length} characters, at most ${SCREEN_NAME_CHARS_MAX}`);
  const t = o.get('type');
  if (t !== undefined && (typeof t !== 'string' || !(ENTRY_TYPES as string[]).includes(t))) {
    throw new ComplianceInputError('invalid_field', `body.type: one of ${ENTRY_TYPES.join(', ')}`);
  }
  const type = t === undefined ? 0 : typeCode(t as EntryType);
  const l = o.get('limit');
  const limit = l === undefined ? DEFAULT_LIMIT : l instanceof JsonNumber && /^[1-9][0-9]{0,2}$/.test(l.text) ? Number(l.text) : -1;
  if (limit < 1 || limit > P.MATCHES_MAX) throw new ComplianceInputError('invalid_field', `body.limit: an integer from 1 to ${P.MATCHES_MAX}`);
  const normalized = normalizeName(name, type);
  if (normalized === '') throw new ComplianceInputError('invalid_name', 'body.name: nothing to screen once normalised (no letter or digit of a script QENEX reads)');
  // Tokens past SEARCH_TOKENS_MAX are no name the lists hold: refused rather than cut.
  if (normalized.split(' ').length > P.SEARCH_TOKENS_MAX) throw new ComplianceInputError('name_too_long', `body.name: more than ${P.SEARCH_TOKENS_MAX} words`);
  return searchRequest({ normalized, type, limit });
}

function loadFromJson(value: JsonValue): PreparedLoad {
  const o = object(value, 'body');
  for (const k of o.keys()) if (k !== 'list' && k !== 'files') throw new ComplianceInputError('invalid_field', `body.${k.slice(0, 32)}: not a field (list, files)`);
  const list = o.get('list');
  if (list !== 'ofac_sdn' && list !== 'un') throw new ComplianceInputError('invalid_field', 'body.list: ofac_sdn or un');
  const files = object(o.get('files'), 'body.files');
  const { required, optional } = LIST_FILES[list as ListId];
  const bytes: Record<string, Uint8Array> = {};
  for (const [k, v] of files) {
    if (!required.includes(k) && !optional.includes(k)) {
      throw new ComplianceInputError('invalid_field', `body.files.${k.slice(0, 32)}: not a file of ${list} (${[...required, ...optional].join(', ')})`);
    }
    if (typeof v !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(v)) throw new ComplianceInputError('invalid_field', `body.files.${k}: the file's bytes in base64`);
    bytes[k] = Buffer.from(v, 'base64');
  }
  for (const k of required) if (bytes[k] === undefined) throw new ComplianceInputError('invalid_field', `body.files.${k}: missing`);
  try {
    return prepareLoad(parseListFiles({ list, ...bytes } as ListFiles));
  } catch (e) {
    if (e instanceof ListError || e instanceof NameError || e instanceof RecordError) throw new ComplianceInputError('invalid_list', `${e.message}; the list in force stays`);
    throw e;
  }
}

function object(value: JsonValue | undefined, where: string): Map<string, JsonValue> {
  if (!isJsonObject(value)) throw new ComplianceInputError('invalid_field', `${where}: an object`);
  return value;
}

/** The lists in force as JSON (GET /v1/compliance/lists, `qenex lists status`). */
export function listStatusJson(statuses: readonly ListStatus[]): Record<string, unknown>[] {
  return statuses.map((s) => ({
    list: LIST_NAMES[s.list], version: s.version, entries: s.entries, names: s.names, in_force_since_ns: s.time.toString(), staged: s.staged,
  }));
}

/** Whether the service took a request of a load (any reply but a refusal): the next one is sent. */
export function complianceTaken(reply: Buffer): boolean {
  return reply.length >= P.REPLY_HEADER_BYTES && (reply.readUInt32LE(4) & P.REPLY_F_REFUSED) === 0;
}

/** The answer to the last reply as JSON; throws ComplianceRefusal when the service refused. */
export function complianceAnswer(context: ComplianceContext, reply: Buffer): unknown {
  switch (context.handler) {
    case 'screening_search': {
      const r = searchReply(reply);
      return {
        matches: r.matches.map((m) => ({
          list: LIST_NAMES[m.list] ?? String(m.list), entity_id: m.entityId, name: m.display, score: m.score / P.SCORE_ONE,
          type: typeName(m.type) ?? String(m.type), alias: m.alias, list_version: m.version,
        })),
        candidates_scored: r.scored, above_threshold: r.total,
      };
    }
    case 'lists_status': return { lists: listStatusJson(listStatusReply(reply)) };
    case 'lists_import': {
      checkCommitted(context.load!, context.commit ?? reply);
      const r = context.rescreen;
      return { ...importedLine(context.load!), ...(r === undefined ? {} : rescreenJson(r.tally)), ...(r?.error === undefined ? {} : { rescreen_error: r.error }) };
    }
    case 'rescreen': {
      const r = context.rescreen!;
      if (r.error !== undefined) throw new ComplianceRescreenError(r.error, rescreenJson(r.tally));
      return { event: 'rescreened', ...rescreenJson(r.tally) };
    }
    default: return casesAnswer(context.cases!, reply);
  }
}

