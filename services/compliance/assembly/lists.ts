// The lists: each (OFAC SDN, UN) has a list in force and a staged load.
//
// A load is list_begin (the BEGIN record: version, entries, names), then
// list_names requests appending name records in order to the staging table,
// then list_commit with the same BEGIN record. The commit checks the record
// and that exactly `names` names arrived, numbers the entries (their count
// must be the record's), builds the candidate index (blocking.ts) and puts
// the staged table in force in one step: the two tables of a list swap, and
// the index built goes in force with it. Whatever is refused changes
// nothing: the list in force stays, and so does what was staged (a refused
// list_names can be sent again). A list_begin drops what was staged before it.
//
// Memory, from the heap at init (zeroed, untouched until used): two name
// tables of names_max records for each list (in force, staging) and three
// index areas (one for each list in force, one spare that a commit builds
// into before it swaps with the list's); the index is built in the spare, so
// a refused commit leaves the list's own untouched.

import * as P from "../protocol";
import { nowNs } from "../../sdk/qenex";
import { namesMax } from "./config";
import { IndexArea, indexAreaCreate, indexBuild, KEYS_PER_NAME } from "./blocking";
import { nameRecordError, zeros } from "./record";
import { refuse, refusedRecords, replyRecords, replySend } from "./reply";

// Per list (LIST_STATE_BYTES each): +0 [64] the staged load's BEGIN record, +64 [64] the list in
// force as a STATUS record (its staged field unused), +128 u32 names staged, +132 u8 a load begun,
// +133 u8 the table in force (0, 1), +134 u8 the index area in force + 1 (0: no list in force).
const LIST_STATE_BYTES: u32 = 160;
const S_BEGIN: u32 = 0;
const S_FORCE: u32 = 64;
const S_STAGED: u32 = 128;
const S_BEGUN: u32 = 132;
const S_TABLE: u32 = 133;
const S_AREA: u32 = 134;
const AREAS: u32 = <u32>P.LISTS + 1;
const state = memory.data(<i32>(<u32>P.LISTS * LIST_STATE_BYTES), 8);
const tables = memory.data(<i32>(<u32>P.LISTS * 2 * sizeof<usize>()), 8);
const areas = memory.data(<i32>(AREAS * sizeof<usize>()), 8);
let spare: u32 = 0;
let keys: usize = 0; // the keys of one name, while an index is built

/** The state of list `list` (1..LISTS). */
function stateOf(list: u32): usize {
  assert(list >= 1 && list <= <u32>P.LISTS, "a list");
  return state + <usize>(list - 1) * LIST_STATE_BYTES;
}

/** Name table `t` (0, 1) of list `list`. */
function tableOf(list: u32, t: u32): usize {
  assert(list >= 1 && list <= <u32>P.LISTS && t < 2, "a list's table");
  return load<usize>(tables + (<usize>((list - 1) * 2 + t) * sizeof<usize>()));
}

function areaAt(i: u32): IndexArea {
  assert(i < AREAS, "an index area");
  return changetype<IndexArea>(load<usize>(areas + <usize>i * sizeof<usize>()));
}

/** The tables and index areas, from the heap (once, at init). */
export function listsInit(): void {
  assert(keys == 0 && namesMax > 0, "listsInit: once, after the config");
  for (let i: u32 = 0; i < <u32>P.LISTS * 2; i++) store<usize>(tables + <usize>i * sizeof<usize>(), heap.alloc(<usize>namesMax * P.NAME_BYTES));
  for (let i: u32 = 0; i < AREAS; i++) store<usize>(areas + <usize>i * sizeof<usize>(), changetype<usize>(indexAreaCreate(namesMax)));
  spare = AREAS - 1;
  keys = heap.alloc(<usize>KEYS_PER_NAME << 2);
}

/** The index of the list in force, or null when the list has none. */
export function listArea(list: u32): IndexArea | null {
  const a = <u32>load<u8>(stateOf(list) + S_AREA);
  assert(a <= AREAS, "an index area or none");
  return a == 0 ? null : areaAt(a - 1);
}

/** The first four bytes of the version in force of `list` (a match, a decision says which version decided it); 0: none in force. */
export function listVersionWord(list: u32): u32 {
  assert(list >= 1 && list <= <u32>P.LISTS, "a list");
  if (load<u8>(stateOf(list) + S_AREA) == 0) return 0;
  return load<u32>(stateOf(list) + S_FORCE + P.STATUS_VERSION);
}

