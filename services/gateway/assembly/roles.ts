// Who may use which route: the role policy, in one function.
//
// The same roleMay answers twice: at boot, through admission.ts, it becomes
// the roles mask per route the kernel's admission checks before a request is
// logged; at apply time (router.ts) it is checked once more against the key
// as it is in the key table then, so replay decides the same.

import * as P from "../protocol";

/** Whether a key of `role` may use `route`. */
export function roleMay(role: u32, route: u32): bool {
  assert(role >= <u32>P.ROLE_ADMIN && role <= <u32>P.ROLE_LAST, "a role the key table can hold");
  assert(route > 0 && route < <u32>P.ROUTE_COUNT, "a known route");
  if (route == P.ROUTE_CREATE_ACCOUNTS || route == P.ROUTE_CREATE_TRANSFERS) {
    return role == P.ROLE_ADMIN || role == P.ROLE_OPERATOR || role == P.ROLE_TELLER;
  }
  if (P.routeOperation(route) != 0) return true; // every role reads the ledger (lookups, get_account_*, query_*)
  if (route >= <u32>P.ROUTE_PAYMENTS_ISO20022 && route <= <u32>P.ROUTE_PAYMENTS_CREATE) {
    return role == P.ROLE_ADMIN || role == P.ROLE_OPERATOR || role == P.ROLE_TELLER; // sending payments moves money
  }
  if (route == P.ROUTE_PAYMENT_ACCOUNTS_PUT) return role == P.ROLE_ADMIN || role == P.ROLE_OPERATOR; // the directory is the operators'
  if (route == P.ROUTE_PAYMENTS_GET || route == P.ROUTE_PAYMENT_ACCOUNTS_LOOKUP || route == P.ROUTE_PAYMENTS_LIST || route == P.ROUTE_PAYMENT_STATEMENT
    || route == P.ROUTE_PAYMENT_MESSAGE) {
    return role != P.ROLE_TRADER; // every role of the bank reads; a trader trades, it does not read customers' payments
  }
  // Screening a name changes nothing and each query is logged with its key: every role may (a teller screens a customer,
  // an auditor checks a decision). Loading the lists decides what every screening answers: the operators'.
  if (route == P.ROUTE_SCREENING_SEARCH) return true;
  if (route == P.ROUTE_LISTS_LOAD) return role == P.ROLE_ADMIN || role == P.ROLE_OPERATOR;
  // Screening the bank's account owners again reads the directory and marks listed accounts: those who load the lists, and officers.
  if (route == P.ROUTE_RESCREEN || route == P.ROUTE_ACCOUNTS_SCREEN) return role == P.ROLE_ADMIN || role == P.ROLE_OPERATOR || role == P.ROLE_COMPLIANCE_OFFICER;
  if (P.routeIsCompliance(route) || route == P.ROUTE_HOLD_RELEASE) return complianceRoleMay(role, route);
  // Orders move money (settlement reserves and pays on the ledger): admins, operators and traders place them; the books,
  // instruments and orders are read by every role (market data; a scoped key sees only its ledgers' orders).
  if (route == P.ROUTE_ORDERS) return role == P.ROLE_ADMIN || role == P.ROLE_OPERATOR || role == P.ROLE_TRADER;
  if (P.routeTradingOp(route) != 0) return true;
  // A FIX session's inputs place orders too: the same roles as ROUTE_ORDERS.
  if (P.routeIsFix(route)) return role == P.ROLE_ADMIN || role == P.ROLE_OPERATOR || role == P.ROLE_TRADER;
  if (route == P.ROUTE_KEYS_CREATE || route == P.ROUTE_KEYS_REVOKE) return role == P.ROLE_ADMIN;
  if (route == P.ROUTE_KEYS_LIST) return role == P.ROLE_ADMIN || role == P.ROLE_AUDITOR;
  if (route == P.ROUTE_EVENTS) return role != P.ROLE_TELLER; // watching, not transacting
  if (route >= <u32>P.ROUTE_SERVICES_LOAD && route <= <u32>P.ROUTE_SERVICES_UNLOAD) return role == P.ROLE_ADMIN;
  return role == P.ROLE_ADMIN || role == P.ROLE_OPERATOR || role == P.ROLE_AUDITOR; // system routes
}

// Alerts, cases and decisions name customers and what they are suspected of: tellers and read-only keys never
// see them. The rules are the operators' (an operator's command, logged); a case is worked by a compliance
// officer (or an admin), and closing a held payment's case releases or voids its transfer (ROUTE_HOLD_RELEASE);
// an auditor reads everything and changes nothing.
function complianceRoleMay(role: u32, route: u32): bool {
  assert(route >= <u32>P.ROUTE_RULES_GET && route <= <u32>P.ROUTE_REPORTS, "a route of the rules, cases, decisions or reports");
  if (role == P.ROLE_TELLER || role == P.ROLE_READ_ONLY) return false;
  if (route == P.ROUTE_RULES_SET) return role == P.ROLE_ADMIN || role == P.ROLE_OPERATOR;
  if (route == P.ROUTE_CASE_UPDATE || route == P.ROUTE_HOLD_RELEASE) return role == P.ROLE_ADMIN || role == P.ROLE_COMPLIANCE_OFFICER;
  return role == P.ROLE_ADMIN || role == P.ROLE_OPERATOR || role == P.ROLE_AUDITOR || role == P.ROLE_COMPLIANCE_OFFICER; // the reads
}

// Routes of AUTH_CONSOLE frames, which only the host itself writes: for the
// operator console (`qenex keys … --data`, `qenex lists import --data`,
// `qenex rules|cases|compliance … --data`: the operator at a stopped system's
// data directory) keys, list loads, and the compliance rules, cases,
// decisions and reports (the console holds the machine, so it may do what
// its keys' roles may); and for the FIX sessions the operator configured,
// ROUTE_FIX (the host's FIX front end vouches for the session).
export function consoleRoute(route: u32): bool {
  assert(route > 0 && route < <u32>P.ROUTE_COUNT, "a known route");
  // A case closed at the console reads its payment after the release, as the route's answer does.
  if ((route >= <u32>P.ROUTE_RULES_GET && route <= <u32>P.ROUTE_REPORTS) || route == P.ROUTE_PAYMENTS_GET) return true;
  return route == P.ROUTE_KEYS_CREATE || route == P.ROUTE_KEYS_LIST || route == P.ROUTE_KEYS_REVOKE || route == P.ROUTE_LISTS_LOAD
    || route == P.ROUTE_RESCREEN || route == P.ROUTE_ACCOUNTS_SCREEN || route == P.ROUTE_FIX;
}

// Routes the host answers itself once admission allowed them (statistics of
// the host, metrics): they never reach the log, so never this service.
export function hostRoute(route: u32): bool {
  assert(route > 0 && route < <u32>P.ROUTE_COUNT, "a known route");
  return route == P.ROUTE_SYSTEM_SERVICES || route == P.ROUTE_SYSTEM_SCHEDULER || route == P.ROUTE_SYSTEM_MEMORY || route == P.ROUTE_METRICS;
}
