// host/cmd/compliance.ts: `qenex rules`, `qenex cases` and `qenex compliance
// report` — the compliance service's monitoring rules (the operator's
// command), the alerts' case workflow and the signed reports
// (docs/compliance.md). Each prints one JSON line.
//
// Two ways in (host/cmd/console.ts): --data <dir> when the system is stopped
// (the console builds the same requests as the gateway's front end,
// host/gateway/cases-front.ts, and sends them in the same order), --url
// <base> --key <key> when it runs (the routes). A report is signed by the
// running system's checkpoint signer, so it is --url only.

import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs, CliError, EXIT_USAGE, processIo, type CommandIo, type ParsedArgs } from './args.ts';
import * as gw from '../../services/gateway/protocol.ts';
import { viaConsole, viaHttp, type ConsoleSend } from './console.ts';
import { parseImage, readImageFile } from '../image.ts';
import { IMAGE_FILE } from '../machine.ts';
import { parseJson, JsonError } from '../gateway/json.ts';
import { LedgerJsonError } from '../gateway/ledger-json.ts';
import type { Chain } from '../gateway/gateway-wire.ts';
import { casesAnswer, casesRequest, type CasesHandler } from '../gateway/cases-front.ts';
import type { LedgerCurrencies } from '../gateway/payment-json.ts';
import { ComplianceRefusal, RecordError } from '../compliance/records.ts';
import { HEADER_SHA256, HEADER_SIGNATURES, sha256Hex, verifyCsvReport, verifyJsonReport } from '../compliance/report.ts';
import { loadPublicKeys } from '../base/keys.ts';

const TARGET = `<target> is either
  --data <dir> [--trust <signing.pub>] [--backend auto|native|pure]   the system is stopped
  --url http://host:port --key <key>                                   the system is running`;

export const RULES_USAGE = `usage: qenex rules get <target>
       qenex rules set --file <rules.json> <target>

get  prints {"event":"rules","version","rules":[…]}: the rule set of each ledger in force.
set  replaces every rule set with the file's {"rules":[…]} (docs/compliance.md "Rules": amounts as decimal
     strings in the ledger's units, scores 0..1) and prints the rules now in force as {"event":"rules_set",…}.
     The operator's command: admin or operator keys (or the console); it is logged, so every decision
     after it names the new rules version.

${TARGET}
`;

export const CASES_USAGE = `usage: qenex cases list [--state open|assigned|escalated|closed] [--after <id>] [--from <t>] [--to <t>] [--ledger <n>] [--limit <n>] <target>
       qenex cases show <id> <target>
       qenex cases assign <id> --to <name> <target>
       qenex cases escalate <id> [--to <name>] <target>
       qenex cases close <id> --outcome release|reject|noted --reason false_positive|explained|confirmed|other <target>

list      prints {"event":"alerts","alerts":[…],"next_after"}; page with --after <next_after> until it is null.
show      prints {"event":"alert","alert":{…}}.
assign, escalate
          print {"event":"case_updated","alert":{…}} (compliance_officer or admin keys).
close     closes the case; a held payment's case closes release (its transfer is posted) or reject (voided),
          another's noted; prints {"event":"case_closed","alert","release","payment"}. The same close again
          completes a release an interrupted close left undone.
<t> is nanoseconds since 1970 or an RFC 3339 time (2026-12-07T14:00:00Z).

${TARGET}
`;

export const REPORT_USAGE = `usage: qenex compliance report --from <t> --to <t> [--format json|csv] [--out <file>] --url <base> --key <key>
       qenex compliance verify <file> --trust <signing.pub>

Fetches the alerts and decisions of the period, signed by the running system like its audit checkpoints
(docs/compliance.md "Reports" says how to verify one). json: the signed body is written to --out (or printed
as one line); csv: --out is required, the CSV goes there and its signatures to <file>.sig.json. Prints
{"event":"compliance_report","format","alerts","decisions","sha256","out"}. <t>: nanoseconds or RFC 3339.
verify checks a saved report against the audit key's public half: a JSON report as saved, or a CSV
report with its <file>.sig.json; prints {"event":"report_verified","format","sha256"} or fails naming why.
`;

