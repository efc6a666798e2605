// test/bench/payments.bench.ts: payments end to end (issue 17) on a booted
// bank image over HTTP keep-alive, and beside them what bounds them:
//   pacs.008    single-transaction pacs.008 messages (the CBPR+ sample with
//               a new MsgId and UETR each), CONNECTIONS (64) in flight: admission,
//               XSD validation (libxml2), reading, the log's fdatasync, the
//               gateway, the payments service, the ledger, the pacs.002
//               rendered. Messages/s over the run and each message's latency.
//   bulk        one pain.001 of BULK_TRANSACTIONS (10,000) transactions from
//               one debtor (2.9 MB of XML; with its records it goes to the
//               payments service in six parts): transactions/s of that one
//               request end to end, and beside it the XSD check of the same
//               message alone.
//   xsd         the admission check alone on the same pacs.008, in this
//               process (the floor of the front end's work); xmllint-wasm took
//               ~94 ms a call (test/bench/xsd.bench.ts; not a dependency).
//   ledger      one transfer per POST /v1/transfers at the same concurrency:
//               the ledger's own rate per request on the same machine.

import { join } from 'node:path';
import { bankManifestUnlimited, event, makeImage, removeDir, runCli, Server as TestServer } from '../support/helpers.ts';
import { pacs008Numbered, pain001 } from '../support/payments.ts';
import { validateIsoMessage } from '../../host/payments/xsd.ts';
import { MACHINE_FILES, percentile, ratio, round, type Bench, type FigureSpec, type Figures } from './support.ts';

const CONNECTIONS = 64; // enough in flight that a log flush carries many messages (group commit)
const PACS008_MESSAGES = 4000;
const LEDGER_REQUESTS = 4000;
const BULK_TRANSACTIONS = 10000;
const XSD_MESSAGES = 20000;
const XMLLINT_WASM_MS = 94;

const FIGURES: FigureSpec[] = [
  { key: 'pacs008_messages_per_s', row: 'pacs.008, 1 transaction, 64 in flight', col: 'messages/s' },
  { key: 'pacs008_p50_ms', row: 'pacs.008, 1 transaction, 64 in flight', col: 'p50 ms' },
  { key: 'pacs008_p99_ms', row: 'pacs.008, 1 transaction, 64 in flight', col: 'p99 ms' },
  { key: 'bulk_transactions_per_s', row: `pain.001 of ${BULK_TRANSACTIONS} transactions, one request`, col: 'transactions/s' },
  { key: 'bulk_request_ms', row: `pain.001 of ${BULK_TRANSACTIONS} transactions, one request`, col: 'ms' },
  { key: 'bulk_xsd_ms', row: `XSD admission of that pain.001 alone`, col: 'ms' },
  { key: 'xsd_validate_messages_per_s', row: 'XSD admission alone (libxml2, one core)', col: 'messages/s' },
  { key: 'pacs008_vs_xsd_ratio', row: 'pacs.008 end to end ÷ XSD alone', col: 'ratio' },
  { key: 'xsd_vs_xmllint_wasm_ratio', row: 'XSD admission ÷ xmllint-wasm (~94 ms a call, not run)', col: 'ratio' },
  { key: 'ledger_requests_per_s', row: 'POST /v1/transfers, 1 transfer, 64 in flight', col: 'requests/s' },
  { key: 'pacs008_vs_ledger_ratio', row: 'pacs.008 ÷ one-transfer ledger requests', col: 'ratio' },
];

interface Load { perSecond: number; latenciesMs: number[]; failed: number }

/** Sends `count` requests made by `make(i)`, `CONNECTIONS` at a time; each must answer 200 and pass `check`. */
async function load(count: number, make: (i: number) => RequestInit & { url: string }, check: (json: any) => boolean): Promise<Load> {
  const latenciesMs: number[] = [];
  let next = 0;
  let failed = 0;
  const started = performance.now();
  const worker = async () => {
    while (next < count) {
      const { url, ...init } = make(next++);
      const t0 = performance.now();
      const res = await fetch(url, init);
      const json = await res.json().catch(() => null);
      latenciesMs.push(performance.now() - t0);
      if (res.status !== 200 || !check(json)) failed++;
    }
  };
  await Promise.all(Array.from({ length: CONNECTIONS }, worker));
  return { perSecond: count / ((performance.now() - started) / 1000), latenciesMs, failed };
}

