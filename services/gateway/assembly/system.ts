// Service commands (issue 4; kernel/liveload.ts): an admin's load, upgrade
// or unload of a service (ROUTE_SERVICES_*), sent on to the kernel.
//
// Each command goes to the kernel as one message to SYSTEM_PEER (capability
// "system"); the kernel answers each in order, so replies are matched to
// requests by a FIFO of at most SYSTEM_PENDING_MAX (the kernel queues 8).
// The kernel's reply (u32 SVC_* result | u32 index | u32 version | text) is
// the client's reply body, with the result as the HTTP status.

import * as P from "../protocol";
import { send } from "./qenex";
import { SERVICE_REPLY_SHOWN_MAX, SVC_CMD_HEADER_BYTES, SVC_REPLY_HEADER_BYTES, SYSTEM_PEER, SYSTEM_PENDING_MAX } from "./constants";
import { inbox, outbox, systemKey, systemToken } from "./memory";
import { keyAt, keyCount, KEY_ID } from "./keys";
import { answer, answerText } from "./reply";
import { countStat } from "./stats";
import { textLog, textPut, textPutU64, textReset } from "./text";

let systemHead: u32 = 0;
let systemLen: u32 = 0;

/** Whether a service command awaits the kernel's reply. */
export function systemInFlight(): bool {
  assert(systemLen <= SYSTEM_PENDING_MAX && systemHead < SYSTEM_PENDING_MAX, "the FIFO within its ring");
  return systemLen > 0;
}

export function serviceCommand(token: u32, route: u32, body: usize, bodyLen: u32, n: i32): void {
  assert(route >= <u32>P.ROUTE_SERVICES_LOAD && route <= <u32>P.ROUTE_SERVICES_UNLOAD, "a service command route");
  assert(n < <i32>keyCount, "a key in the table, or none");
  const op = route - P.ROUTE_SERVICES_LOAD + 1; // SVC_OP_LOAD, _UPGRADE, _UNLOAD
  if (bodyLen < SVC_CMD_HEADER_BYTES || <u32>load<u8>(body) != op) {
    answerText(token, 400, P.GW_E_MALFORMED, 0, n, "service command does not match the route"); return;
  }
  if (systemLen >= SYSTEM_PENDING_MAX) {
    countStat(P.GW_STATS_BUSY);
    answerText(token, 503, P.GW_E_BUSY, 1, n, "too many service commands in flight; nothing was applied"); return;
  }
  const r = send(SYSTEM_PEER, body, bodyLen);
  if (r != 0) {
    countStat(P.GW_STATS_BUSY);
    if (r == -1) answerText(token, 503, P.GW_E_BUSY, 0, n, "service commands are not enabled: the gateway lacks capability system");
    else answerText(token, 503, P.GW_E_BUSY, 1, n, "the kernel could not take the service command; nothing was applied");
    return;
  }
  const at = <usize>((systemHead + systemLen) % SYSTEM_PENDING_MAX) * 4;
  store<u32>(systemToken + at, token);
  store<i32>(systemKey + at, n);
  systemLen++;
  textReset(); textPut("service command route="); textPutU64(route);
  textPut(" key="); textPutU64(n < 0 ? 0 : <u64>load<u32>(keyAt(<u32>n) + KEY_ID));
  textLog();
}

// SVC_* result to HTTP status.
function serviceStatus(result: u32): u32 {
  switch (result) {
    case 0: return 200;
    case 2: return 409; // exists
    case 3: return 404; // no such service
    case 4: return 503; // table full
    case 5: case 6: case 10: return 403; // capability denied, signature, protected
    case 9: return 409; // upgrade rolled back
    case 11: return 503; // busy
    default: return 400; // malformed, module refused, init failed
  }
}

/** The kernel's reply of `len` bytes (in the inbox) to the oldest service command. */
export function handleSystemReply(len: u32): void {
  assert(systemLen > 0, "a command awaits this reply (qx_handle checks)");
  const at = <usize>systemHead * 4;
  const token = load<u32>(systemToken + at);
  const n = load<i32>(systemKey + at);
  systemHead = (systemHead + 1) % SYSTEM_PENDING_MAX;
  systemLen--;
  if (len < SVC_REPLY_HEADER_BYTES) { answerText(token, 502, P.GW_E_MALFORMED, 0, n, "the kernel's service reply is short"); return; }
  const shown = len < SERVICE_REPLY_SHOWN_MAX ? len : SERVICE_REPLY_SHOWN_MAX;
  memory.copy(outbox + P.GW_REPLY_HEADER_BYTES, inbox, shown);
  const result = load<u32>(inbox);
  answer(token, serviceStatus(result), result == 0 ? P.GW_OK : P.GW_E_SERVICE_COMMAND, result == 11 ? 1 : 0, n, shown);
}
