// services/gateway/protocol.ts: the contract between the host's HTTP offload
// (host/gateway/http.ts) and the gateway service (services/gateway/assembly/).
//
// Like hal/abi.ts this file is compiled twice, by AssemblyScript into the
// gateway's wasm and by esbuild/tsc into the host, so it holds only integer
// constants written as plain literals, and the two pure functions that map
// ledger routes to ledger operations and back (routeOperation,
// operationRoute; types of the AssemblyScript kind, types/portable.d.ts).
//
// The request and reply headers, the AUTH_* values, the errors admission
// shares and the admission table's records are the kernel's contract as much
// as this service's: their one home is hal/abi.ts ("admission"), re-exported
// here so the service and the host keep one import.
//
// # Request body (after the GW_REQUEST_HEADER_BYTES header; logged)
//   the binary ledger request for ROUTE_CREATE_ACCOUNTS..ROUTE_ACCOUNT_BALANCES,
//   ROUTE_QUERY_ACCOUNTS and ROUTE_QUERY_TRANSFERS (the ledger routes),
//   KEY_CREATE_* for ROUTE_KEYS_CREATE, a u32 key id for ROUTE_KEYS_REVOKE,
//   a service command for ROUTE_SERVICES_*, the payments service's request
//   for the payments routes, the compliance service's request for the
//   compliance routes, empty otherwise.
//
// # Reply body (after the GW_REPLY_HEADER_BYTES header; status 0 always:
// the HTTP outcome is inside): the ledger's reply (records filtered to the
// key's ledgers), a GW_KEY_RECORD_BYTES record per key (keys list), the new
// key's id (u32, keys create), GW_STATS_* counters (gateway stats), or an
// ASCII message on errors.

export {
  GW_VERSION, GW_REQUEST_HEADER_BYTES, GW_REPLY_HEADER_BYTES, GW_SOURCE_OFFSET, GW_SOURCE_BYTES,
  GW_KEY_HASH_OFFSET, GW_KEY_HASH_BYTES, AUTH_NONE, AUTH_BEARER, AUTH_MALFORMED, AUTH_CONSOLE, GW_F_BODY_REFUSED,
  GW_OK, GW_E_MALFORMED, GW_E_UNAUTHENTICATED, GW_E_BAD_AUTHORIZATION, GW_E_UNKNOWN_KEY, GW_E_REVOKED_KEY,
  GW_E_FORBIDDEN_ROLE, GW_E_FORBIDDEN_LEDGER, GW_E_RATE_LIMITED_KEY, GW_E_RATE_LIMITED_SOURCE, GW_E_BODY_REFUSED,
  ADM_ROLE_CONSOLE, ADM_ROUTES_MAX, ADM_KEYS_MAX, ADM_KEY_GRANTS_MAX, ADM_OP_POLICY, ADM_OP_KEY,
  ADM_POLICY_HEADER_BYTES, ADM_ROUTE_BYTES, ADM_KEY_BYTES, ADM_SCOPE_NONE, ADM_SCOPE_ITEMS, ADM_SCOPE_DENY,
  ADM_ROUTE_F_READ, GW_E_LEDGER,
} from "../../hal/abi";
import { Operation } from "../ledger/protocol";
import { Op as PaymentsOp } from "../payments/protocol";
import { Op as ComplianceOp } from "../compliance/protocol";
import { Op as TradingOp } from "../trading/protocol";

