// API key management (ROUTE_KEYS_CREATE, _LIST, _REVOKE): for admin keys, and
// for the operator console (AUTH_CONSOLE, which only `qenex keys --data`
// sends) that manages keys before any exists.
//
// A new key arrives as its SHA-256 and a specification (protocol.ts
// KEY_CREATE_*): checked here, answered 400/409/503 when it cannot be taken,
// else added to the table (keys.ts) and programmed into admission at once
// (admission.ts). The list carries each key's record and the first 8 bytes of
// its hash, never more of it; revocation keeps the key's slot and id.

import * as P from "../protocol";
import { KEYS_MAX, OUTBOX_BYTES, RATE_MAX } from "./constants";
import { outbox } from "./memory";
import { keyAdd, keyAt, keyCount, keyFind, KEY_BURST, KEY_CREATED, KEY_GRANTS, KEY_ID, KEY_LEDGERS, KEY_RATE, KEY_REVOKED, KEY_ROLE } from "./keys";
import { programKey } from "./admission";
import { answer, answerText } from "./reply";
import { textLog, textPut, textPutU64, textReset } from "./text";

/** Creates a key from the KEY_CREATE body at `body` (logical time `now`); replies with its id. */
export function keysCreate(token: u32, body: usize, bodyLen: u32, n: i32, now: u64): void {
  assert(n < <i32>keyCount, "an admin key in the table, or the console");
  const grants = bodyLen >= <u32>P.KEY_CREATE_BYTES ? <u32>load<u8>(body + 1) : 0;
  const role = bodyLen >= <u32>P.KEY_CREATE_BYTES ? <u32>load<u8>(body) : 0;
  if (bodyLen != P.KEY_CREATE_BYTES + grants * 4 || grants > <u32>P.KEY_GRANTS_MAX || load<u16>(body + 2) != 0) {
    answerText(token, 400, P.GW_E_INVALID_KEY_SPEC, 0, n, "malformed key specification"); return;
  }
  if (role < <u32>P.ROLE_ADMIN || role > <u32>P.ROLE_LAST) { answerText(token, 400, P.GW_E_INVALID_KEY_SPEC, 0, n, "unknown role"); return; }
  if (role == P.ROLE_TELLER && grants == 0) { answerText(token, 400, P.GW_E_INVALID_KEY_SPEC, 0, n, "a teller key needs at least one ledger"); return; }
  if (grants > 0 && role != P.ROLE_TELLER && role != P.ROLE_READ_ONLY && role != P.ROLE_TRADER) {
    answerText(token, 400, P.GW_E_INVALID_KEY_SPEC, 0, n, "only teller, read-only and trader keys are limited to ledgers"); return;
  }
  if (<u64>load<u32>(body + 4) > RATE_MAX || <u64>load<u32>(body + 8) > RATE_MAX) {
    answerText(token, 400, P.GW_E_INVALID_KEY_SPEC, 0, n, "rate and burst are at most 1000000"); return;
  }
  const hash = body + 12;
  if (load<u64>(hash) == 0 && load<u64>(hash + 8) == 0 && load<u64>(hash + 16) == 0 && load<u64>(hash + 24) == 0) {
    answerText(token, 400, P.GW_E_INVALID_KEY_SPEC, 0, n, "the key hash is zero"); return;
  }
  if (keyFind(hash) >= 0) { answerText(token, 409, P.GW_E_KEY_EXISTS, 0, n, "a key with this hash exists"); return; }
  if (keyCount >= KEYS_MAX) { answerText(token, 503, P.GW_E_KEY_TABLE_FULL, 0, n, "the key table is full (1024 keys)"); return; }
  const added = keyAdd(body, role, grants, now);
  programKey(added);
  assert(added + 1 == keyCount, "the new key is the last");
  store<u32>(outbox + P.GW_REPLY_HEADER_BYTES, keyCount);
  textReset(); textPut("key created id="); textPutU64(keyCount); textPut(" role="); textPutU64(role);
  textLog();
  answer(token, 200, P.GW_OK, 0, n, 4);
}

/** Replies with a GW_KEY_RECORD_BYTES record per key, in id order. */
export function keysList(token: u32, n: i32): void {
  assert(<u64>P.GW_REPLY_HEADER_BYTES + <u64>keyCount * P.GW_KEY_RECORD_BYTES <= <u64>OUTBOX_BYTES, "the list fits the outbox");
  const out = outbox + P.GW_REPLY_HEADER_BYTES;
  for (let i: u32 = 0; i < keyCount; i++) {
    const k = keyAt(i);
    const r = out + <usize>i * P.GW_KEY_RECORD_BYTES;
    memory.fill(r, 0, P.GW_KEY_RECORD_BYTES);
    store<u32>(r, load<u32>(k + KEY_ID));
    store<u8>(r + 4, load<u8>(k + KEY_ROLE));
    store<u8>(r + 5, load<u8>(k + KEY_REVOKED));
    store<u8>(r + 6, load<u8>(k + KEY_GRANTS));
    store<u64>(r + 8, load<u64>(k + KEY_CREATED));
    store<u32>(r + 16, load<u32>(k + KEY_RATE));
    store<u32>(r + 20, load<u32>(k + KEY_BURST));
    memory.copy(r + 24, k + KEY_LEDGERS, P.KEY_GRANTS_MAX * 4);
    memory.copy(r + 88, k, 8);
  }
  answer(token, 200, P.GW_OK, 0, n, keyCount * P.GW_KEY_RECORD_BYTES);
}

/** Revokes the key whose id is the u32 body; it stays in the table, refused from now on. */
export function keysRevoke(token: u32, body: usize, bodyLen: u32, n: i32): void {
  assert(n < <i32>keyCount, "an admin key in the table, or the console");
  if (bodyLen != 4) { answerText(token, 400, P.GW_E_INVALID_KEY_SPEC, 0, n, "revoke takes a u32 key id"); return; }
  const id = load<u32>(body);
  if (id == 0 || id > keyCount) { answerText(token, 404, P.GW_E_NO_SUCH_KEY, 0, n, "no key with this id"); return; }
  assert(load<u32>(keyAt(id - 1) + KEY_ID) == id, "key number id - 1 has this id");
  store<u8>(keyAt(id - 1) + KEY_REVOKED, 1);
  programKey(id - 1);
  textReset(); textPut("key revoked id="); textPutU64(id);
  textLog();
  answer(token, 200, P.GW_OK, 0, n, 0);
}
