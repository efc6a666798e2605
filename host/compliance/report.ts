// host/compliance/report.ts: the compliance report (GET /v1/compliance/reports,
// `qenex compliance report`): the alerts and decisions of a period as JSON or
// CSV, signed as audit checkpoints are (host/audit/checkpoint.ts: the same
// Signer, ECDSA P-384 and ML-DSA-65, the same check, host/base/signatures.ts), and the functions a
// reader verifies one with (docs/compliance.md "Reports").
//
// What is signed: REPORT_CONTEXT ‖ the report's bytes, exactly as sent.
//   JSON: the body is `{"report":` R `,"report_sha256":"<hex>","signatures":[…]}`
//         where R is the report's JSON text; R is signed (a reader takes the
//         bytes between `{"report":` and the last `,"report_sha256":"`).
//   CSV:  the body is the report; the response headers QENEX-Report-SHA256
//         (its SHA-256, hex) and QENEX-Report-Signatures (the signatures as
//         a JSON array on one line) carry the signatures.
// The fixed context keeps a report's signature from being valid for a
// checkpoint or an image, and the other way round.

import { createHash } from 'node:crypto';
import { signaturesFromJson, signaturesJson, signaturesProblem } from '../base/signatures.ts';
import type { PublicKey, Signature, Signer } from '../base/keys.ts';

export const REPORT_CONTEXT = 'QENEX compliance report v1\0';
export const REPORT_FORMAT = 'qenex-compliance-report/1';
const JSON_HEAD = '{"report":';
const JSON_SHA = ',"report_sha256":"';
export const HEADER_SHA256 = 'QENEX-Report-SHA256';
export const HEADER_SIGNATURES = 'QENEX-Report-Signatures';

export interface ReportPeriod { fromNs: bigint; toNs: bigint }

/** The message a report's signatures sign. */
export function reportMessage(report: Uint8Array): Uint8Array {
  return Buffer.concat([Buffer.from(REPORT_CONTEXT, 'latin1'), report]);
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** Signs a report's bytes with the checkpoints' signer. */
export function signReport(report: Uint8Array, signer: Signer): Promise<Signature[]> {
  return signer.signAll(reportMessage(report));
}

/** The report as JSON text (R): the period, then the alerts and the decisions as their routes show them. */
export function reportJsonText(period: ReportPeriod, alerts: readonly unknown[], decisions: readonly unknown[]): string {
  return JSON.stringify({
    format: REPORT_FORMAT, from_ns: period.fromNs.toString(), to_ns: period.toNs.toString(),
    alert_count: alerts.length, decision_count: decisions.length, alerts, decisions,
  });
}

/** The signed JSON body around R. */
export function signedReportJson(report: string, signatures: readonly Signature[]): string {
  return `${JSON_HEAD}${report}${JSON_SHA}${sha256Hex(Buffer.from(report, 'utf8'))}","signatures":${JSON.stringify(signaturesJson(signatures))}}`;
}

// One table for both kinds of record: a column each field of either has; a
// record leaves the other kind's empty.
const CSV_COLUMNS = [
  'record', 'id', 'payment_id', 'transfer_id', 'action', 'rules', 'state', 'outcome', 'assignee', 'ledger', 'time_ns', 'updated_ns', 'amount', 'debit_account',
  'close_reason', 'fraud_score', 'sanctions_score', 'fraud_model', 'sanctions_list', 'sanctions_entity_id', 'sanctions_party',
  'ofac_sdn_version', 'un_version', 'rules_version', 'decided_by', 'alert_id', 'decision', 'updates',
] as const;
type CsvRow = Partial<Record<(typeof CSV_COLUMNS)[number], unknown>>;

function csvField(v: unknown): string {
  if (v === null || v === undefined) return '';
  const text = Array.isArray(v) ? v.join(';') : String(v);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** The report as CSV (RFC 4180, CRLF lines): a header line, the alerts, then the decisions. */
export function reportCsvText(alerts: readonly Record<string, unknown>[], decisions: readonly Record<string, unknown>[]): string {
  const rows: CsvRow[] = [
    ...alerts.map((a) => ({ ...a, record: 'alert', time_ns: a.raised_ns })),
    ...decisions.map((d) => {
      const s = d.sanctions as Record<string, unknown>;
      const v = d.list_versions as Record<string, unknown>;
      return {
        ...d, record: 'decision', id: d.sequence, sanctions_score: s.score, sanctions_list: s.list, sanctions_entity_id: s.entity_id,
        sanctions_party: s.party, ofac_sdn_version: v.ofac_sdn, un_version: v.un,
      };
    }),
  ];
  const lines = [CSV_COLUMNS.join(','), ...rows.map((r) => CSV_COLUMNS.map((c) => csvField(r[c])).join(','))];
  return lines.join('\r\n') + '\r\n';
}

/** The response headers of a signed CSV report. */
export function csvSignatureHeaders(csv: string, signatures: readonly Signature[]): [string, string][] {
  return [[HEADER_SHA256, sha256Hex(Buffer.from(csv, 'utf8'))], [HEADER_SIGNATURES, JSON.stringify(signaturesJson(signatures))]];
}

/** Why a report's bytes and signatures do not verify against `trusted` (every required algorithm), or null when they do. */
export function reportSignatureProblem(report: Uint8Array, signatures: readonly Signature[], trusted: readonly PublicKey[]): string | null {
  return signaturesProblem(reportMessage(report), signatures, trusted);
}

/**
 * Verifies a signed JSON report body as received: R cut out by its bytes,
 * its SHA-256 against report_sha256, the signatures over it. Returns the
 * problem (null: it verifies) and, when the body is well formed, the report.
 */
export function verifyJsonReport(body: Uint8Array, trusted: readonly PublicKey[]): { problem: string | null; report?: unknown } {
  const text = Buffer.from(body).toString('utf8');
  const end = text.lastIndexOf(JSON_SHA);
  if (!text.startsWith(JSON_HEAD) || end < 0) return { problem: 'not a signed report body ({"report":…,"report_sha256":…,"signatures":…})' };
  const report = Buffer.from(text.slice(JSON_HEAD.length, end), 'utf8');
  let parsed: { report_sha256?: unknown; signatures?: unknown; report?: unknown };
  try {
    parsed = JSON.parse(text) as typeof parsed;
  } catch (e) {
    return { problem: `the body is not JSON: ${(e as Error).message}` };
  }
  if (parsed.report_sha256 !== sha256Hex(report)) return { problem: 'report_sha256 is not the SHA-256 of the report\'s bytes' };
  let signatures: Signature[];
  try {
    signatures = signaturesFromJson(parsed.signatures, 'report');
  } catch (e) {
    return { problem: (e as Error).message };
  }
  return { problem: reportSignatureProblem(report, signatures, trusted), report: parsed.report };
}

/** Verifies a CSV report with its two headers' values (HEADER_SHA256, HEADER_SIGNATURES); null when it verifies. */
export function verifyCsvReport(csv: Uint8Array, sha256: string | null, signaturesText: string | null, trusted: readonly PublicKey[]): string | null {
  if (sha256 === null || signaturesText === null) return `no ${HEADER_SHA256} or ${HEADER_SIGNATURES}`;
  if (sha256 !== sha256Hex(csv)) return `${HEADER_SHA256} is not the SHA-256 of the report's bytes`;
  try {
    return reportSignatureProblem(csv, signaturesFromJson(JSON.parse(signaturesText), 'report'), trusted);
  } catch (e) {
    return `${HEADER_SIGNATURES}: ${(e as Error).message}`;
  }
}
