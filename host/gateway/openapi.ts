// host/gateway/openapi.ts: the OpenAPI 3.1 document of the HTTP API, served
// at GET /v1/openapi.json. Written by hand next to the route table
// (host/gateway/http-routes.ts ROUTES); test/unit/openapi.test.ts validates it with
// an OpenAPI validator and checks that the document and the table list the
// same routes, both ways.

import { BATCH_EVENTS_MAX } from '../../services/ledger/protocol.ts';

const u128 = { type: 'string', pattern: '^[0-9]{1,39}$', description: 'unsigned 128-bit integer as a decimal string' };
const u64 = { type: 'string', pattern: '^[0-9]{1,20}$', description: 'unsigned 64-bit integer as a decimal string' };
const u32 = { type: 'integer', minimum: 0, maximum: 4294967295 };
const u16 = { type: 'integer', minimum: 0, maximum: 65535 };
const flags = { oneOf: [{ type: 'array', items: { type: 'string' } }, u16] };
const decimal = { type: 'string', pattern: '^[0-9]+(\\.[0-9]+)?$', description: "an amount in the ledger's units (its asset scale)" };
const score = { type: 'number', minimum: 0, maximum: 1 };
const bps = { type: 'integer', minimum: 0, maximum: 10000 };
const hex8 = { type: 'string', pattern: '^[0-9a-f]{8}$' };
const timeParam = (name: string, required: boolean) => ({
  name, in: 'query', required, schema: { type: 'string' }, description: 'logical ns since 1970 (decimal) or an RFC 3339 time',
});
const listParams = (stateName: string, states: string[]) => [
  { name: stateName, in: 'query', required: false, schema: { type: 'string', enum: states } }, { name: 'after', in: 'query', required: false, schema: u64 },
  timeParam('from', false), timeParam('to', false), { name: 'ledger', in: 'query', required: false, schema: u32 },
  { name: 'limit', in: 'query', required: false, schema: { type: 'integer', minimum: 1, maximum: 1000 } },
];
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

const tradingDecimal = { type: 'string', pattern: '^[0-9]+(\\.[0-9]+)?$', description: "at the instrument's scale (price_scale, qty_scale)" };
const tradingSchemas = {
  OrderOperation: {
    type: 'object', required: ['type', 'account'], properties: {
      type: { type: 'string', enum: ['new', 'cancel', 'replace', 'mass_cancel'] }, side: { type: 'string', enum: ['buy', 'sell'] }, instrument: u32,
      account: u128, asset_account: u128, order_id: u64, price: tradingDecimal, quantity: tradingDecimal, order_type: { type: 'string', enum: ['limit', 'market'] },
      time_in_force: { type: 'string', enum: ['gtc', 'ioc', 'fok', 'day'] }, post_only: { type: 'boolean' },
      self_trade: { type: 'string', enum: ['cancel_taker', 'cancel_maker', 'cancel_both'] }, client_ref: u64,
    },
  },
  OrderEvent: {
    type: 'object', properties: {
      type: { type: 'string', enum: ['trade', 'cancelled', 'expired'] }, instrument: u32, trade_id: u64, taker_order_id: u64, maker_order_id: u64, order_id: u64,
      taker_side: { type: 'string', enum: ['buy', 'sell'] }, price: tradingDecimal, quantity: tradingDecimal, maker_leaves_quantity: tradingDecimal,
      taker_leaves_quantity: tradingDecimal,
    },
  },
  OrderResult: {
    type: 'object', properties: {
      status: { type: 'string', enum: ['new', 'partially_filled', 'filled', 'cancelled', 'rejected', 'expired', 'done'] }, reason: { type: ['string', 'null'] },
      order_id: { type: ['string', 'null'] }, client_ref: u64, quantity: tradingDecimal, leaves_quantity: tradingDecimal, filled_quantity: tradingDecimal,
      ledger_result: { type: ['string', 'null'] }, risk_rules: { type: ['array', 'null'], items: { type: 'string' } },
      events: { type: 'array', items: { $ref: '#/components/schemas/OrderEvent' } },
    },
  },
  Order: {
    type: 'object', properties: {
      order_id: u64, instrument: u32, side: { type: 'string' }, price: tradingDecimal, quantity: tradingDecimal, leaves_quantity: tradingDecimal,
      filled_quantity: tradingDecimal, time_in_force: { type: 'string' }, post_only: { type: 'boolean' }, self_trade: { type: 'string' }, client_ref: u64,
      account: u128, entered_ns: u64,
    },
  },
  Instrument: {
    type: 'object', properties: {
      id: u32, symbol: { type: 'string' }, price_scale: u16, qty_scale: u16, tick: tradingDecimal, lot: tradingDecimal, quantity_max: tradingDecimal,
      band_bps: u32, cash_ledger: u32, asset_ledger: u32,
    },
  },
  BookLevel: { type: 'object', properties: { price: tradingDecimal, quantity: tradingDecimal, orders: u32 } },
};

