// Replies to the host: the gateway reply header, then a body.
//
// Every request gets exactly one reply, status 0 at the kernel (the HTTP
// outcome is inside the header): GW_REPLY_HEADER_BYTES of u16 status | u16
// error (GW_E_*) | u32 retry-after seconds | u32 key id | u32 role (0 and 0
// when no key is known), then the body built in the outbox. Refusals of
// authentication and authorisation are also counted (stats.ts).

import * as P from "../protocol";
import { reply } from "./qenex";
import { ERROR_TEXT_BYTES_MAX, OUTBOX_BYTES } from "./constants";
import { outbox } from "./memory";
import { keyAt, keyCount, KEY_ID, KEY_ROLE } from "./keys";
import { countStat } from "./stats";

function replyHead(status: u32, error: u32, retry: u32, keyNumber: i32): void {
  assert(status >= 200 && status <= 599, "an HTTP status");
  assert(keyNumber < <i32>keyCount, "a key in the table, or none");
  store<u16>(outbox, <u16>status);
  store<u16>(outbox + 2, <u16>error);
  store<u32>(outbox + 4, retry);
  store<u32>(outbox + 8, keyNumber < 0 ? 0 : load<u32>(keyAt(<u32>keyNumber) + KEY_ID));
  store<u32>(outbox + 12, keyNumber < 0 ? 0 : <u32>load<u8>(keyAt(<u32>keyNumber) + KEY_ROLE));
}

/** Replies with the header and the `bodyLen` bytes already in the outbox after it. */
export function answer(token: u32, status: u32, error: u32, retry: u32, keyNumber: i32, bodyLen: u32): void {
  assert(<u64>P.GW_REPLY_HEADER_BYTES + bodyLen <= <u64>OUTBOX_BYTES, "the body was built within the outbox");
  replyHead(status, error, retry, keyNumber);
  reply(token, 0, outbox, P.GW_REPLY_HEADER_BYTES + bodyLen);
}

/** An answer whose body is an ASCII message. */
export function answerText(token: u32, status: u32, error: u32, retry: u32, keyNumber: i32, message: string): void {
  assert(error != P.GW_OK, "a message answers an error");
  let n: u32 = 0;
  for (; n < <u32>message.length && n < ERROR_TEXT_BYTES_MAX; n++) store<u8>(outbox + P.GW_REPLY_HEADER_BYTES + n, <u8>message.charCodeAt(n));
  answer(token, status, error, retry, keyNumber, n);
}

/**
 * A recorded refusal: counted and answered. It is not logged here: the host's
 * request log names every refusal once, with its code (the gateway's line
 * with bare numbers said the same again).
 */
export function refuse(token: u32, route: u32, status: u32, error: u32, retry: u32, keyNumber: i32, message: string): void {
  assert(status == 401 || status == 403 || status == 429, "a refusal of authentication, authorisation or rate");
  countStat(status == 401 ? P.GW_STATS_UNAUTHENTICATED : status == 403 ? P.GW_STATS_FORBIDDEN : P.GW_STATS_RATE_LIMITED);
  assert(route < <u32>P.ROUTE_COUNT, "refusal of a known route");
  answerText(token, status, error, retry, keyNumber, message);
}