// Routes 1..6 are the ledger's operations with the same numbers.
export const ROUTE_CREATE_ACCOUNTS = 1;
export const ROUTE_CREATE_TRANSFERS = 2;
export const ROUTE_LOOKUP_ACCOUNTS = 3;
export const ROUTE_LOOKUP_TRANSFERS = 4;
export const ROUTE_ACCOUNT_TRANSFERS = 5;
export const ROUTE_ACCOUNT_BALANCES = 6;
export const ROUTE_SYSTEM_SERVICES = 7;
export const ROUTE_SYSTEM_SCHEDULER = 8;
export const ROUTE_SYSTEM_MEMORY = 9;
export const ROUTE_KEYS_CREATE = 10;
export const ROUTE_KEYS_LIST = 11;
export const ROUTE_KEYS_REVOKE = 12;
export const ROUTE_SYSTEM_GATEWAY = 13;
// GET /v1/events (Server-Sent Events, host/gateway/events.ts). Allowed for
// admin, operator, auditor, compliance officer and read-only (a teller
// transacts, it does not watch the stream); compliance alerts only to the
// roles ROUTE_ALERTS_LIST allows (the host asks admission with that route). The reply body is the key's ledger grants: u8 count,
// u8[3] 0, u32 ledgers[count]; a scoped key sees only those ledgers' transfers.
export const ROUTE_EVENTS = 14;
// Service commands (issue 4, kernel/liveload.ts), admin only. The body is the
// service command of hal/abi.ts ("live service load"); its op must match the
// route. The gateway sends it to the kernel (SYSTEM_PEER) and answers with the
// kernel's reply as the body (u32 SVC_* result | u32 index | u32 version |
// text): 200 with GW_OK on SVC_OK, else an error status with
// GW_E_SERVICE_COMMAND.
export const ROUTE_SERVICES_LOAD = 15; // POST /v1/system/services
export const ROUTE_SERVICES_UPGRADE = 16; // POST /v1/system/services/upgrade
export const ROUTE_SERVICES_UNLOAD = 17; // POST /v1/system/services/unload
// GET /metrics (Prometheus): like the system routes 7..9, answered by the
// host after admission allowed it (admin, operator, auditor), never logged.
export const ROUTE_METRICS = 18;
// TigerBeetle's query_accounts and query_transfers (one QueryFilter): ledger
// routes like 1..6, but numbered after the routes above had taken 7..18, so
// the route is not the operation (routeOperation). Reads for every role; a
// key limited to ledgers has its grants appended as the request's scope,
// which the ledger applies inside its scan.
export const ROUTE_QUERY_ACCOUNTS = 19; // POST /v1/accounts/query
export const ROUTE_QUERY_TRANSFERS = 20; // POST /v1/transfers/query
// Payments (issue 17, docs/payments.md): the body is the payments service's
// request (services/payments/protocol.ts) the host's front end built from the
// message, with the original message bytes after its records; the reply body
// is the payments service's reply, relayed whole (routePaymentsOp).
export const ROUTE_PAYMENTS_ISO20022 = 21; // POST /v1/payments/iso20022: credit_transfers, source pacs.008 or pain.001
export const ROUTE_PAYMENTS_SWIFT_MT = 22; // POST /v1/payments/swift-mt: credit_transfers, source MT103
export const ROUTE_PAYMENTS_CREATE = 23; // POST /v1/payments: credit_transfers, source JSON
export const ROUTE_PAYMENTS_GET = 24; // GET /v1/payments/{id}: payment_messages (the payment and its messages)
export const ROUTE_PAYMENT_ACCOUNTS_PUT = 25; // POST /v1/payment-accounts: directory_put
export const ROUTE_PAYMENT_ACCOUNTS_LOOKUP = 26; // POST /v1/payment-accounts/lookup: directory_get
export const ROUTE_PAYMENTS_LIST = 27; // GET /v1/payments?...: payment_list
export const ROUTE_PAYMENT_STATEMENT = 28; // POST /v1/payment-accounts/statement: statement
export const ROUTE_PAYMENT_MESSAGE = 29; // GET /v1/payments/{id}/message?name=…: payment_messages (a document rendered by the host)
// Compliance (issue 18, docs/compliance.md): the body is the compliance
// service's request (services/compliance/protocol.ts) the host's front end
// built; the reply body is the compliance service's reply, relayed whole
// (routeComplianceOpAllowed). Neither names a ledger: a key's ledger grants
// do not limit them (admission ADM_SCOPE_NONE).
export const ROUTE_SCREENING_SEARCH = 30; // POST /v1/screening/search: search (every role: screening changes nothing and each query is logged with its key)
export const ROUTE_LISTS_LOAD = 31; // POST /v1/compliance/lists: list_begin, list_names, list_commit or list_status (admin and operator)
// Monitoring rules, alerts and their cases, decisions and reports (docs/compliance.md "Alerts and cases").
// Who reads them: admin, operator, auditor and compliance officer; tellers and read-only keys never see them.
export const ROUTE_RULES_GET = 32; // GET /v1/compliance/rules: rules_get (the readers)
export const ROUTE_RULES_SET = 33; // PUT /v1/compliance/rules: rules_set (admin and operator: the operator's command)
export const ROUTE_ALERTS_LIST = 34; // GET /v1/compliance/alerts[/{id}]: alerts_list (the readers)
export const ROUTE_CASE_UPDATE = 35; // POST /v1/compliance/alerts/{id}: case_update (compliance officer and admin)
// The payments service's hold_release of the payment whose case a compliance officer closed: the second frame of
// POST /v1/compliance/alerts/{id} (no route of its own on the HTTP side), the same roles as ROUTE_CASE_UPDATE.
export const ROUTE_HOLD_RELEASE = 36;
export const ROUTE_DECISIONS_LIST = 37; // GET /v1/compliance/decisions: decisions_list (the readers)
export const ROUTE_REPORTS = 38; // GET /v1/compliance/reports: alerts_list and decisions_list, paged by the host (the readers)
// Account owners screened again (docs/compliance.md "Account owners screened after a list update"): POST
// /v1/compliance/rescreen, and the tail of a list load, page through the payments directory (directory_list on
// ROUTE_RESCREEN) and send each page's owners to the compliance service (accounts_screen on ROUTE_ACCOUNTS_SCREEN,
// no HTTP path of its own): admin, operator and compliance officer.
export const ROUTE_RESCREEN = 39;
export const ROUTE_ACCOUNTS_SCREEN = 40;
// Trading (issue 19, docs/trading.md): the body is the trading service's request (services/trading/protocol.ts)
// the host's front end built; the reply body is the trading service's reply, relayed whole (routeTradingOp). A
// key limited to ledgers has its grants appended (trading_request.ts): the trading service lets it name only
// instruments both of whose ledgers it is granted.
export const ROUTE_ORDERS = 41; // POST /v1/orders: orders (admin, operator, trader)
export const ROUTE_ORDERS_LOOKUP = 42; // POST /v1/orders/lookup: order_get (every role)
export const ROUTE_BOOK = 43; // GET /v1/instruments/{id}/book: book (every role: market data)
export const ROUTE_INSTRUMENTS = 44; // GET /v1/instruments: instruments_get (every role)
export const ROUTE_FIX = 45; // FIX sessions (host/fix/acceptor.ts): the fix service's request (services/fix/protocol.ts)
export const ROUTE_COUNT = 46; // routes are 1 .. ROUTE_COUNT - 1 (at most hal ADM_ROUTES_MAX)