const print = (io: CommandIo, o: object) => io.out(JSON.stringify(o) + '\n');

/** --data or --url (with --key), exactly one. */
function target(args: ParsedArgs, what: string): { data?: string; url?: string; key?: string } {
  const data = args.values.get('data');
  const url = args.values.get('url');
  if ((data === undefined) === (url === undefined)) throw new CliError(`${what}: give exactly one of --data <dir> or --url <base>`, EXIT_USAGE);
  if (url !== undefined && !args.values.has('key')) throw new CliError(`${what}: --url needs --key <key>`, EXIT_USAGE);
  return { data, url, key: args.values.get('key') };
}

/** The gateway's ledgers of a stopped system's image (their asset scales convert amounts, as the routes do). */
function imageLedgers(dataDir: string): LedgerCurrencies {
  const manifest = parseImage(readImageFile(join(dataDir, IMAGE_FILE))).manifest;
  return new Map((manifest.gateway?.ledgers ?? []).map((l) => [l.ledger, { assetScale: l.asset_scale, currency: l.currency }]));
}

/** Sends a chain of frames through the console, each next one built from the reply before; the last reply. */
async function runChain(send: ConsoleSend, route: number, chain: Chain): Promise<Buffer> {
  let reply = await send(route, chain.first);
  for (;;) {
    const frame = chain.next?.(reply) ?? null;
    if (frame === null) return reply;
    reply = await send(frame.route ?? route, frame.body);
  }
}

/** One cases route's request through the console: the same chain and answer as the gateway's front end. */
async function viaConsoleRoute(io: CommandIo, args: ParsedArgs, handler: CasesHandler, route: number,
  opts: { body?: unknown; id?: bigint; query?: string } = {}): Promise<unknown> {
  const data = args.values.get('data')!;
  try {
    const ledgers = imageLedgers(data);
    const json = () => parseJson(Buffer.from(JSON.stringify(opts.body ?? null)), { depthMax: 16, itemsMax: 10000, valuesMax: 100000 });
    const { chain, context } = casesRequest(handler, json, opts.id ?? 0n, opts.query ?? '', ledgers);
    const answer = casesAnswer(context, await viaConsole(io, data, args.values, (send) => runChain(send, route, chain)));
    if (answer === null) throw new CliError(`no alert ${opts.id}`);
    return answer;
  } catch (e) {
    throw cliError(e);
  }
}

function cliError(e: unknown): unknown {
  if (e instanceof LedgerJsonError || e instanceof JsonError) return new CliError(`${e.message}`, EXIT_USAGE);
  if (e instanceof ComplianceRefusal) return new CliError(`the compliance service refused it: ${e.message}`);
  if (e instanceof RecordError) return new CliError(`an unexpected reply: ${e.message}`);
  return e;
}

export async function rules(argv: string[], io: CommandIo = processIo): Promise<number> {
  const args = parseArgs(argv, { values: ['data', 'trust', 'backend', 'url', 'key', 'file'], positionals: { min: 0, max: 1, names: ['get|set'] } });
  if (args.help) { io.out(RULES_USAGE); return 0; }
  const action = args.positionals[0];
  if (action !== 'get' && action !== 'set') { (io.err ?? processIo.err!)(RULES_USAGE); return EXIT_USAGE; }
  const t = target(args, 'rules');
  let body: unknown;
  if (action === 'set') {
    const file = args.values.get('file');
    if (file === undefined) throw new CliError('rules set: --file <rules.json>', EXIT_USAGE);
    try {
      body = JSON.parse(readFileSync(file, 'utf8'));
    } catch (e) {
      throw new CliError(`rules set: --file ${file}: ${(e as Error).message}`, EXIT_USAGE);
    }
  }
  const answer = t.url !== undefined
    ? await viaHttp(t.url, t.key!, action === 'get' ? 'GET' : 'PUT', '/v1/compliance/rules', body)
    : await viaConsoleRoute(io, args, action === 'get' ? 'rules_get' : 'rules_set', action === 'get' ? gw.ROUTE_RULES_GET : gw.ROUTE_RULES_SET, { body });
  print(io, { event: action === 'get' ? 'rules' : 'rules_set', ...(answer as object) });
  return 0;
}

