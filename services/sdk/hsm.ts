// services/sdk/hsm.ts: HSM key operations for services (syscall hsm; the
// request layout and the reply are in hal/abi.ts, HSM section).
//
// The manifest grants a service key labels (services[].hsm_keys); asking
// with any other label is E_DENIED. Each call returns a request id (> 0) or
// a negative E_*; the result comes later as a message:
//
//   if (isHsmReply(kind, sender)) {
//     const id = hsmReplyId(inbox); const status = hsmReplyStatus(inbox);
//     // status HSM_OK: the result is at inbox + HSM_REPLY_HEADER, len - HSM_REPLY_HEADER bytes;
//     // otherwise those bytes are the error text.
//   }
//
// Requests are built in one static buffer (nothing is allocated). Labels are
// ASCII strings, usually literals.

import { hsm, E_TOO_LARGE, E_INVALID, KIND_REPLY } from "./qenex";
import * as H from "../../hal/devices/hsm";
import { SENDER_KERNEL as HAL_SENDER_KERNEL } from "../../hal/services";

// Operations (hal/devices/hsm.ts OP_HSM_*).
export const HSM_SIGN: u32 = H.OP_HSM_SIGN;
export const HSM_VERIFY: u32 = H.OP_HSM_VERIFY;
export const HSM_ENCRYPT: u32 = H.OP_HSM_ENCRYPT;
export const HSM_DECRYPT: u32 = H.OP_HSM_DECRYPT;
export const HSM_RANDOM: u32 = H.OP_HSM_RANDOM;
export const HSM_PUBLIC_KEY: u32 = H.OP_HSM_PUBLIC_KEY;

// Result status in the reply, and the sizes of the operations' fields: hal/devices/hsm.ts.
export { HSM_OK, HSM_E_FAILED, HSM_E_NO_KEY, HSM_E_AUTH, HSM_E_INTERRUPTED, HSM_E_UNAVAILABLE } from "../../hal/devices/hsm";
export const HSM_REPLY_HEADER: u32 = H.HSM_REPLY_HEADER_BYTES; // u32 request id | i32 status
export const HSM_REQUEST_BYTES_MAX: u32 = H.HSM_BUFFER_BYTES;
export const HSM_LABEL_BYTES_MAX: u32 = H.HSM_LABEL_BYTES_MAX;
export const HSM_IV_BYTES: u32 = H.HSM_IV_BYTES;
export const HSM_TAG_BYTES: u32 = H.HSM_TAG_BYTES;
export const HSM_SIGNATURE_BYTES: u32 = H.HSM_SIGNATURE_BYTES;
export const HSM_PUBLIC_KEY_BYTES: u32 = H.HSM_PUBLIC_KEY_BYTES;
const SENDER_KERNEL: u32 = HAL_SENDER_KERNEL;
const HEADER: u32 = H.HSM_REQUEST_HEADER_BYTES;

const request: usize = memory.data(<i32>HSM_REQUEST_BYTES_MAX, 16);
// The longest label leaves room for every operation's fixed fields.
assert(HEADER + HSM_LABEL_BYTES_MAX + HSM_IV_BYTES + 4 <= HSM_REQUEST_BYTES_MAX, "HSM request buffer smaller than its header");

// Writes the request header and label; returns the offset after them, or 0
// when the label is empty, too long or not ASCII.
function begin(label: string): u32 {
  const n = label.length;
  if (n == 0 || <u32>n > HSM_LABEL_BYTES_MAX) return 0;
  store<u16>(request, <u16>n);
  store<u16>(request + 2, 0);
  for (let i = 0; i < n; i++) {
    const c = label.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return 0;
    store<u8>(request + HEADER + <usize>i, <u8>c);
  }
  const at = HEADER + <u32>n;
  // A nonzero offset means success: the header and at least one label byte are in.
  assert(at > HEADER && at <= HEADER + HSM_LABEL_BYTES_MAX, "HSM request label out of bounds");
  return at;
}

// Appends len bytes at at; false when the request would not fit.
@inline function fits(at: u32, len: u32): bool {
  return <u64>at + <u64>len <= <u64>HSM_REQUEST_BYTES_MAX;
}

// ECDSA P-384 over SHA-384 of len bytes at data with key `label`; the
// result is the 96-byte signature r || s.
export function hsmSign(label: string, data: usize, len: u32): i32 {
  const at = begin(label);
  if (at == 0) return E_INVALID;
  if (!fits(at, len)) return E_TOO_LARGE;
  memory.copy(request + at, data, len);
  return hsm(HSM_SIGN, request, at + len);
}

// Checks a signature with key `label`'s public half; the result is one
// byte, 1 (valid) or 0.
export function hsmVerify(label: string, data: usize, len: u32, signature: usize, signatureLen: u32): i32 {
  const at = begin(label);
  if (at == 0) return E_INVALID;
  if (!fits(at, 4 + signatureLen + len)) return E_TOO_LARGE;
  store<u32>(request + at, signatureLen);
  memory.copy(request + at + 4, signature, signatureLen);
  memory.copy(request + at + 4 + signatureLen, data, len);
  return hsm(HSM_VERIFY, request, at + 4 + signatureLen + len);
}

function gcm(op: u32, label: string, iv: usize, aad: usize, aadLen: u32, data: usize, len: u32): i32 {
  assert(op == HSM_ENCRYPT || op == HSM_DECRYPT, "AES-GCM request for another operation");
  const at = begin(label);
  if (at == 0) return E_INVALID;
  const total = <u64>at + <u64>HSM_IV_BYTES + 4 + <u64>aadLen + <u64>len;
  if (total > <u64>HSM_REQUEST_BYTES_MAX) return E_TOO_LARGE;
  memory.copy(request + at, iv, HSM_IV_BYTES);
  store<u32>(request + at + HSM_IV_BYTES, aadLen);
  memory.copy(request + at + HSM_IV_BYTES + 4, aad, aadLen);
  memory.copy(request + at + HSM_IV_BYTES + 4 + aadLen, data, len);
  return hsm(op, request, <u32>total);
}

// AES-256-GCM with key `label`, a 12-byte IV (never reuse one with a key)
// and aadLen bytes of additional data; the result is ciphertext || 16-byte tag.
export function hsmEncrypt(label: string, iv: usize, aad: usize, aadLen: u32, plain: usize, len: u32): i32 {
  return gcm(HSM_ENCRYPT, label, iv, aad, aadLen, plain, len);
}

// The inverse of hsmEncrypt; status HSM_E_AUTH when anything differs.
export function hsmDecrypt(label: string, iv: usize, aad: usize, aadLen: u32, sealed: usize, len: u32): i32 {
  return gcm(HSM_DECRYPT, label, iv, aad, aadLen, sealed, len);
}

// count random bytes from the HSM's generator (needs capability hsm_random).
export function hsmRandom(count: u32): i32 {
  store<u32>(request, 0);
  store<u32>(request + HEADER, count);
  return hsm(HSM_RANDOM, request, HEADER + 4);
}

// The 97-byte uncompressed P-384 public point of signing key `label`.
export function hsmPublicKey(label: string): i32 {
  const at = begin(label);
  if (at == 0) return E_INVALID;
  return hsm(HSM_PUBLIC_KEY, request, at);
}

// ---- replies ----

export function isHsmReply(kind: u32, sender: u32): bool {
  return kind == KIND_REPLY && sender == SENDER_KERNEL;
}
export function hsmReplyId(payload: usize): u32 { return load<u32>(payload); }
export function hsmReplyStatus(payload: usize): i32 { return load<i32>(payload + 4); }
