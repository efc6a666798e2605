// services/compliance: the compliance service's screening core (issue 18,
// docs/compliance.md "The screening service"). Sanctions lists (OFAC SDN,
// UN) loaded in stages and put in force whole, and names screened against
// the lists in force, decided here, deterministically and so again on
// replay: the same log gives the same lists in force and the same answers.
// The wire contract is ../protocol.ts.
//
// ABI (module "qenex" is the only import): qx_inbox / qx_inbox_bytes,
// qx_init(len) with the config JSON (config.ts), qx_handle(kind, sender,
// token, len): a request (from the gateway's relay, or a client when granted
// net). Capabilities: "time" (when a list was put in force), "log" (a bad
// config's reason at boot).
//
// The files: config.ts (the config), reply.ts (replies and refusals),
// record.ts (the checks of name and search records), match.ts (the scoring:
// Jaro-Winkler and token pairing), blocking.ts (the candidate index and the
// entries of a list), lists.ts (staged loads, commit, status), search.ts
// (search), check.ts (payment checks), transfers.ts (the ledger's own
// transfers checked for the gateway).

import * as P from "../protocol";
import { KIND_MESSAGE, KIND_REQUEST } from "../../sdk/qenex";
import { configParse } from "./config";
import { replyInit, refuse } from "./reply";
import { listBegin, listCommit, listNames, listsInit, listStatus } from "./lists";
import { searchRecordError } from "./record";
import { search, searchInit } from "./search";
import { rulesGet, rulesSet } from "./rules";
import { activityInit } from "./activity";
import { check } from "./check";
import { alertsList, caseUpdate, casesInit, decisionsList, filterError } from "./cases";
import { alertEventsInit } from "./events";
import { accountsScreen } from "./owners";
import { pretrade } from "./pretrade";
import { checkTransfers, transfersInit } from "./transfers";

// The largest request: a list_names of NAMES_PER_REQUEST records (about 1 MB, the bank image's
// message_bytes_max) and room to spare.
const INBOX_BYTES: u32 = (1 << 20) + 4096;
const inbox: usize = heap.alloc(INBOX_BYTES);

export function qx_inbox(): usize { return inbox; }
export function qx_inbox_bytes(): u32 { return INBOX_BYTES; }

export function qx_init(len: u32): void {
  assert(len <= INBOX_BYTES, "the kernel copies at most the inbox");
  assert(<u64>P.HEADER_BYTES + <u64>P.NAMES_PER_REQUEST * P.NAME_BYTES <= <u64>INBOX_BYTES, "the inbox holds a largest list_names");
  configParse(inbox, len);
  replyInit();
  listsInit();
  searchInit();
  activityInit();
  casesInit();
  transfersInit();
  alertEventsInit();
}

export function qx_handle(kind: u32, sender: u32, token: u32, len: u32): void {
  assert(len <= INBOX_BYTES, "the kernel copies at most the inbox");
  if (kind != KIND_REQUEST && kind != KIND_MESSAGE) return;
  if (len < <u32>P.HEADER_BYTES) { refuse(token, P.REFUSED_MALFORMED, "compliance: request shorter than its header"); return; }
  const op = <u32>load<u8>(inbox + P.HEADER_OP);
  const list = <u32>load<u8>(inbox + P.HEADER_LIST);
  const count = load<u32>(inbox + P.HEADER_COUNT);
  if (op < <u32>P.Op.list_begin || op > <u32>P.Op.check_transfers) { refuse(token, P.REFUSED_MALFORMED, "compliance: unknown operation"); return; }
  if (load<u16>(inbox + 2) != 0 || load<u32>(inbox + 8) != 0 || load<u32>(inbox + 12) != 0) {
    refuse(token, P.REFUSED_MALFORMED, "compliance: reserved header bytes not zero");
    return;
  }
  const listed = op == <u32>P.Op.list_begin || op == <u32>P.Op.list_names || op == <u32>P.Op.list_commit;
  if (listed ? list < 1 || list > <u32>P.LISTS : list != 0) { refuse(token, P.REFUSED_MALFORMED, "compliance: the header's list is not the operation's"); return; }
  if (len != P.requestLength(op, count)) { refuse(token, P.REFUSED_MALFORMED, "compliance: request length does not match its operation and count"); return; }
  const rec = inbox + P.HEADER_BYTES;
  if (op == <u32>P.Op.list_begin) listBegin(token, list, rec);
  else if (op == <u32>P.Op.list_names) listNames(token, list, count, rec);
  else if (op == <u32>P.Op.list_commit) listCommit(token, list, rec);
  else if (op == <u32>P.Op.list_status) listStatus(token);
  else if (op == <u32>P.Op.search) searchChecked(token, rec);
  else if (op == <u32>P.Op.check) check(token, count, rec);
  else if (op == <u32>P.Op.rules_set) rulesSet(token, count, rec);
  else if (op == <u32>P.Op.rules_get) rulesGet(token);
  else if (op == <u32>P.Op.case_update) caseUpdate(token, rec);
  else if (op == <u32>P.Op.accounts_screen) accountsScreen(token, count, rec);
  else if (op == <u32>P.Op.pretrade) pretrade(token, count, rec);
  else if (op == <u32>P.Op.check_transfers) checkTransfers(token, count, rec);
  else listChecked(token, op, rec);
}

function searchChecked(token: u32, rec: usize): void {
  assert(rec == inbox + P.HEADER_BYTES, "the inbox's record");
  const why = searchRecordError(rec);
  if (why !== null) refuse(token, P.REFUSED_MALFORMED, why);
  else search(token, rec);
}

/** alerts_list or decisions_list, its filter checked. */
function listChecked(token: u32, op: u32, f: usize): void {
  assert(op == <u32>P.Op.alerts_list || op == <u32>P.Op.decisions_list, "a list operation");
  const alerts = op == <u32>P.Op.alerts_list;
  const why = filterError(f, alerts ? P.CASE_CLOSED : P.ACTION_REFUSE);
  if (why !== null) refuse(token, P.REFUSED_MALFORMED, why);
  else if (alerts) alertsList(token, f);
  else decisionsList(token, f);
}