/** list_begin: a new staged load of `list` (what was staged before it dropped). */
export function listBegin(token: u32, list: u32, rec: usize): void {
  const s = stateOf(list);
  const names = load<u32>(rec + P.BEGIN_NAMES);
  const entries = load<u32>(rec + P.BEGIN_ENTRIES);
  if (zeros(rec + P.BEGIN_VERSION, 32)) { refuse(token, P.REFUSED_MALFORMED, "compliance: a list version of zeros (the status's none)"); return; }
  if (!zeros(rec + P.BEGIN_NAMES + 4, <u32>(P.BEGIN_BYTES - P.BEGIN_NAMES - 4))) { refuse(token, P.REFUSED_MALFORMED, "compliance: begin reserved bytes are not zero"); return; }
  if (entries > names || (entries == 0) != (names == 0)) { refuse(token, P.REFUSED_MALFORMED, "compliance: a list has at least one name an entry"); return; }
  if (names > namesMax) { refuse(token, P.REFUSED_FULL, "compliance: the list has more names than names_max"); return; }
  memory.copy(s + S_BEGIN, rec, P.BEGIN_BYTES);
  store<u32>(s + S_STAGED, 0);
  store<u8>(s + S_BEGUN, 1);
  assert(load<u32>(s + S_BEGIN + P.BEGIN_NAMES) <= namesMax, "a staged load within names_max");
  replySend(token, 0, 0, 0);
}

/** list_names: `count` name records at `recs` appended to the staged load of `list`, all or none. */
export function listNames(token: u32, list: u32, count: u32, recs: usize): void {
  const s = stateOf(list);
  if (load<u8>(s + S_BEGUN) == 0) { refuse(token, P.REFUSED_NO_LOAD, "compliance: list_names of no load begun"); return; }
  const staged = load<u32>(s + S_STAGED);
  if (<u64>staged + count > <u64>load<u32>(s + S_BEGIN + P.BEGIN_NAMES)) {
    refuse(token, P.REFUSED_MALFORMED, "compliance: more names than list_begin announced");
    return;
  }
  if (refusedRecords(token, recs, count, P.NAME_BYTES, nameRecordError)) return;
  assert(staged + count <= namesMax, "the staging table holds them");
  const table = tableOf(list, 1 - <u32>load<u8>(s + S_TABLE));
  memory.copy(table + <usize>staged * P.NAME_BYTES, recs, <usize>count * P.NAME_BYTES);
  store<u32>(s + S_STAGED, staged + count);
  replySend(token, 0, <u64>(staged + count), 0);
}

/** list_commit: the staged load of `list` in force, when `rec` is its BEGIN record and every name arrived. */
export function listCommit(token: u32, list: u32, rec: usize): void {
  const s = stateOf(list);
  if (load<u8>(s + S_BEGUN) == 0 || memory.compare(s + S_BEGIN, rec, P.BEGIN_BYTES) != 0) {
    refuse(token, P.REFUSED_NO_LOAD, "compliance: list_commit of no load begun, or of another version");
    return;
  }
  const names = load<u32>(rec + P.BEGIN_NAMES);
  const staging = 1 - <u32>load<u8>(s + S_TABLE);
  if (load<u32>(s + S_STAGED) != names) { refuse(token, P.REFUSED_INCOMPLETE, "compliance: list_commit before every name arrived"); return; }
  const a = areaAt(spare);
  const why = indexBuild(a, tableOf(list, staging), names, keys);
  if (why !== null) { refuse(token, P.REFUSED_MALFORMED, why); return; }
  if (a.entities != load<u32>(rec + P.BEGIN_ENTRIES)) { refuse(token, P.REFUSED_MALFORMED, "compliance: the names hold another count of entries than list_begin said"); return; }
  // In force: the staged table and its index; the old list's area is the next spare.
  const old = <u32>load<u8>(s + S_AREA);
  store<u8>(s + S_AREA, <u8>(spare + 1));
  spare = old == 0 ? firstFreeArea() : old - 1;
  store<u8>(s + S_TABLE, <u8>staging);
  store<u8>(s + S_BEGUN, 0);
  store<u32>(s + S_STAGED, 0);
  const f = s + S_FORCE;
  memory.fill(f, 0, P.STATUS_BYTES);
  memory.copy(f + P.STATUS_VERSION, rec + P.BEGIN_VERSION, 32);
  store<u32>(f + P.STATUS_ENTRIES, a.entities);
  store<u32>(f + P.STATUS_NAMES, names);
  store<u64>(f + P.STATUS_TIME, nowNs());
  replySend(token, 0, <u64>names, 0);
}

/** The area no list has in force (before every list has one, the spare is taken from those never used). */
function firstFreeArea(): u32 {
  for (let i: u32 = 0; i < AREAS; i++) {
    let used = false;
    for (let list: u32 = 1; list <= <u32>P.LISTS; list++) if (<u32>load<u8>(stateOf(list) + S_AREA) == i + 1) used = true;
    if (!used) return i;
  }
  assert(false, "one area more than the lists");
  return 0;
}

/** list_status: a STATUS record per list, list by list. */
export function listStatus(token: u32): void {
  const out = replyRecords();
  for (let list: u32 = 1; list <= <u32>P.LISTS; list++) {
    const s = stateOf(list);
    const r = out + <usize>(list - 1) * P.STATUS_BYTES;
    memory.copy(r, s + S_FORCE, P.STATUS_BYTES);
    store<u32>(r + P.STATUS_STAGED, load<u8>(s + S_BEGUN) != 0 ? load<u32>(s + S_STAGED) : 0);
  }
  replySend(token, P.LISTS, 0, <u32>P.LISTS * <u32>P.STATUS_BYTES);
}