/** The trading operation a trading route's body carries; 0 when the route is not a trading route. */
export function routeTradingOp(route: u32): u32 {
  if (route == <u32>ROUTE_ORDERS) return <u32>TradingOp.orders;
  if (route == <u32>ROUTE_ORDERS_LOOKUP) return <u32>TradingOp.order_get;
  if (route == <u32>ROUTE_BOOK) return <u32>TradingOp.book;
  if (route == <u32>ROUTE_INSTRUMENTS) return <u32>TradingOp.instruments_get;
  return 0;
}

/** Whether a compliance route's body may carry compliance operation `op`; false for every op when the route is not a compliance route. */
export function routeComplianceOpAllowed(route: u32, op: u32): bool {
  if (route == <u32>ROUTE_SCREENING_SEARCH) return op == <u32>ComplianceOp.search;
  if (route == <u32>ROUTE_LISTS_LOAD) {
    return op == <u32>ComplianceOp.list_begin || op == <u32>ComplianceOp.list_names || op == <u32>ComplianceOp.list_commit
      || op == <u32>ComplianceOp.list_status;
  }
  if (route == <u32>ROUTE_RULES_GET) return op == <u32>ComplianceOp.rules_get;
  if (route == <u32>ROUTE_RULES_SET) return op == <u32>ComplianceOp.rules_set;
  if (route == <u32>ROUTE_ALERTS_LIST) return op == <u32>ComplianceOp.alerts_list;
  if (route == <u32>ROUTE_CASE_UPDATE) return op == <u32>ComplianceOp.case_update;
  if (route == <u32>ROUTE_DECISIONS_LIST) return op == <u32>ComplianceOp.decisions_list;
  if (route == <u32>ROUTE_REPORTS) return op == <u32>ComplianceOp.alerts_list || op == <u32>ComplianceOp.decisions_list;
  if (route == <u32>ROUTE_ACCOUNTS_SCREEN) return op == <u32>ComplianceOp.accounts_screen;
  return false;
}

/** Whether `route` is a compliance route. */
export function routeIsCompliance(route: u32): bool {
  return route == <u32>ROUTE_SCREENING_SEARCH || route == <u32>ROUTE_LISTS_LOAD || (route >= <u32>ROUTE_RULES_GET && route <= <u32>ROUTE_REPORTS
    && route != <u32>ROUTE_HOLD_RELEASE) || route == <u32>ROUTE_ACCOUNTS_SCREEN;
}

/** The payments operation a payments route's body carries; 0 when the route is not a payments route. */
export function routePaymentsOp(route: u32): u32 {
  if (route >= <u32>ROUTE_PAYMENTS_ISO20022 && route <= <u32>ROUTE_PAYMENTS_CREATE) return <u32>PaymentsOp.credit_transfers;
  if (route == <u32>ROUTE_PAYMENTS_GET || route == <u32>ROUTE_PAYMENT_MESSAGE) return <u32>PaymentsOp.payment_messages;
  if (route == <u32>ROUTE_PAYMENT_ACCOUNTS_PUT) return <u32>PaymentsOp.directory_put;
  if (route == <u32>ROUTE_PAYMENT_ACCOUNTS_LOOKUP) return <u32>PaymentsOp.directory_get;
  if (route == <u32>ROUTE_PAYMENTS_LIST) return <u32>PaymentsOp.payment_list;
  if (route == <u32>ROUTE_PAYMENT_STATEMENT) return <u32>PaymentsOp.statement;
  if (route == <u32>ROUTE_HOLD_RELEASE) return <u32>PaymentsOp.hold_release;
  if (route == <u32>ROUTE_RESCREEN) return <u32>PaymentsOp.directory_list;
  return 0;
}

