// test/services/hsmprobe: a test-only service that asks the HSM for what a
// client's request names, through the SDK's helpers (services/sdk/hsm.ts),
// and answers the client with what came back, so
// test/integration/hsm-device.test.ts can check the HSM device from outside.
//
// Request: u8 op (OP_HSM_*) | u8 label_len | u16 zero | label | arguments
//   SIGN        data
//   VERIFY      u32 sig_len | sig | data
//   ENCRYPT     iv[12] | u32 aad_len | aad | plain     (DECRYPT the same)
//   RANDOM      u32 count (no label)
//   PUBLIC_KEY  nothing
// Reply: i32 syscall result; when it is a request id (> 0) the reply waits
// for the HSM's answer and then carries that message after it:
//   i32 id | u32 id | i32 status | result (or error text)
// A request the probe cannot read is answered [-100].

import { reply, KIND_REQUEST } from "../../../services/sdk/qenex";
import {
  hsmSign, hsmVerify, hsmEncrypt, hsmDecrypt, hsmRandom, hsmPublicKey, isHsmReply, hsmReplyId,
  HSM_SIGN, HSM_VERIFY, HSM_ENCRYPT, HSM_DECRYPT, HSM_RANDOM, HSM_PUBLIC_KEY, HSM_IV_BYTES,
} from "../../../services/sdk/hsm";

const INBOX_BYTES: u32 = 32768;
const inbox: usize = memory.data(<i32>INBOX_BYTES, 16);
const out: usize = memory.data(<i32>(INBOX_BYTES + 64), 16);
const WAITING_MAX: u32 = 32;
const waitingId = new StaticArray<u32>(WAITING_MAX);
const waitingToken = new StaticArray<u32>(WAITING_MAX);
const E_UNREADABLE: i32 = -100;

export function qx_inbox(): usize { return inbox; }
export function qx_inbox_bytes(): u32 { return INBOX_BYTES; }
export function qx_init(len: u32): void {}

export function qx_handle(kind: u32, sender: u32, token: u32, len: u32): void {
  if (kind == KIND_REQUEST) request(token, len);
  else if (isHsmReply(kind, sender)) answered(len);
}

function one(token: u32, result: i32): void {
  store<i32>(out, result);
  reply(token, 0, out, 4);
}

function request(token: u32, len: u32): void {
  if (len < 4) { one(token, E_UNREADABLE); return; }
  const op = <u32>load<u8>(inbox);
  const labelLen = <u32>load<u8>(inbox + 1);
  if (<u32>4 + labelLen > len) { one(token, E_UNREADABLE); return; }
  const label = String.UTF8.decodeUnsafe(inbox + 4, labelLen);
  const args = inbox + 4 + labelLen;
  const n = len - 4 - labelLen;
  let r: i32 = E_UNREADABLE;
  if (op == HSM_SIGN) r = hsmSign(label, args, n);
  else if (op == HSM_PUBLIC_KEY) r = hsmPublicKey(label);
  else if (op == HSM_RANDOM && n >= 4) r = hsmRandom(load<u32>(args));
  else if (op == HSM_VERIFY && n >= 4 && load<u32>(args) <= n - 4) {
    const sigLen = load<u32>(args);
    r = hsmVerify(label, args + 4 + sigLen, n - 4 - sigLen, args + 4, sigLen);
  } else if ((op == HSM_ENCRYPT || op == HSM_DECRYPT) && n >= HSM_IV_BYTES + 4 && load<u32>(args + HSM_IV_BYTES) <= n - HSM_IV_BYTES - 4) {
    const aadLen = load<u32>(args + HSM_IV_BYTES);
    const data = args + HSM_IV_BYTES + 4 + aadLen;
    const dataLen = n - HSM_IV_BYTES - 4 - aadLen;
    r = op == HSM_ENCRYPT
      ? hsmEncrypt(label, args, args + HSM_IV_BYTES + 4, aadLen, data, dataLen)
      : hsmDecrypt(label, args, args + HSM_IV_BYTES + 4, aadLen, data, dataLen);
  }
  if (r <= 0) { one(token, r); return; }
  for (let i: u32 = 0; i < WAITING_MAX; i++) {
    if (unchecked(waitingToken[i]) != 0) continue;
    unchecked(waitingId[i] = <u32>r);
    unchecked(waitingToken[i] = token);
    return;
  }
  one(token, E_UNREADABLE); // more waiting than the probe holds: the test never does this
}

// The HSM's answer: pass it on to the client that asked.
function answered(len: u32): void {
  const id = hsmReplyId(inbox);
  for (let i: u32 = 0; i < WAITING_MAX; i++) {
    if (unchecked(waitingToken[i]) == 0 || unchecked(waitingId[i]) != id) continue;
    const token = unchecked(waitingToken[i]);
    unchecked(waitingToken[i] = 0);
    store<i32>(out, <i32>id);
    memory.copy(out + 4, inbox, len);
    reply(token, 0, out, 4 + len);
    return;
  }
}
