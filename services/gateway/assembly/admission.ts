// The admission policy and the keys, programmed into the kernel
// (kernel/admission.ts, capability "admit").
//
// This service is the admission authority: at boot it tells the kernel, per
// route, which roles may use it and how a key limited to ledgers is checked
// against a request body, and the manifest's rates; each key it creates or
// revokes is programmed at once. The kernel then refuses unauthenticated,
// unauthorised and over-rate frames before they reach the log, so what
// arrives here was admitted (router.ts checks the key once more).

import * as P from "../protocol";
import * as PAY from "../../payments/protocol";
import { Op as PaymentsOp } from "../../payments/protocol";
import { admission } from "./qenex";
import { LEDGER_HEADER_BYTES, LEDGER_RECORD_BYTES, RATE_MAX, RECORD_LEDGER_OFFSET } from "./constants";
import { admissionBuf } from "./memory";
import { configFail, failBurst, failRate, keyBurst, keyRate, sourceBurst, sourceRate } from "./config";
import { consoleRoute, roleMay } from "./roles";
import { keyAt, keyCount, KEY_BURST, KEY_LEDGERS, KEY_RATE } from "./keys";
import { ledgerPeer } from "./relay";

const POLICY_BYTES: u32 = P.ADM_POLICY_HEADER_BYTES + P.ROUTE_COUNT * P.ADM_ROUTE_BYTES;

// The ledger routes that change nothing: every ledger route but the creates.
function isRead(route: u32): bool {
  assert(route > 0 && route < <u32>P.ROUTE_COUNT, "a known route");
  return P.routeOperation(route) != 0 && route != P.ROUTE_CREATE_ACCOUNTS && route != P.ROUTE_CREATE_TRANSFERS;
}

// The roles that may use a route, as admission's bit mask (bit 0: the console).
function routeRoles(route: u32): u32 {
  let mask: u32 = 0;
  if (consoleRoute(route)) mask |= 1 << P.ADM_ROLE_CONSOLE;
  for (let role: u32 = P.ROLE_ADMIN; role <= <u32>P.ROLE_LAST; role++) if (roleMay(role, route)) mask |= <u32>1 << role;
  assert(mask != 0, "every route is open to someone");
  return mask;
}

/** Programs the route policy and the config's rates (once, at boot). */
export function programPolicy(): void {
  assert(sourceRate <= RATE_MAX && keyRate <= RATE_MAX && failRate <= RATE_MAX, "rates fit the policy's u32 fields");
  assert(sourceBurst <= RATE_MAX && keyBurst <= RATE_MAX && failBurst <= RATE_MAX, "bursts fit the policy's u32 fields");
  const b = admissionBuf;
  memory.fill(b, 0, POLICY_BYTES);
  store<u32>(b, <u32>sourceRate); store<u32>(b + 4, <u32>sourceBurst);
  store<u32>(b + 8, <u32>keyRate); store<u32>(b + 12, <u32>keyBurst);
  store<u32>(b + 16, <u32>failRate); store<u32>(b + 20, <u32>failBurst);
  store<u32>(b + 24, P.ROUTE_COUNT);
  for (let route: u32 = 1; route < <u32>P.ROUTE_COUNT; route++) {
    const r = b + P.ADM_POLICY_HEADER_BYTES + <usize>route * P.ADM_ROUTE_BYTES;
    store<u32>(r, routeRoles(route));
    if (route == P.ROUTE_CREATE_ACCOUNTS || route == P.ROUTE_CREATE_TRANSFERS) {
      // Every event's ledger must be granted to a key limited to ledgers.
      store<u8>(r + 4, P.ADM_SCOPE_ITEMS);
      store<u8>(r + 5, <u8>LEDGER_HEADER_BYTES);
      store<u8>(r + 6, 4); // the ledger request's u32 count
      store<u16>(r + 8, <u16>LEDGER_RECORD_BYTES);
      store<u16>(r + 10, <u16>RECORD_LEDGER_OFFSET);
    } else if (route == P.ROUTE_ACCOUNT_BALANCES) {
      store<u8>(r + 4, P.ADM_SCOPE_DENY); // balance history is not limited by ledger
    } else if (P.routePaymentsOp(route) == <u32>PaymentsOp.credit_transfers) {
      // Every transaction's ledger must be granted: the records after the header and message record.
      store<u8>(r + 4, P.ADM_SCOPE_ITEMS);
      store<u8>(r + 5, <u8>(PAY.HEADER_BYTES + PAY.MESSAGE_BYTES));
      store<u8>(r + 6, <u8>PAY.HEADER_COUNT);
      store<u16>(r + 8, <u16>PAY.TX_BYTES);
      store<u16>(r + 10, <u16>PAY.TX_LEDGER);
    } else if (route == P.ROUTE_PAYMENT_ACCOUNTS_PUT) {
      store<u8>(r + 4, P.ADM_SCOPE_ITEMS);
      store<u8>(r + 5, <u8>PAY.HEADER_BYTES);
      store<u8>(r + 6, <u8>PAY.HEADER_COUNT);
      store<u16>(r + 8, <u16>PAY.DIRECTORY_ENTRY_BYTES);
      store<u16>(r + 10, <u16>PAY.ENTRY_LEDGER);
    }
    // The compliance routes name no ledger (ADM_SCOPE_NONE): a key's grants do not limit screening or list loads.
    // ROUTE_FIX names no ledger either (ADM_SCOPE_NONE): the fix service decides what a session may trade.
    // The payments reads are not checked here (ADM_SCOPE_NONE): a key granted ledgers has its grants appended
    // (payments_request.ts), and the payments service answers only what those ledgers hold.
    // Lookups and queries are reads: once admitted the kernel hands them to
    // the ledger without a log entry (if the ledger takes reads; else they
    // are logged and relayed like any request), with a limited key's grants
    // appended as the request's scope. Like the lookups, the queries are not
    // checked against the grants here (ADM_SCOPE_NONE): the ledger answers
    // only the granted ledgers' records, skipping the others inside its scan.
    if (ledgerPeer >= 0 && isRead(route)) {
      store<u8>(r + 7, <u8>P.ADM_ROUTE_F_READ);
      store<u32>(r + 12, <u32>ledgerPeer);
    }
  }
  const r = admission(P.ADM_OP_POLICY, b, POLICY_BYTES);
  if (r != 0) configFail("the kernel refused the admission policy (is capability admit granted?)");
}

/** Tells admission about key number n as it now is (created, or revoked). */
export function programKey(n: u32): void {
  assert(n < keyCount, "a key in the table");
  const k = keyAt(n);
  const b = admissionBuf;
  memory.fill(b, 0, P.ADM_KEY_BYTES);
  memory.copy(b, k, 40); // hash, id, role, revoked, grants
  store<u8>(b + 39, 0);
  store<u32>(b + 40, load<u32>(k + KEY_RATE));
  store<u32>(b + 44, load<u32>(k + KEY_BURST));
  memory.copy(b + 48, k + KEY_LEDGERS, P.KEY_GRANTS_MAX * 4);
  const r = admission(P.ADM_OP_KEY, b, P.ADM_KEY_BYTES);
  assert(r == 0, "the kernel refused a key the gateway accepted");
}
