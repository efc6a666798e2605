// kernel/supervise.ts: what happens when a service faults.
//
// A trap (unreachable, out-of-bounds access, divide by zero, ...) or fuel
// exhaustion aborts the one message being handled. The host reports it with
// the kernel export service_fault(code) before calling kernel_run again; the
// kernel decides everything else here:
//   - the message's token, if still unanswered, is answered: a client gets
//     FRAME_E_FAULT, a sending service a MSG_KIND_FAILED message;
//   - the restart policy (manifest restarts_max within restart_window_ms of
//     logical time) says whether the host restores the service (re-instantiate
//     it and rebuild its state from its last restore point plus a replay of
//     the messages it handled since) or whether the service is now failed;
//   - a failed service gets no more messages: queued and later ones are
//     refused (FRAME_E_UNAVAILABLE to clients, 503 on HTTP routes;
//     MSG_KIND_FAILED to senders; SYS_E_UNAVAILABLE from send()).
// A fault is a deterministic function of the service's input (fuel counts
// are deterministic too), so replaying the log faults at the same messages
// and takes the same decisions: the decision state is in kernel_digest.

import {
  FAULT_UNREACHABLE, FAULT_MEMORY, FAULT_DIVIDE, FAULT_FUEL, FAULT_RESTORE,
  FRAME_E_FAULT, FRAME_E_UNAVAILABLE, MSG_KIND_REQUEST, MSG_KIND_MESSAGE,
} from "../hal/abi";
import { Service, serviceCount } from "./services";
import { tokenResolve, tokenIsService, tokenLive, tokenConn, tokenRequestId, tokenOrigin, tokenFree } from "./tokens";
import { abortServiceToken } from "./deliver";
import { netSendError } from "../drivers/net/net";
import { conBegin, conStr, conU64, conEscaped, conEnd } from "../drivers/console/console";
import { callerTimeNs } from "./state";

function faultName(code: u32): string {
  assert(faultCodeValid(code), "faultName: unknown fault code");
  switch (code) {
    case FAULT_UNREACHABLE: return "unreachable";
    case FAULT_MEMORY: return "memory_out_of_bounds";
    case FAULT_DIVIDE: return "divide";
    case FAULT_FUEL: return "fuel_exhausted";
    case FAULT_RESTORE: return "restore_failed";
    default: return "trap";
  }
}

// Static texts: the allocator is sealed, so no message is built at run time.
function faultText(code: u32): string {
  assert(faultCodeValid(code), "faultText: unknown fault code");
  switch (code) {
    case FAULT_UNREACHABLE: return "service fault: the service trapped (unreachable/abort) handling this request; the request was aborted";
    case FAULT_MEMORY: return "service fault: the service accessed memory out of bounds handling this request; the request was aborted";
    case FAULT_DIVIDE: return "service fault: the service divided by zero (or overflowed a division) handling this request; the request was aborted";
    case FAULT_FUEL: return "service fault: the request used up its fuel budget (fuel_per_message); the request was aborted";
    default: return "service fault: the service trapped handling this request; the request was aborted";
  }
}

// Answers `token` (held by s) if it is still outstanding: a client frame
// with `status`, or a MSG_KIND_FAILED message to the sending service.
export function abortToken(s: Service, token: u32, status: u32, text: string): void {
  assert(s.index < serviceCount && status != 0, "abortToken: a service's token, answered with an error status");
  if (token == 0) return;
  const p = tokenResolve(token, s.index);
  if (p == 0) return; // already answered before the fault, or no reply possible
  if (tokenIsService(token)) {
    abortServiceToken(token, tokenOrigin(p), s.index, callerTimeNs);
    return;
  }
  if (tokenLive(p)) netSendError(tokenConn(p), tokenRequestId(p), status, text);
  tokenFree(token);
}

// A message for a service that has failed: refused, never delivered.
export function refuseMessage(s: Service, kind: u32, token: u32): void {
  assert(s.failed, "refuseMessage: only a failed service's messages are refused");
  if (kind == MSG_KIND_REQUEST || kind == MSG_KIND_MESSAGE) {
    abortToken(s, token, FRAME_E_UNAVAILABLE, "service failed: it faulted more often than its restart policy allows; nothing was applied");
  }
}

// The fault of the message being handled (token, logical time nowNs).
// Returns true when the host must restore the service, false when it has
// failed. `init`: the fault happened in qx_init, which is never retried.
export function serviceFaulted(s: Service, code: u32, token: u32, nowNs: u64, init: bool): bool {
  assert(faultCodeValid(code) && s.index < serviceCount, "serviceFaulted: a known fault of a service in the table");
  const restartsBefore = s.restarts;
  s.faults++;
  abortToken(s, token, FRAME_E_FAULT, faultText(code));
  let restore = !init && code != FAULT_RESTORE && !s.failed;
  if (restore) {
    if (s.windowFaults == 0 || nowNs - s.windowStartNs >= s.restartWindowNs) {
      s.windowStartNs = nowNs;
      s.windowFaults = 0;
    }
    s.windowFaults++;
    restore = s.windowFaults <= s.restartsMax;
  }
  if (restore) s.restarts++;
  else s.failed = true;
  // A restore is counted; each window allows restartsMax of them.
  assert(restore ? s.restarts == restartsBefore + 1 && s.windowFaults <= s.restartsMax : s.failed, "serviceFaulted: restored and counted, or failed");
  assert(s.restarts <= s.faults, "serviceFaulted: every restart follows a fault");
  report(s, code, restore);
  return restore;
}

function report(s: Service, code: u32, restore: bool): void {
  assert(restore != s.failed, "report: a restored service has not failed");
  if (!conBegin()) return;
  conStr(restore ? "{\"event\":\"service_restarted\",\"service\":\"" : "{\"event\":\"service_failed\",\"service\":\"");
  conEscaped(s.nameAddr, s.nameLen);
  conStr("\",\"fault\":\""); conStr(faultName(code));
  conStr("\",\"faults\":"); conU64(s.faults);
  conStr(",\"restarts\":"); conU64(s.restarts);
  if (!restore) conStr(",\"message\":\"the service faulted more often than its restart policy allows (restarts_max within restart_window_ms); its requests are refused\"");
  conEnd(!restore);
}

export function faultCodeValid(code: u32): bool {
  return code >= <u32>FAULT_UNREACHABLE && code <= <u32>FAULT_RESTORE;
}