const bench: Bench = {
  name: 'payments',
  title: 'Payments end to end: ISO 20022 pacs.008 and a bulk pain.001 over HTTP, against the XSD check alone and the ledger',
  figures: FIGURES,
  requires: MACHINE_FILES,
  async run() {
    const figures: Figures = {};
    const notes: string[] = [];
    // The XSD admission alone, here: the floor of the front end's work per message.
    const sample = Buffer.from(pacs008Numbered(0));
    for (let i = 0; i < 2000; i++) validateIsoMessage(sample);
    const xsdStarted = performance.now();
    for (let i = 0; i < XSD_MESSAGES; i++) if (!validateIsoMessage(sample).ok) throw new Error('the sample does not validate');
    figures.xsd_validate_messages_per_s = round(XSD_MESSAGES / ((performance.now() - xsdStarted) / 1000));
    figures.xsd_vs_xmllint_wasm_ratio = round((figures.xsd_validate_messages_per_s ?? 0) * XMLLINT_WASM_MS / 1000);

    const manifest = bankManifestUnlimited();
    manifest.services.find((s) => s.name === 'payments')!.config = { ledgers: [1, 4], directory_max: 1024, payments_max: 65536, messages_max: 16384 };
    manifest.gateway = { ...manifest.gateway, ledgers: [{ ledger: 1, asset_scale: 2, currency: 'USD' }, { ledger: 4, asset_scale: 2, currency: 'GBP' }] };
    const img = makeImage('bench-payments', manifest);
    const data = join(img.dir, 'data');
    try {
      const first = runCli(['boot', img.imagePath, '--data', data, '--trust', img.pubPath, '--once']);
      if (first.code !== 0) throw new Error(`boot --once: ${first.stderr}`);
      const made = runCli(['keys', 'create', '--data', data, '--role', 'operator']);
      const key = (event(made.events, 'key_created') as { key: string }).key;
      const server = TestServer.start(['boot', img.imagePath, '--data', data, '--trust', img.pubPath, '--listen', '127.0.0.1:0']);
      const base = `http://127.0.0.1:${(await server.address()).port}`;
      const post = (path: string, body: string, type = 'application/json') =>
        ({ url: base + path, method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': type }, body });
      const setup = async (path: string, body: unknown) => {
        const { url, ...init } = post(path, JSON.stringify(body));
        const r = await fetch(url, init);
        if (r.status !== 200) throw new Error(`${path}: ${r.status} ${await r.text()}`);
      };
      await setup('/v1/accounts', [
        { id: '1', ledger: 4, code: 1 }, { id: '2', ledger: 4, code: 1 }, { id: '3', ledger: 1, code: 1 },
        { id: '4', ledger: 1, code: 1 }, { id: '5', ledger: 1, code: 1 }, { id: '6', ledger: 1, code: 1 },
      ]);
      await setup('/v1/transfers', [{ id: '1', debit_account_id: '5', credit_account_id: '3', amount: '100000000000', ledger: 1, code: 1 }]);
      await setup('/v1/payment-accounts', { accounts: [
        { bic: 'CBRLGB2LXXX', ledger: 4, account: '1' }, { account_id: '65479512', ledger: 4, account: '2' },
        { iban: 'GB33BUKB20201555555555', ledger: 1, account: '3' }, { bic: 'CLRGUS33', ledger: 1, account: '4' },
      ] });
      // Warm-up, then the run: every message a new one (MsgId and UETR), every one settled.
      const settled = (json: any) => json?.transactions?.[0]?.status === 'ACSC';
      await load(300, (i) => post('/v1/payments/iso20022', pacs008Numbered(1_000_000 + i), 'application/xml'), settled);
      const pacs = await load(PACS008_MESSAGES, (i) => post('/v1/payments/iso20022', pacs008Numbered(i + 1), 'application/xml'), settled);
      if (pacs.failed > 0) notes.push(`${pacs.failed} pacs.008 messages were not settled`);
      figures.pacs008_messages_per_s = round(pacs.perSecond);
      figures.pacs008_p50_ms = round(percentile(pacs.latenciesMs, 50), 3);
      figures.pacs008_p99_ms = round(percentile(pacs.latenciesMs, 99), 3);
      figures.pacs008_vs_xsd_ratio = round(ratio(figures.pacs008_messages_per_s, figures.xsd_validate_messages_per_s), 3);
      // One bulk pain.001: every transaction pending to the clearing agent's account.
      const bulk = pain001('BULK-1', BULK_TRANSACTIONS, {
        debtorIban: 'GB33BUKB20201555555555', creditorIban: 'DE89370400440532013000', creditorAgent: 'CLRGUS33', currency: 'USD', amount: '1.00',
      });
      const x0 = performance.now();
      if (!validateIsoMessage(Buffer.from(bulk)).ok) throw new Error('the bulk pain.001 is not XSD-valid');
      figures.bulk_xsd_ms = round(performance.now() - x0, 3);
      const { url: bulkUrl, ...bulkInit } = post('/v1/payments/iso20022', bulk, 'application/xml');
      const t0 = performance.now();
      const r = await fetch(bulkUrl, bulkInit);
      const bulkJson = await r.json() as any;
      const bulkMs = performance.now() - t0;
      const accepted = bulkJson?.transactions?.filter((t: any) => t.status === 'ACCP').length ?? 0;
      if (r.status !== 200 || accepted !== BULK_TRANSACTIONS) throw new Error(`bulk pain.001: ${r.status}, ${accepted} of ${BULK_TRANSACTIONS} accepted`);
      figures.bulk_transactions_per_s = round(BULK_TRANSACTIONS / (bulkMs / 1000));
      figures.bulk_request_ms = round(bulkMs, 3);
      // The ledger's own rate: one transfer per request.
      let id = 1_000_000;
      const ledger = await load(LEDGER_REQUESTS, () => post('/v1/transfers', JSON.stringify([
        { id: String(id++), debit_account_id: '5', credit_account_id: '6', amount: '1', ledger: 1, code: 1 },
      ])), (json) => json?.[0]?.result === 'created');
      figures.ledger_requests_per_s = round(ledger.perSecond);
      figures.pacs008_vs_ledger_ratio = round(ratio(figures.pacs008_messages_per_s, figures.ledger_requests_per_s), 3);
      await server.kill('SIGTERM');
    } finally {
      await TestServer.killAll();
      removeDir(img.dir);
    }
    notes.push(
      `targets (issue 17): pacs.008 >= 20,000 messages/s, one pain.001 of 10,000 transactions >= 200,000 transactions/s`,
      'the load generator (fetch, keep-alive) runs in this process and shares the two cores with the server',
    );
    return { figures, params: { connections: CONNECTIONS, pacs008_messages: PACS008_MESSAGES, bulk_transactions: BULK_TRANSACTIONS, xsd_messages: XSD_MESSAGES }, notes };
  },
};

export default bench;