const LIST_FLAGS = ['state', 'after', 'from', 'to', 'ledger', 'limit'];

function alertId(text: string | undefined): bigint {
  if (text === undefined || !/^[1-9][0-9]{0,9}$/.test(text) || Number(text) > 0xffffffff) throw new CliError('cases: an alert id (1..2^32-1)', EXIT_USAGE);
  return BigInt(text);
}

/** The case update body a command's flags make. */
function caseBody(action: string, values: Map<string, string>): Record<string, string> {
  if (action === 'assign' || action === 'escalate') {
    const to = values.get('to');
    if (action === 'assign' && to === undefined) throw new CliError('cases assign: --to <name>', EXIT_USAGE);
    return { action, ...(to === undefined ? {} : { assignee: to }) };
  }
  const outcome = values.get('outcome');
  const reason = values.get('reason');
  if (outcome === undefined || reason === undefined) throw new CliError('cases close: --outcome and --reason', EXIT_USAGE);
  return { action, outcome, reason };
}

export async function cases(argv: string[], io: CommandIo = processIo): Promise<number> {
  const args = parseArgs(argv, {
    values: ['data', 'trust', 'backend', 'url', 'key', 'to', 'outcome', 'reason', ...LIST_FLAGS.filter((f) => f !== 'to')],
    positionals: { min: 0, max: 2, names: ['list|show|assign|escalate|close', 'id'] },
  });
  if (args.help) { io.out(CASES_USAGE); return 0; }
  const [action, idText] = args.positionals;
  if (!['list', 'show', 'assign', 'escalate', 'close'].includes(action ?? '')) { (io.err ?? processIo.err!)(CASES_USAGE); return EXIT_USAGE; }
  const t = target(args, 'cases');
  if (action === 'list') {
    // --to names the assignee of assign and escalate, and the end of a list's period.
    const query = LIST_FLAGS.filter((f) => args.values.has(f)).map((f) => `${f}=${encodeURIComponent(args.values.get(f)!)}`).join('&');
    const answer = t.url !== undefined ? await viaHttp(t.url, t.key!, 'GET', `/v1/compliance/alerts${query === '' ? '' : '?' + query}`)
      : await viaConsoleRoute(io, args, 'alerts_list', gw.ROUTE_ALERTS_LIST, { query });
    print(io, { event: 'alerts', ...(answer as object) });
    return 0;
  }
  const id = alertId(idText);
  if (action === 'show') {
    const answer = t.url !== undefined ? await viaHttp(t.url, t.key!, 'GET', `/v1/compliance/alerts/${id}`)
      : await viaConsoleRoute(io, args, 'alert_get', gw.ROUTE_ALERTS_LIST, { id });
    print(io, { event: 'alert', ...(answer as object) });
    return 0;
  }
  const body = caseBody(action, args.values);
  const answer = t.url !== undefined ? await viaHttp(t.url, t.key!, 'POST', `/v1/compliance/alerts/${id}`, body)
    : await viaConsoleRoute(io, args, 'case_update', gw.ROUTE_CASE_UPDATE, { id, body });
  print(io, { event: action === 'close' ? 'case_closed' : 'case_updated', ...(answer as object) });
  return 0;
}