const schemas = {
  ...tradingSchemas,
  Error: {
    type: 'object', required: ['error'],
    properties: {
      error: {
        type: 'object', required: ['code', 'message'],
        properties: {
          code: { type: 'string', description: 'stable machine-readable code (snake_case)' },
          message: { type: 'string', description: 'for people' },
        },
      },
    },
  },
  Account: {
    type: 'object', additionalProperties: false,
    properties: {
      id: u128, debits_pending: u128, debits_posted: u128, credits_pending: u128, credits_posted: u128,
      user_data_128: u128, user_data_64: u64, user_data_32: u32,
      reserved: { ...u32, description: 'must be 0 (create_accounts answers reserved_field otherwise); not in replies' },
      ledger: u32, code: u16, flags, timestamp: u64,
    },
  },
  Transfer: {
    type: 'object', additionalProperties: false,
    properties: {
      id: u128, debit_account_id: u128, credit_account_id: u128, amount: u128,
      amount_decimal: { type: 'string', description: 'amount in units of the ledger, scaled by its asset scale' },
      pending_id: u128, user_data_128: u128, user_data_64: u64, user_data_32: u32, timeout: u32,
      ledger: u32, code: u16, flags, timestamp: u64,
    },
  },
  AccountBalance: {
    type: 'object',
    properties: { debits_pending: u128, debits_posted: u128, credits_pending: u128, credits_posted: u128, timestamp: u64 },
  },
  CreateResult: { type: 'object', required: ['result', 'timestamp'], properties: { result: { type: 'string' }, timestamp: u64 } },
  Ids: { type: 'object', required: ['ids'], additionalProperties: false, properties: { ids: { type: 'array', items: u128, maxItems: 8189 } } },
  AccountFilter: {
    type: 'object', additionalProperties: false,
    properties: {
      user_data_128: u128, user_data_64: u64, user_data_32: u32, code: u16,
      timestamp_min: u64, timestamp_max: u64, limit: u32, flags,
    },
  },
  QueryFilter: {
    type: 'object', additionalProperties: false,
    description: "TigerBeetle's QueryFilter: every non-zero field of user_data_128/64/32, ledger and code must equal the record's; "
      + 'timestamp_min/max are inclusive (0: unbounded); results in timestamp order (flags ["reversed"]: newest first), at most '
      + `limit (1..${BATCH_EVENTS_MAX}, default ${BATCH_EVENTS_MAX}). Page by timestamp: the next page starts at the last record's timestamp + 1 `
      + '(reversed: ends at it - 1). An invalid filter (timestamp_min above a non-zero timestamp_max, a timestamp above 2^63 - 1, '
      + 'an unknown flag bit) answers an empty list. A key granted ledgers sees only their records, and they alone count toward limit.',
    properties: {
      user_data_128: u128, user_data_64: u64, user_data_32: u32, ledger: u32, code: u16,
      timestamp_min: u64, timestamp_max: u64, limit: u32, flags: { oneOf: [{ type: 'array', items: { type: 'string', enum: ['reversed'] } }, u32] },
    },
  },
  KeySpec: {
    type: 'object', required: ['role'], additionalProperties: false,
    properties: {
      role: { type: 'string', enum: ['admin', 'operator', 'teller', 'auditor', 'read-only', 'compliance_officer', 'trader'] },
      ledgers: { type: 'array', items: u32, maxItems: 16 },
      rate_per_second: { type: 'integer', minimum: 0, maximum: 1000000 },
      burst: { type: 'integer', minimum: 0, maximum: 1000000 },
    },
  },
  NewKey: {
    type: 'object', required: ['id', 'key', 'role'],
    properties: {
      id: u32, key: { type: 'string', description: 'shown once; only its SHA-256 is kept' }, role: { type: 'string' },
      ledgers: { type: 'array', items: u32 }, rate_per_second: { type: 'integer' }, burst: { type: 'integer' },
    },
  },
  KeyRecord: {
    type: 'object',
    properties: {
      id: u32, role: { type: 'string' }, revoked: { type: 'boolean' }, ledgers: { type: 'array', items: u32 },
      created_ns: u64, rate_per_second: { type: 'integer' }, burst: { type: 'integer' }, hash_prefix: { type: 'string' },
    },
  },
  Status: { type: 'object', required: ['status'], properties: { status: { type: 'string' } } },
  ServiceLoad: {
    type: 'object', required: ['name', 'module', 'signature'], additionalProperties: false,
    properties: {
      name: { type: 'string', pattern: '^[a-z][a-z0-9_-]{0,31}$' },
      module: { type: 'string', contentEncoding: 'base64', description: 'the .wasm service module' },
      signature: { type: 'string', contentEncoding: 'base64', description: 'the .sig file of qenex sign <module.wasm> (ECDSA P-384 + ML-DSA-65 by a trusted key)' },
      caps: { type: 'array', items: { type: 'string', enum: ['net', 'log', 'time', 'random', 'timer'] }, description: 'only capabilities the gateway holds itself; others: 403 capability_denied' },
      memory_pages_max: { type: 'integer', minimum: 1, maximum: 65536, description: '64 KiB pages; default 16' },
      config: { type: 'object', description: 'given to the service\'s qx_init' },
    },
  },
  ServiceUpgrade: {
    type: 'object', required: ['name', 'module', 'signature'], additionalProperties: false,
    properties: { name: { type: 'string' }, module: { type: 'string', contentEncoding: 'base64' }, signature: { type: 'string', contentEncoding: 'base64' } },
  },
  ServiceName: { type: 'object', required: ['name'], additionalProperties: false, properties: { name: { type: 'string' } } },
  ServiceResult: {
    type: 'object', required: ['service', 'version', 'result', 'message'],
    properties: {
      service: { type: 'string' }, index: { type: ['integer', 'null'] }, version: { type: 'integer' },
      result: { type: 'string' }, message: { type: 'string' },
    },
  },
  Stats: { type: 'object', additionalProperties: true },
  PaymentAccount: {
    type: 'object', required: ['ledger', 'account'], additionalProperties: false,
    description: 'one of iban, account_id or bic (an agent: its settlement account); the ledger account it names',
    properties: {
      iban: { type: 'string' }, account_id: { type: 'string', maxLength: 35 }, bic: { type: 'string', pattern: '^[A-Z]{6}[A-Z0-9]{2}([A-Z0-9]{3})?$' },
      ledger: u32, account: u128, name: { type: 'string', maxLength: 35 }, closed: { type: 'boolean' }, blocked: { type: 'boolean' },
    },
  },
  PaymentAccountKey: {
    type: 'object', additionalProperties: false, description: 'one of iban, account_id or bic',
    properties: { iban: { type: 'string' }, account_id: { type: 'string' }, bic: { type: 'string' } },
  },
  PaymentCreate: {
    type: 'object', required: ['debtor', 'creditor', 'amount', 'currency', 'end_to_end_id'], additionalProperties: false,
    properties: {
      debtor: ref('PaymentAccountRef'), creditor: ref('PaymentAccountRef'),
      amount: { type: 'string', pattern: '^[0-9]+(\\.[0-9]+)?$', description: 'decimal; never more places than the currency has' },
      currency: { type: 'string', pattern: '^[A-Z]{3}$', description: "the ledger's currency (a gateway ledger)" },
      end_to_end_id: { type: 'string', maxLength: 35 }, msg_id: { type: 'string', maxLength: 35, description: 'idempotency key; default end_to_end_id' },
      uetr: { type: 'string', format: 'uuid' }, remittance: { type: 'string', maxLength: 140 },
    },
  },
  PaymentAccountRef: {
    type: 'object', additionalProperties: false, description: 'one of iban or account_id (as in the directory)',
    properties: { iban: { type: 'string' }, account_id: { type: 'string' } },
  },
  PaymentResults: {
    type: 'object', required: ['msg_id'],
    properties: {
      msg_id: { type: 'string' }, repeated: { type: 'boolean', description: 'the same message again: the original answer, nothing moved' },
      transactions: {
        type: 'array',
        items: {
          type: 'object', required: ['end_to_end_id', 'status', 'payment_id'],
          properties: {
            end_to_end_id: { type: 'string' }, uetr: { type: 'string' },
            status: { type: 'string', enum: ['ACSC', 'ACCP', 'RJCT'] }, reason: { type: 'string', description: 'ISO 20022 status reason (AC01, AC04, AM04, AM05, ...)' },
            payment_id: u64, transfer_id: u128, ledger_result: u32,
          },
        },
      },
      pacs002: { type: 'string', description: 'the pacs.002.001.10 answering an ISO 20022 message' },
      pacs008: { type: 'string', description: 'the outbound pacs.008.001.08 of a pain.001\'s accepted transactions' },
      mt103: { type: 'array', items: { type: 'object' }, description: 'the same, one MT103 (FIN text) per transaction, or why MT cannot carry it' },
      statuses: { type: 'array', items: { type: 'object' }, description: 'a pacs.002: per line the payment\'s state after it (ACSC, ACCP, RJCT) and why nothing changed (NOOR, NARR)' },
      returns: { type: 'array', items: { type: 'object' }, description: 'a pacs.004: per line ACSC and the return transfer, or RJCT and why (NOOR, AM05, AM09, AM03, NARR)' },
      entries: { type: 'array', items: { type: 'object' }, description: 'a camt.053/054: per entry matched, differs or unmatched, with the payment' },
    },
  },
  Payment: { type: 'object', additionalProperties: true, properties: { id: u64, state: { type: 'string', enum: ['settled', 'pending', 'rejected', 'returned', 'held'] } } },
  RuleSet: {
    type: 'object', required: ['ledger'], additionalProperties: false,
    description: 'One ledger\'s monitoring rules and limits (docs/compliance.md "Rules"): amounts are decimal strings in the ledger\'s units, '
      + 'scores 0..1 (six decimal places at most), a key left out is 0 (off)',
    properties: {
      ledger: u32, hold: { type: 'array', items: { type: 'string', enum: ['sanctions', 'amount', 'velocity', 'structuring', 'rapid_in_out', 'dormant', 'high_risk_country', 'fraud'] } },
      ...Object.fromEntries(['amount_threshold', 'payment_max', 'account_daily_max', 'customer_daily_max', 'counterparty_daily_max', 'velocity_sum',
        'structuring_threshold', 'dormant_amount', 'order_value_max'].map((k) => [k, decimal])),
      price_band_bps: { type: 'integer', minimum: 0, maximum: 1000000 },
      position_max: { oneOf: [{ type: 'string', pattern: '^[0-9]{1,19}$' }, { type: 'integer', minimum: 0 }], description: 'pre-trade: lots, long or short, at most 2^63-1' },
      ...Object.fromEntries(['velocity_count', 'velocity_window_s', 'structuring_count', 'structuring_window_s', 'rapid_window_s', 'dormant_days'].map((k) => [k, u32])),
      structuring_margin_bps: bps, rapid_ratio_bps: bps,
      ...Object.fromEntries(['fraud_hold', 'fraud_refuse', 'screen_hold', 'screen_refuse'].map((k) => [k, score])),
      high_risk_countries: { type: 'array', items: { type: 'string', pattern: '^[A-Z]{2}$' }, maxItems: 32 },
    },
  },
  Rules: { type: 'object', properties: { version: { type: 'integer' }, rules: { type: 'array', items: { $ref: '#/components/schemas/RuleSet' } } } },
  Alert: {
    type: 'object', additionalProperties: false,
    properties: {
      id: u32, rules: { type: 'array', items: { type: 'string' } },
      payment_id: { oneOf: [u64, { type: 'null' }], description: 'null: an account owner\'s alert (a list update), no payment' },
      state: { type: 'string', enum: ['open', 'assigned', 'escalated', 'closed'] },
      action: { type: 'string', enum: ['allow', 'hold', 'refuse'] }, outcome: { type: ['string', 'null'], enum: ['release', 'reject', 'noted', null] },
      assignee: { type: ['string', 'null'] }, ledger: u32, raised_ns: u64, updated_ns: u64, amount: decimal, debit_account: u128,
      close_reason: { type: ['string', 'null'], enum: ['false_positive', 'explained', 'confirmed', 'other', null] }, fraud_score: score, sanctions_score: score,
      updates: u32, decision: u64, href: { type: 'string', description: 'event stream only' },
    },
  },
  Decision: {
    type: 'object', additionalProperties: false,
    properties: {
      sequence: u64, payment_id: u64, action: { type: 'string', enum: ['allow', 'hold', 'refuse'] }, rules: { type: 'array', items: { type: 'string' } },
      decided_by: { type: ['string', 'null'] }, alert_id: { type: ['integer', 'null'] }, fraud_score: score, fraud_model: hex8,
      sanctions: { type: 'object', properties: { score, list: { type: ['string', 'null'] }, entity_id: { type: ['string', 'null'] }, party: { type: ['string', 'null'] } } },
      list_versions: { type: 'object', properties: { ofac_sdn: { type: ['string', 'null'] }, un: { type: ['string', 'null'] } } },
      rules_version: u32, ledger: u32, time_ns: u64, amount: decimal, debit_account: u128,
    },
  },
};