/** The ledger operation a ledger route's body carries; 0 when the route is not a ledger route. */
export function routeOperation(route: u32): u32 {
  if (route >= <u32>ROUTE_CREATE_ACCOUNTS && route <= <u32>ROUTE_ACCOUNT_BALANCES) return route; // the same numbers
  if (route == <u32>ROUTE_QUERY_ACCOUNTS) return <u32>Operation.query_accounts;
  if (route == <u32>ROUTE_QUERY_TRANSFERS) return <u32>Operation.query_transfers;
  return 0;
}

/** The ledger route of a ledger operation (routeOperation's inverse); 0 for an operation no route carries. */
export function operationRoute(operation: u32): u32 {
  if (operation >= <u32>Operation.create_accounts && operation <= <u32>Operation.get_account_balances) return operation;
  if (operation == <u32>Operation.query_accounts) return <u32>ROUTE_QUERY_ACCOUNTS;
  if (operation == <u32>Operation.query_transfers) return <u32>ROUTE_QUERY_TRANSFERS;
  return 0;
}

export const ROLE_ADMIN = 1;
export const ROLE_OPERATOR = 2;
export const ROLE_TELLER = 3;
export const ROLE_AUDITOR = 4;
export const ROLE_READ_ONLY = 5;
// Works the compliance alerts' cases (assign, escalate, close), reads decisions, rules and reports (issue 18).
export const ROLE_COMPLIANCE_OFFICER = 6;
// Places, replaces and cancels orders (issue 19); reads the books and its orders. A key limited to ledgers trades
// only instruments both of whose ledgers it is granted.
export const ROLE_TRADER = 7;
export const ROLE_LAST = 7; // roles are ROLE_ADMIN .. ROLE_LAST (below hal ADM_ROLES_MAX)

// Errors: stable numbers; the host maps each to a snake_case code.
export const GW_E_BUSY = 10; // 503: the gateway's queue to the ledger is full
export const GW_E_KEY_TABLE_FULL = 12; // 507-like; reported as 503
export const GW_E_KEY_EXISTS = 13; // 409: a key with that hash exists
export const GW_E_NO_SUCH_KEY = 14; // 404: revoke of an unknown id
export const GW_E_INVALID_KEY_SPEC = 15; // 400: role/grants/rates invalid
export const GW_E_LEDGER_ABORTED = 16; // 503: the ledger faulted on the request or has failed; nothing applied
export const GW_E_SERVICE_COMMAND = 18; // the kernel refused a service command; the body is its reply (SVC_* result and text)
export const GW_E_PAYMENTS_ABORTED = 19; // 503: the payments service faulted on the request or has failed; nothing applied
export const GW_E_COMPLIANCE_ABORTED = 20; // 503: the compliance service faulted on the request or has failed; nothing applied
export const GW_E_COMPLIANCE_REFUSED = 21; // 502: the compliance service would not check a create_transfers (transfer_checks); nothing applied
export const GW_E_TRADING_ABORTED = 22; // 503: the trading service faulted on the request or has failed; nothing applied
export const GW_E_COUNT = 23;

// Keys create body (after the request header):
//   +0 u8 role | +1 u8 grant count (0..KEY_GRANTS_MAX) | +2 u16 0
//   +4 u32 rate per second (0 = the gateway's default) | +8 u32 burst (0 = default)
//   +12 [32] SHA-256 of the new key | +44 u32 ledgers[grant count]
export const KEY_CREATE_BYTES = 44;
export const KEY_GRANTS_MAX = 16; // = hal ADM_KEY_GRANTS_MAX (the admission table holds every grant)

// Keys list record (reply body, one per key, in id order):
//   +0 u32 id | +4 u8 role | +5 u8 revoked | +6 u8 grant count | +7 u8 0
//   +8 u64 created (logical ns) | +16 u32 rate/s | +20 u32 burst
//   +24 u32 ledgers[KEY_GRANTS_MAX] | +88 [8] first 8 bytes of the key's hash
export const GW_KEY_RECORD_BYTES = 96;

// Gateway stats reply body: GW_STATS_COUNT u64 counters, in this order.
export const GW_STATS_ALLOWED = 0;
export const GW_STATS_UNAUTHENTICATED = 1; // every 401
export const GW_STATS_FORBIDDEN = 2; // every 403
export const GW_STATS_RATE_LIMITED = 3; // every 429
export const GW_STATS_BUSY = 4;
export const GW_STATS_LEDGER_IN_FLIGHT = 5;
export const GW_STATS_DEFERRED = 6;
export const GW_STATS_KEYS = 7;
export const GW_STATS_SOURCES = 8;
export const GW_STATS_COUNT = 9;
