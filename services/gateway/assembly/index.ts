// services/gateway: the API gateway inside QENEX. Every HTTP request the host
// frames (host/gateway/http.ts) and every binary frame to "gateway"
// (host/gateway/binary.ts) arrives here as a logged input in the compact form
// of ../protocol.ts. This service is the admission authority (capability
// "admit", kernel/admission.ts): it programs the kernel's admission table
// with its route policy and its keys, and the kernel refuses unauthenticated,
// unauthorised and over-rate frames before they reach the log. What arrives
// here was admitted; this service then decides, deterministically and so
// replayably:
//
//   authentication  the SHA-256 of the bearer key against the key table
//                 (hash -> id, role, ledger grants, revoked) once more: a key
//                 revoked after admission is refused here, the same on replay;
//                 the key itself never reaches the kernel or the log
//   authorisation the role per route (admin, operator, teller, auditor,
//                 read-only) and, for keys limited to ledgers, every event's
//                 ledger on writes and a filter on what reads return
//   routing       ledger requests are sent to the ledger service and its
//                 reply relayed to the client; key management and the
//                 gateway's counters are answered here
//
// Rate limits are admission's (per node, never logged); the manifest's rates
// reach the kernel through the policy this service programs at init.
//
// ABI (module "qenex" is the only import):
//   qx_inbox() / qx_inbox_bytes()   the buffer the kernel copies a message into
//   qx_init(len)                    once at boot; the inbox holds the JSON config
//   qx_handle(kind, sender, token, len)
//                                   a request from the host, or a reply (or an
//                                   abort) from the ledger or the kernel
//
// The files, one job each:
//   constants.ts   limits and wire sizes, and the relations between them
//   memory.ts      every memory area, reserved once
//   text.ts        console lines and error messages without allocation
//   config.ts      the manifest's config
//   roles.ts       which role may use which route
//   admission.ts   the policy and the keys, programmed into the kernel
//   keys.ts        the key table and its index
//   keys_admin.ts  create, list and revoke keys
//   router.ts      a request's header, its key, its route's job
//   ledger_request.ts  ledger requests: framing, then the relay
//   scope.ts       keys limited to ledgers: writes checked, reads filtered
//   relay.ts       to the ledger (and the payments and compliance services) and back, in order
//   payments_request.ts  payments requests: framing, a scoped key's ledgers, then the relay
//   compliance_request.ts  compliance requests (screening, list loads): framing, then the relay
//   trading_request.ts     trading requests (orders, books): framing, a scoped key's grants, then the relay
//   fix_request.ts         FIX requests (a FIX session's inputs): framing, then the relay
//   pending.ts     the FIFO of requests in flight to the ledger
//   defer.ts       the bounded ring of requests waiting for a slot
//   reply.ts       the reply header, error messages, refusals
//   stats.ts       the gateway's counters
//   events.ts      allowing an event stream, with the key's grants
//   system.ts      service commands to the kernel

import { KIND_FAILED, KIND_REPLY, KIND_REQUEST } from "./qenex";
import { INBOX_BYTES, SENDER_KERNEL, constantsCheck } from "./constants";
import { inbox } from "./memory";
import { configCheck, configParse } from "./config";
import { programPolicy } from "./admission";
import {
  compliancePeer, handleComplianceAborted, handleComplianceReply, handleTradingAborted, handleTradingReply, tradingPeer, handleLedgerAborted, handleLedgerReply,
  handlePaymentsAborted, handlePaymentsReply, fixPeer, handleFixAborted, handleFixReply,
  ledgerPeer, paymentsPeer, relayInit } from "./relay";
import { handleSystemReply, systemInFlight } from "./system";
import { handleRequest } from "./router";

export function qx_inbox(): usize { return inbox; }
export function qx_inbox_bytes(): u32 { return INBOX_BYTES; }

export function qx_init(len: u32): void {
  constantsCheck();
  assert(len <= INBOX_BYTES, "the kernel copies at most the inbox");
  configParse(len);
  configCheck();
  relayInit();
  programPolicy();
}

export function qx_handle(kind: u32, sender: u32, token: u32, len: u32): void {
  assert(len <= INBOX_BYTES, "the kernel copies at most the inbox");
  if (kind == KIND_REQUEST) handleRequest(token, len);
  else if (kind == KIND_REPLY && <i32>sender == ledgerPeer) handleLedgerReply(len);
  else if (kind == KIND_FAILED && <i32>sender == ledgerPeer) handleLedgerAborted();
  else if (kind == KIND_REPLY && <i32>sender == paymentsPeer) handlePaymentsReply(len);
  else if (kind == KIND_FAILED && <i32>sender == paymentsPeer) handlePaymentsAborted();
  else if (kind == KIND_REPLY && <i32>sender == compliancePeer) handleComplianceReply(len);
  else if (kind == KIND_FAILED && <i32>sender == compliancePeer) handleComplianceAborted();
  else if (kind == KIND_REPLY && <i32>sender == tradingPeer) handleTradingReply(len);
  else if (kind == KIND_FAILED && <i32>sender == tradingPeer) handleTradingAborted();
  else if (kind == KIND_REPLY && <i32>sender == fixPeer) handleFixReply(len);
  else if (kind == KIND_FAILED && <i32>sender == fixPeer) handleFixAborted();
  else if (kind == KIND_REPLY && sender == SENDER_KERNEL && systemInFlight()) handleSystemReply(len);
}