const errors = (...codes: number[]) => Object.fromEntries(codes.map((c) => [String(c), { $ref: `#/components/responses/E${c}` }]));
const AUTH_ERRORS = [400, 401, 403, 429, 503];

function json(schema: object, description = 'OK') {
  return { description, content: { 'application/json': { schema } } };
}

function op(summary: string, ok: object, opts: { body?: object; open?: boolean; params?: object[]; errorCodes?: number[] } = {}) {
  return {
    summary,
    ...(opts.open ? { security: [] } : {}),
    ...(opts.params ? { parameters: opts.params } : {}),
    ...(opts.body ? { requestBody: { required: true, content: { 'application/json': { schema: opts.body } } } } : {}),
    responses: { 200: ok, ...errors(...(opts.errorCodes ?? AUTH_ERRORS)) },
  };
}

const accountId = { name: 'id', in: 'path', required: true, schema: u128 };
const keyId = { name: 'id', in: 'path', required: true, schema: { type: 'string', pattern: '^[0-9]{1,10}$' } };
const paymentId = { name: 'id', in: 'path', required: true, schema: u64 };
const alertId = { name: 'id', in: 'path', required: true, schema: { type: 'string', pattern: '^[0-9]{1,10}$' } };

export const OPENAPI = {
  openapi: '3.1.0',
  info: {
    title: 'QENEX API', version: '1.0.0',
    description: 'Ledger (TigerBeetle semantics), payments (ISO 20022, SWIFT MT103, JSON), system statistics and API keys. Every route but health, readiness '
      + 'and this document needs Authorization: Bearer <key>. Roles: admin, operator, teller, auditor, read-only, compliance_officer, trader.',
  },
  servers: [{ url: 'http://127.0.0.1:7000' }],
  security: [{ bearer: [] }],
  paths: {
    '/': {
      get: {
        summary: 'An index of this server: name, version, links to this document and the docs', security: [],
        responses: { 200: { description: 'OK', content: { 'text/html': { schema: { type: 'string' } } } } },
      },
    },
    '/v1/health': { get: op('Liveness', json(ref('Status')), { open: true, errorCodes: [] }) },
    '/v1/ready': { get: op('Readiness: the kernel serves', json(ref('Status')), { open: true, errorCodes: [503] }) },
    '/v1/openapi.json': { get: op('This document', json({ type: 'object' }), { open: true, errorCodes: [] }) },
    '/metrics': {
      get: {
        summary: 'Prometheus text exposition (admin, operator, auditor); rate-limited like every route',
        responses: { 200: { description: 'OK', content: { 'text/plain': { schema: { type: 'string' } } } }, ...errors(...AUTH_ERRORS) },
      },
    },
    '/v1/accounts': { post: op('Create accounts (admin, operator, teller on granted ledgers)', json({ type: 'array', items: ref('CreateResult') }),
      { body: { type: 'array', items: ref('Account'), maxItems: BATCH_EVENTS_MAX } }) },
    '/v1/transfers': { post: op('Create transfers (admin, operator, teller on granted ledgers)', json({ type: 'array', items: ref('CreateResult') }),
      { body: { type: 'array', items: ref('Transfer'), maxItems: BATCH_EVENTS_MAX } }) },
    '/v1/accounts/lookup': { post: op('Look up accounts', json({ type: 'array', items: ref('Account') }), { body: ref('Ids') }) },
    '/v1/transfers/lookup': { post: op('Look up transfers', json({ type: 'array', items: ref('Transfer') }), { body: ref('Ids') }) },
    '/v1/accounts/query': { post: op('Query accounts by user data, ledger, code and timestamp range', json({ type: 'array', items: ref('Account') }), { body: ref('QueryFilter') }) },
    '/v1/transfers/query': { post: op('Query transfers by user data, ledger, code and timestamp range', json({ type: 'array', items: ref('Transfer') }), { body: ref('QueryFilter') }) },
    '/v1/accounts/{id}/transfers': { post: op("An account's transfers", json({ type: 'array', items: ref('Transfer') }), { body: ref('AccountFilter'), params: [accountId] }) },
    '/v1/accounts/{id}/balances': { post: op("An account's balance history", json({ type: 'array', items: ref('AccountBalance') }), { body: ref('AccountFilter'), params: [accountId] }) },
    '/v1/system/services': {
      get: op('Services (admin, operator, auditor)', json(ref('Stats'))),
      post: op('Load a signed service module into the running system (admin); a logged command, replayed exactly',
        json(ref('ServiceResult')), { body: ref('ServiceLoad'), errorCodes: [...AUTH_ERRORS, 409] }),
    },
    '/v1/system/services/upgrade': {
      post: op('Upgrade a service, keeping its state (memory hand-off and qx_migrate); a failure rolls back (admin)',
        json(ref('ServiceResult')), { body: ref('ServiceUpgrade'), errorCodes: [...AUTH_ERRORS, 404, 409] }),
    },
    '/v1/system/services/unload': {
      post: op('Unload a live-loaded service: its queued requests are refused, its name is free again (admin)',
        json(ref('ServiceResult')), { body: ref('ServiceName'), errorCodes: [...AUTH_ERRORS, 404] }),
    },
    '/v1/system/scheduler': { get: op('Scheduler statistics (admin, operator, auditor)', json(ref('Stats'))) },
    '/v1/system/memory': { get: op('Memory pools (admin, operator, auditor)', json(ref('Stats'))) },
    '/v1/system/gateway': { get: op('Gateway counters (admin, operator, auditor)', json(ref('Stats'))) },
    '/v1/keys': {
      post: op('Create an API key (admin); the key is returned once', json(ref('NewKey')), { body: ref('KeySpec'), errorCodes: [...AUTH_ERRORS, 409] }),
      get: op('List API keys (admin, auditor)', json({ type: 'array', items: ref('KeyRecord') })),
    },
    '/v1/events': {
      get: {
        summary: 'Server-Sent Events of committed transfers, payments, compliance alerts and audit checkpoints (admin, operator, auditor, read-only, '
          + 'compliance_officer; a key granted ledgers sees only their transfers and payments; alerts only admin, operator, auditor and compliance_officer: '
          + 'types=alert by another role is 403). Each event has `id:` (the kernel\'s event id, increasing), `event:` transfer, payment, alert or '
          + 'checkpoint, and `data:` one JSON object (a Transfer; an Alert, as GET /v1/compliance/alerts lists it, with its href; a Payment, as GET /v1/payments lists it, '
          + 'and its href, each time a message created or changed it: recorded, settled, pending, rejected, posted, voided, returned; '
          + 'a checkpoint: tree_size, time_ns, root, entry, logged_ns). '
          + 'Resume with Last-Event-ID or ?after=<id>: exactly the events after it follow, also across a restart. A stream that reads '
          + 'too slowly gets a final `event: error` (code subscriber_too_slow) and is closed. Comment lines are heartbeats.',
        parameters: [
          { name: 'after', in: 'query', required: false, schema: { type: 'string', pattern: '^[0-9]{1,16}$' }, description: 'resume after this event id (wins over Last-Event-ID)' },
          { name: 'ledger', in: 'query', required: false, schema: { type: 'string', pattern: '^[0-9]{1,10}(,[0-9]{1,10})*$' }, description: 'only transfers and payments on these ledgers' },
          { name: 'types', in: 'query', required: false, schema: { type: 'string', pattern: '^(transfer|payment|checkpoint|alert)(,(transfer|payment|checkpoint|alert))*$' } },
          { name: 'Last-Event-ID', in: 'header', required: false, schema: { type: 'string', pattern: '^[0-9]{1,16}$' } },
        ],
        responses: {
          200: { description: 'the stream (never ends on its own)', content: { 'text/event-stream': { schema: { type: 'string' } } } },
          ...errors(400, 401, 403, 410, 429, 503),
        },
      },
    },
    '/v1/payments/iso20022': {
      post: {
        summary: 'An ISO 20022 message: a bare Document, or a wrapper of AppHdr and Document. Schema-checked (FF01 and 400 when invalid; '
          + 'DTDs and entities refused). pacs.008.001.08 in: each transaction settles or is refused with its ISO reason (200, with the pacs.002); '
          + 'pain.001.001.09 out: pending transfers (ACCP), with the pacs.002 and the outbound pacs.008; pacs.002.001.10: posts or voids '
          + 'those (statuses); pacs.004.001.09: returns a settled one once (returns); camt.053/054.001.08: each entry reconciled (entries). '
          + 'The same message again gets the original answer (admin, operator, teller on granted ledgers; pacs.002, pacs.004 and camt: unscoped keys)',
        requestBody: { required: true, content: { 'application/xml': { schema: { type: 'string' } } } },
        responses: { 200: json(ref('PaymentResults')), ...errors(...AUTH_ERRORS) },
      },
    },
    '/v1/payments/swift-mt': {
      post: {
        summary: 'A SWIFT MT103 (FIN blocks), applied as its pacs.008 mapping (admin, operator, teller on granted ledgers)',
        requestBody: { required: true, content: { 'text/plain': { schema: { type: 'string' } } } },
        responses: { 200: json(ref('PaymentResults')), ...errors(...AUTH_ERRORS) },
      },
    },
    '/v1/payments': {
      post: op('A payment between two directory accounts (admin, operator, teller on granted ledgers)', json(ref('PaymentResults')), { body: ref('PaymentCreate') }),
      get: {
        summary: 'Payments in id order, filtered; page with after=<next_after> (every role; a key granted ledgers sees only theirs)',
        parameters: [
          { name: 'after', in: 'query', required: false, schema: u64 },
          { name: 'limit', in: 'query', required: false, schema: { type: 'integer', minimum: 1, maximum: 1024 } },
          { name: 'state', in: 'query', required: false, schema: { type: 'string', enum: ['settled', 'pending', 'rejected', 'returned', 'held'] } },
          { name: 'source', in: 'query', required: false, schema: { type: 'string', enum: ['pacs.008', 'pain.001', 'mt103', 'json'] } },
          { name: 'ledger', in: 'query', required: false, schema: u32 },
        ],
        responses: { 200: json({ type: 'object', properties: { payments: { type: 'array', items: ref('Payment') }, next_after: u64 } }), ...errors(...AUTH_ERRORS) },
      },
    },
    '/v1/payments/{id}': {
      get: op('A payment: its state, reason, amount, accounts and identifiers, and its messages in and out (messages: name, direction, type, '
        + 'msg_id, created, sha256 of an inbound original, href) (every role; a key granted ledgers sees only theirs)', json(ref('Payment')),
      { params: [paymentId], errorCodes: [...AUTH_ERRORS, 404] }),
    },
    '/v1/payments/{id}/message': {
      get: {
        summary: "One of a payment's messages: original (as received), status_report, return (the pacs.002 and pacs.004 that changed it), "
          + 'pacs002 (the status report QENEX answered with), pacs008 and mt103 (the transfer its pain.001 sent out), byte for byte as first '
          + 'produced (every role; a key granted ledgers sees only theirs)',
        parameters: [paymentId, { name: 'name', in: 'query', required: true, schema: { type: 'string', enum: ['original', 'status_report', 'return', 'pacs002', 'pacs008', 'mt103'] } }],
        responses: {
          200: { description: 'The document', content: { 'application/xml': { schema: { type: 'string' } }, 'text/plain': { schema: { type: 'string' } }, 'application/json': { schema: {} } } },
          ...errors(...AUTH_ERRORS, 404, 422, 503),
        },
      },
    },
    '/v1/payment-accounts': {
      post: op('Add or update directory entries (admin, operator)', json({ type: 'object', properties: { results: { type: 'array', items: { type: 'string' } } } }),
        { body: { type: 'object', required: ['accounts'], additionalProperties: false, properties: { accounts: { type: 'array', items: ref('PaymentAccount'), maxItems: 8189 } } } }),
    },
    '/v1/screening/search': {
      post: op('Screen a name against the sanctions lists in force (OFAC SDN, UN): matches best first, one per listed entry, above the '
        + "service's threshold (every role; each search is logged with its key)", json({
        type: 'object', properties: {
          matches: { type: 'array', items: { type: 'object', properties: {
            list: { type: 'string', enum: ['ofac_sdn', 'un'] }, entity_id: { type: 'string' }, name: { type: 'string' },
            score: { type: 'number', minimum: 0, maximum: 1 }, type: { type: 'string' }, alias: { type: 'boolean' }, list_version: { type: 'string' },
          } } },
          candidates_scored: { type: 'integer' }, above_threshold: { type: 'integer' },
        },
      }), {
        body: {
          type: 'object', required: ['name'], additionalProperties: false, properties: {
            name: { type: 'string', minLength: 1, maxLength: 512 }, type: { type: 'string', enum: ['individual', 'entity', 'vessel', 'aircraft'] },
            limit: { type: 'integer', minimum: 1, maximum: 100 },
          },
        },
      }),
    },
    '/v1/compliance/lists': {
      post: op("Load a sanctions list (its files, base64): parsed and normalised before the log, staged, put in force whole; the list's "
        + 'version is the SHA-256 of its files (admin, operator)', json({ type: 'object', additionalProperties: true }), {
        body: {
          type: 'object', required: ['list', 'files'], additionalProperties: false, properties: {
            list: { type: 'string', enum: ['ofac_sdn', 'un'] },
            files: { type: 'object', description: 'ofac_sdn: sdn, alt, add (comments optional); un: file', additionalProperties: { type: 'string', contentEncoding: 'base64' } },
          },
        },
      }),
      get: op('The sanctions lists in force: version, entries, names, since when (admin, operator)', json({ type: 'object', additionalProperties: true })),
    },
    '/v1/compliance/rescreen': {
      post: op('Screen every account owner of the payments directory against the lists in force again (a list load does it too): a listed owner marks the '
        + 'account (its payments are sanctions matches), a new match raises an alert, a delisted owner is cleared (admin, operator, compliance_officer)',
        json({ type: 'object', additionalProperties: true, properties: {
          event: { type: 'string', enum: ['rescreened'] }, owners_screened: { type: 'integer' }, owners_listed: { type: 'integer' },
          marks_changed: { type: 'integer' }, alerts: { type: 'integer' }, owners_unnamed: { type: 'integer' },
        } }), { errorCodes: [...AUTH_ERRORS, 503] }),
    },
    '/v1/compliance/rules': {
      get: op('The monitoring rules and limits in force, one rule set per ledger, and the rules version (admin, operator, auditor, compliance_officer)',
        json(ref('Rules'))),
      put: op('Replace every rule set (the operator\'s command, logged; admin, operator): 1..16 rule sets, ledgers distinct; answers the rules now in force',
        json(ref('Rules')), { body: { type: 'object', required: ['rules'], additionalProperties: false, properties: { rules: { type: 'array', items: ref('RuleSet'), minItems: 1, maxItems: 16 } } } }),
    },
    '/v1/compliance/alerts': {
      get: {
        summary: 'Alerts (each is its case) in id order, filtered; page with after=<next_after> until it is null (admin, operator, auditor, compliance_officer)',
        parameters: listParams('state', ['open', 'assigned', 'escalated', 'closed']),
        responses: { 200: json({ type: 'object', properties: { alerts: { type: 'array', items: ref('Alert') }, next_after: { type: ['string', 'null'] } } }), ...errors(...AUTH_ERRORS) },
      },
    },
    '/v1/compliance/alerts/{id}': {
      get: op('One alert (admin, operator, auditor, compliance_officer)', json({ type: 'object', properties: { alert: ref('Alert') } }),
        { params: [alertId], errorCodes: [...AUTH_ERRORS, 404] }),
      post: op('Work a case (compliance_officer, admin): assign (assignee), escalate (assignee optional), close (outcome, reason). Closing a held '
        + "payment's case with release or reject then releases or voids its transfer; the answer has the payment after it. The same close again "
        + 'completes a release a crash interrupted', json({ type: 'object', properties: { alert: ref('Alert'), release: { type: 'object' }, payment: ref('Payment') } }), {
        params: [alertId], errorCodes: [...AUTH_ERRORS, 404, 409],
        body: {
          type: 'object', required: ['action'], additionalProperties: false, properties: {
            action: { type: 'string', enum: ['assign', 'escalate', 'close'] }, assignee: { type: 'string', maxLength: 32 },
            outcome: { type: 'string', enum: ['release', 'reject', 'noted'] }, reason: { type: 'string', enum: ['false_positive', 'explained', 'confirmed', 'other'] },
          },
        },
      }),
    },
    '/v1/compliance/decisions': {
      get: {
        summary: 'Decisions of the payment checks in sequence order, filtered; page with after=<next_after> until it is null (admin, operator, auditor, compliance_officer)',
        parameters: listParams('action', ['allow', 'hold', 'refuse']),
        responses: { 200: json({ type: 'object', properties: { decisions: { type: 'array', items: ref('Decision') }, next_after: { type: ['string', 'null'] } } }), ...errors(...AUTH_ERRORS) },
      },
    },
    '/v1/compliance/reports': {
      get: {
        summary: 'The alerts and decisions of a period, signed like the audit checkpoints (ECDSA P-384 and ML-DSA-65 over "QENEX compliance report v1\\0" and the '
          + 'report\'s bytes): JSON {"report","report_sha256","signatures"}, or CSV with QENEX-Report-SHA256 and QENEX-Report-Signatures headers '
          + '(docs/compliance.md "Reports" says how to verify; admin, operator, auditor, compliance_officer)',
        parameters: [timeParam('from', true), timeParam('to', true), { name: 'format', in: 'query', required: false, schema: { type: 'string', enum: ['json', 'csv'] } }],
        responses: {
          200: { description: 'The signed report', content: { 'application/json': { schema: { type: 'object' } }, 'text/csv': { schema: { type: 'string' } } } },
          ...errors(...AUTH_ERRORS, 413),
        },
      },
    },
    '/v1/orders': {
      post: op('Order operations applied in order: new (limit or market; gtc, ioc, fok, day; post_only; self_trade), cancel, replace, mass_cancel; '
        + 'prices and quantities are decimal strings at the instrument\'s scales (docs/trading.md; admin, operator, trader)', json({
        type: 'object', properties: { results: { type: 'array', items: ref('OrderResult') }, expired: { type: 'array', items: ref('OrderEvent') } },
      }), { body: { type: 'array', items: ref('OrderOperation'), minItems: 1, maxItems: 1024 } }),
    },
    '/v1/orders/lookup': {
      post: op('The live orders of the ids asked (every role; a key limited to ledgers sees its ledgers\' only)', json({
        type: 'object', properties: { orders: { type: 'array', items: ref('Order') } },
      }), { body: { type: 'object', required: ['ids'], additionalProperties: false, properties: { ids: { type: 'array', items: u64, minItems: 1, maxItems: 1024 } } } }),
    },
    '/v1/instruments': {
      get: op('The instruments traded (every role)', json({ type: 'object', properties: { instruments: { type: 'array', items: ref('Instrument') } } })),
    },
    '/v1/instruments/{id}/book': {
      get: op('An instrument\'s book: the best levels of each side, best first (every role)', json({
        type: 'object', properties: { instrument: u32, bids: { type: 'array', items: ref('BookLevel') }, asks: { type: 'array', items: ref('BookLevel') } },
      }), { params: [{ name: 'id', in: 'path', required: true, schema: { type: 'string', pattern: '^[0-9]{1,10}$' } },
        { name: 'depth', in: 'query', required: false, schema: { type: 'integer', minimum: 1, maximum: 1000 } }] }),
    },
    '/v1/payment-accounts/statement': {
      post: op("A directory account's statement: posted totals at the start and end of the period (from the ledger) and its transfers within it, "
        + 'as JSON and as a camt.053.001.08 (every role; a key granted ledgers sees only theirs)', json({ type: 'object', additionalProperties: true }), {
        body: {
          type: 'object', required: ['account'], additionalProperties: false,
          properties: { account: ref('PaymentAccountKey'), from_ns: u64, to_ns: u64, limit: { type: 'integer', minimum: 1, maximum: 2048 } },
        },
        errorCodes: [...AUTH_ERRORS, 404],
      }),
    },
    '/v1/payment-accounts/lookup': {
      post: op('Look up directory entries', json({ type: 'object', properties: { accounts: { type: 'array', items: { oneOf: [ref('PaymentAccount'), { type: 'null' }] } } } }),
        { body: { type: 'object', required: ['accounts'], additionalProperties: false, properties: { accounts: { type: 'array', items: ref('PaymentAccountKey'), maxItems: 1024 } } } }),
    },
    '/v1/keys/{id}': {
      delete: op('Revoke an API key (admin)', json({ type: 'object', properties: { id: u32, revoked: { type: 'boolean' } } }), { params: [keyId], errorCodes: [...AUTH_ERRORS, 404] }),
    },
  },
  components: {
    securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'an API key from qenex keys create' } },
    schemas,
    responses: Object.fromEntries([400, 401, 403, 404, 409, 410, 413, 422, 429, 503].map((c) => [`E${c}`, json(ref('Error'), `error ${c}`)])),
  },
} as const;

let text: string | null = null;

/** The document as JSON text (built once). */
export function openApiText(): string {
  text ??= JSON.stringify(OPENAPI);
  return text;
}
