// Max35Text slots (protocol.ts SLOT_BYTES: u8 length, up to 35 bytes, zeros
// after) and BIC slots (BIC_BYTES: u8 length 8 or 11, the letters): checks
// of what the host sent, so a slot's bytes mean one thing only and two equal
// texts are equal byte for byte (the directory and the duplicate checks
// compare slots with memory.compare).

import * as P from "../protocol";

/** Whether the slot at `p` of `bytes` bytes is a well-formed text of at most `max`: length in range, zeros after, no control bytes. */
export function textValid(p: usize, bytes: u32, max: u32): bool {
  assert(max < bytes, "textValid: a slot holds its length byte and text");
  const n = <u32>load<u8>(p);
  if (n > max || n + 1 > bytes) return false;
  for (let i: u32 = 1; i <= n; i++) if (load<u8>(p + i) < 0x20) return false;
  for (let i = n + 1; i < bytes; i++) if (load<u8>(p + i) != 0) return false;
  return true;
}

/** Whether the slot is empty (length 0; textValid then says the rest is zeros). */
export function textEmpty(p: usize): bool {
  return load<u8>(p) == 0;
}

/** A BIC slot: empty, or 8 or 11 characters of A-Z and 0-9 (ISO 9362: letters for the party and country). */
export function bicValid(p: usize): bool {
  assert(<u32>P.BIC_BYTES == 12, "a BIC slot: its length and 11 characters");
  if (!textValid(p, <u32>P.BIC_BYTES, 11)) return false;
  const n = <u32>load<u8>(p);
  if (n == 0) return true;
  if (n != 8 && n != 11) return false;
  for (let i: u32 = 1; i <= n; i++) {
    const c = load<u8>(p + i);
    const letter = c >= 0x41 && c <= 0x5a;
    if (i <= 6 ? !letter : !(letter || (c >= 0x30 && c <= 0x39))) return false;
  }
  return true;
}

/** Whether the text slot at `p` says "NOTPROVIDED" (the ISO 20022 placeholder of an end-to-end id). */
export function notProvided(p: usize): bool {
  if (load<u8>(p) != 11) return false;
  const s = "NOTPROVIDED";
  assert(s.length == 11, "the placeholder's length");
  for (let i = 0; i < 11; i++) if (<i32>load<u8>(p + 1 + <usize>i) != s.charCodeAt(i)) return false;
  return true;
}
