// host/compliance/import.ts: a sanctions list's files turned into the
// compliance service's staged load (services/compliance/protocol.ts "load"):
// list_begin, list_names in requests of NAMES_PER_REQUEST, list_commit. One
// path for both ways in: the gateway's front end (POST /v1/compliance/lists,
// host/gateway/compliance-front.ts) and `qenex lists import --data` (the
// console, host/cmd/lists.ts). The files are parsed (./lists.ts) and every
// name normalised (./names.ts) here, before anything is logged: a malformed
// file is refused whole with its ListError and the list in force stays.

import * as P from '../../services/compliance/protocol.ts';
import { parseOfacSdn, parseUnList, type ListId, type ParsedList } from './lists.ts';
import { recordsOfList } from './names.ts';
import { beginRequest, commitReply, commitRequest, namesRequests, RecordError } from './records.ts';

export const LIST_CODES: Record<ListId, number> = { ofac_sdn: P.LIST_OFAC_SDN, un: P.LIST_UN };
export const LIST_NAMES: Record<number, ListId> = { [P.LIST_OFAC_SDN]: 'ofac_sdn', [P.LIST_UN]: 'un' };

/** A list's input files, by the names the import command and the API give them. */
export type ListFiles =
  | { list: 'ofac_sdn'; sdn: Uint8Array; alt: Uint8Array; add: Uint8Array; comments?: Uint8Array }
  | { list: 'un'; file: Uint8Array };

/** The files each list takes (required first), for the command's flags and the API's `files` object. */
export const LIST_FILES: Record<ListId, { required: string[]; optional: string[] }> = {
  ofac_sdn: { required: ['sdn', 'alt', 'add'], optional: ['comments'] },
  un: { required: ['file'], optional: [] },
};

/** What an import loads, and the requests that load it, in order. */
export interface PreparedLoad {
  list: ListId;
  versionHex: string;
  entries: number;
  names: number;
  /** Names shown by their list but with nothing to screen (original-script names). */
  skipped: number;
  requests: Buffer[];
}

export function parseListFiles(files: ListFiles): ParsedList {
  return files.list === 'un' ? parseUnList(files.file) : parseOfacSdn(files);
}

/** The staged load of a parsed list: begin, its names, commit. Throws NameError for a name that cannot be screened. */
export function prepareLoad(parsed: ParsedList): PreparedLoad {
  const list = LIST_CODES[parsed.list];
  const { records, skipped } = recordsOfList(parsed.entries);
  const load = { list, version: parsed.version, entries: parsed.entries.length, names: records.length };
  return {
    list: parsed.list, versionHex: parsed.versionHex, entries: load.entries, names: load.names, skipped,
    requests: [beginRequest(load), ...namesRequests(records, list), commitRequest(load)],
  };
}

/**
 * Checks a load's last reply (its commit's, or the refusal that stopped it):
 * throws ComplianceRefusal for a refusal, RecordError when the names put in
 * force are not the names sent.
 */
export function checkCommitted(p: { names: number }, reply: Buffer): void {
  const inForce = commitReply(reply);
  if (inForce !== p.names) throw new RecordError(`list_commit: ${inForce} names in force, ${p.names} sent`);
}

/** The line an import prints and the API answers. */
export function importedLine(p: Omit<PreparedLoad, 'requests'>): Record<string, unknown> {
  return { event: 'list_imported', list: p.list, version: p.versionHex, entries: p.entries, names: p.names, skipped: p.skipped };
}
