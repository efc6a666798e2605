// test/services/sdkcheck: exposes the SDK's money and message helpers to
// services/sdk/test/sdk.test.ts, which checks them against BigInt.
//
// Request: u8 op | u8[7] zero | u128 a | u128 b | u64 n   (48 bytes)
// Reply:   u8 ok | u8 moneyError | u8[6] zero | u128 result | u64 extra | decimal text of a
//   op 1 a + b, op 2 a - b, op 3 a * n, op 4 a / n (extra = remainder), op 5 cmp(a, b) in extra (as i64)
//   op 6 Reader: reads the request as u8,u8[7],u128,u128,u64 then one more u8 (must fail: ok = 0)

import {
  KIND_REQUEST, Reader, Writer, replyOk, u128Add, u128Sub, u128MulU64, u128DivU64, u128Cmp, u128ToDecimal, moneyError,
} from "../../../services/sdk";

const INBOX_BYTES: u32 = 256;
const inbox: usize = memory.data(<i32>INBOX_BYTES, 16);
const out: usize = memory.data(128, 16);
const a: usize = memory.data(16, 16);
const b: usize = memory.data(16, 16);
const r: usize = memory.data(16, 16);
const rd = new Reader();
const wr = new Writer();

export function qx_inbox(): usize { return inbox; }
export function qx_inbox_bytes(): u32 { return INBOX_BYTES; }
export function qx_init(len: u32): void {}

export function qx_handle(kind: u32, sender: u32, token: u32, len: u32): void {
  if (kind != KIND_REQUEST) return;
  rd.reset(inbox, len);
  const op = rd.u8();
  rd.skip(7);
  rd.u128(a);
  rd.u128(b);
  const n = rd.u64();
  memory.fill(r, 0, 16);
  let ok = true;
  let extra: u64 = 0;
  if (op == 1) ok = u128Add(r, a, b);
  else if (op == 2) ok = u128Sub(r, a, b);
  else if (op == 3) ok = u128MulU64(r, a, n);
  else if (op == 4) { extra = u128DivU64(r, a, n); ok = n != 0; }
  else if (op == 5) extra = <u64>(<i64>u128Cmp(a, b));
  else if (op == 6) { rd.u8(); ok = rd.ok; }
  wr.reset(out, 128);
  wr.u8(ok ? 1 : 0);
  wr.u8(<u8>moneyError);
  wr.zeros(6);
  wr.u128(r);
  wr.u64(extra);
  const digits = wr.room(39);
  wr.pos -= 39 - u128ToDecimal(a, digits);
  replyOk(token, out, wr.pos);
}