export async function compliance(argv: string[], io: CommandIo = processIo): Promise<number> {
  const args = parseArgs(argv, {
    values: ['from', 'to', 'format', 'out', 'url', 'key', 'data', 'trust'], positionals: { min: 0, max: 2, names: ['report|verify', 'file'] },
  });
  if (args.help) { io.out(REPORT_USAGE); return 0; }
  if (args.positionals[0] === 'verify') return verify(args, io);
  if (args.positionals[0] !== 'report') { (io.err ?? processIo.err!)(REPORT_USAGE); return EXIT_USAGE; }
  if (args.values.has('data')) throw new CliError('compliance report: reports are signed by the running system; use --url <base> --key <key>', EXIT_USAGE);
  const url = args.values.get('url');
  const key = args.values.get('key');
  if (url === undefined || key === undefined) throw new CliError('compliance report: --url <base> --key <key>', EXIT_USAGE);
  const from = args.values.get('from');
  const to = args.values.get('to');
  if (from === undefined || to === undefined) throw new CliError('compliance report: --from <t> --to <t>', EXIT_USAGE);
  const format = args.values.get('format') ?? 'json';
  if (format !== 'json' && format !== 'csv') throw new CliError('compliance report: --format json or csv', EXIT_USAGE);
  const out = args.values.get('out');
  if (format === 'csv' && out === undefined) throw new CliError('compliance report: a CSV report needs --out <file>', EXIT_USAGE);
  const path = `/v1/compliance/reports?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}&format=${format}`;
  const res = await fetch(new URL(path, url), { headers: { authorization: `Bearer ${key}` } }).catch((e: Error) => { throw new CliError(`${url}: ${e.message}`); });
  const bytes = Buffer.from(await res.arrayBuffer());
  if (!res.ok) throw new CliError(`GET ${path}: ${res.status}: ${bytes.toString('utf8').slice(0, 500)}`);
  if (format === 'json') {
    const body = JSON.parse(bytes.toString('utf8')) as { report: { alert_count: number; decision_count: number }; report_sha256: string };
    if (out !== undefined) writeFileSync(out, bytes);
    else io.out(bytes.toString('utf8') + '\n');
    print(io, { event: 'compliance_report', format, alerts: body.report.alert_count, decisions: body.report.decision_count, sha256: body.report_sha256, out: out ?? null });
    return 0;
  }
  writeFileSync(out!, bytes);
  const signatures = JSON.parse(res.headers.get(HEADER_SIGNATURES) ?? '[]') as unknown;
  writeFileSync(`${out}.sig.json`, JSON.stringify({ sha256: res.headers.get(HEADER_SHA256), signatures }) + '\n');
  const rows = bytes.toString('utf8').split('\r\n').slice(1, -1);
  print(io, {
    event: 'compliance_report', format, alerts: rows.filter((r) => r.startsWith('alert,')).length, decisions: rows.filter((r) => r.startsWith('decision,')).length,
    sha256: res.headers.get(HEADER_SHA256), out,
  });
  return 0;
}

/** A saved report and, for a CSV one, its <file>.sig.json (null: none, a JSON report). */
function readReport(file: string): { bytes: Buffer; sig: { sha256?: string; signatures?: unknown } | null } {
  try {
    const sigFile = `${file}.sig.json`;
    return { bytes: readFileSync(file), sig: existsSync(sigFile) ? JSON.parse(readFileSync(sigFile, 'utf8')) as { sha256?: string; signatures?: unknown } : null };
  } catch (e) {
    throw new CliError(`compliance verify: ${(e as Error).message}`);
  }
}

/** `qenex compliance verify <file> --trust <pub>`: the reader's check of docs/compliance.md "Reports". */
function verify(args: ParsedArgs, io: CommandIo): number {
  const file = args.positionals[1];
  const trust = args.values.get('trust');
  if (file === undefined || trust === undefined) throw new CliError('compliance verify <file> --trust <signing.pub>', EXIT_USAGE);
  const { bytes, sig } = readReport(file);
  const trusted = loadPublicKeys(trust);
  const problem = sig === null ? verifyJsonReport(bytes, trusted).problem
    : verifyCsvReport(bytes, sig.sha256 ?? null, JSON.stringify(sig.signatures ?? null), trusted);
  if (problem !== null) throw new CliError(`compliance verify: ${file}: ${problem}`);
  print(io, { event: 'report_verified', format: sig === null ? 'json' : 'csv', sha256: sha256Hex(bytes) });
  return 0;
}

export const rulesCommand = { main: rules, USAGE: RULES_USAGE };
export const casesCommand = { main: cases, USAGE: CASES_USAGE };
export const complianceCommand = { main: compliance, USAGE: REPORT_USAGE };
