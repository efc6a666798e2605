// The checks of the records a request carries (protocol.ts): a name record
// and a search record. Each answers with the reason it is malformed (an
// ASCII literal, for the refusal) or null. A request with one malformed
// record is refused whole, so nothing of it is staged.

import * as P from "../protocol";
import { normalizedValid } from "./match";

/** Whether `len` bytes at `ptr` are zero. */
export function zeros(ptr: usize, len: u32): bool {
  assert(len <= 4096, "zeros: a record's field");
  for (let i: u32 = 0; i < len; i++) if (load<u8>(ptr + i) != 0) return false;
  return true;
}

/** A text slot of `slot` bytes holding `len` (1..slot) bytes, the rest zero. */
function slotUsed(ptr: usize, len: u32, slot: u32): bool {
  assert(slot > 0 && slot <= <u32>P.DISPLAY_MAX, "slotUsed: a text slot");
  return len >= 1 && len <= slot && zeros(ptr + len, slot - len);
}

/** Printable ASCII without the space: the list's own id of an entry. */
function idValid(ptr: usize, len: u32): bool {
  assert(len <= <u32>P.ENTITY_ID_MAX, "idValid: an id of its slot");
  for (let i: u32 = 0; i < len; i++) {
    const c = load<u8>(ptr + i);
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

/** The reason the name record at `r` is malformed, or null. */
export function nameRecordError(r: usize): string | null {
  const type = <u32>load<u8>(r + P.NAME_TYPE);
  if (type < <u32>P.TYPE_INDIVIDUAL || type > <u32>P.TYPE_AIRCRAFT) return "compliance: a name's type is not one of the list's";
  const flags = <u32>load<u8>(r + P.NAME_FLAGS);
  if ((flags & ~(<u32>(P.NAME_F_ALIAS | P.NAME_F_WEAK))) != 0) return "compliance: a name's flags have an unknown bit";
  if (flags == <u32>P.NAME_F_WEAK) return "compliance: a weak name that is not an alias";
  const idLen = <u32>load<u8>(r + P.NAME_ID_LENGTH);
  if (!slotUsed(r + P.NAME_ID, idLen, P.ENTITY_ID_MAX)) return "compliance: a name's entity id length is out of range, or bytes after it are not zero";
  if (!idValid(r + P.NAME_ID, idLen)) return "compliance: a name's entity id is not printable ASCII";
  const normLen = <u32>load<u8>(r + P.NAME_NORMALIZED_LENGTH);
  if (!slotUsed(r + P.NAME_NORMALIZED, normLen, P.NORMALIZED_MAX)) return "compliance: a name's normalised length is out of range, or bytes after it are not zero";
  if (!normalizedValid(r + P.NAME_NORMALIZED, normLen)) return "compliance: a name's normalised text is not [a-z0-9] words with single spaces";
  const displayLen = <u32>load<u8>(r + P.NAME_DISPLAY_LENGTH);
  if (!slotUsed(r + P.NAME_DISPLAY, displayLen, P.DISPLAY_MAX)) return "compliance: a name's display length is out of range, or bytes after it are not zero";
  if (!zeros(r + P.NAME_DISPLAY_LENGTH + 1, <u32>(P.NAME_NORMALIZED - P.NAME_DISPLAY_LENGTH - 1))) return "compliance: a name's reserved bytes are not zero";
  assert(type >= 1 && normLen >= 1 && displayLen >= 1, "a well-formed name");
  return null;
}

/** The reason the search record at `r` is malformed, or null. */
export function searchRecordError(r: usize): string | null {
  const type = <u32>load<u8>(r + P.SEARCH_TYPE);
  if (type > <u32>P.TYPE_AIRCRAFT) return "compliance: search type is not 0 or one of the list's";
  const limit = <u32>load<u8>(r + P.SEARCH_LIMIT);
  if (limit < 1 || limit > <u32>P.MATCHES_MAX) return "compliance: search limit is outside 1..MATCHES_MAX";
  if (load<u32>(r + P.SEARCH_THRESHOLD) > <u32>P.SCORE_ONE) return "compliance: search threshold is over SCORE_ONE";
  const len = <u32>load<u8>(r + P.SEARCH_NORMALIZED_LENGTH);
  if (!slotUsed(r + P.SEARCH_NORMALIZED, len, P.NORMALIZED_MAX)) return "compliance: search name length is out of range, or bytes after it are not zero";
  if (!normalizedValid(r + P.SEARCH_NORMALIZED, len)) return "compliance: search name is not [a-z0-9] words with single spaces";
  if (load<u8>(r + 3) != 0 || !zeros(r + 8, <u32>(P.SEARCH_NORMALIZED - 8))) return "compliance: search reserved bytes are not zero";
  assert(limit >= 1 && len >= 1, "a well-formed search");
  return null;
}
