// fuzz/targets/iso20022.ts: the ISO 20022 admission pipeline of
// `POST /v1/payments/iso20022` (host/gateway/payments-front.ts isoRequest):
// the bytes of a body through validateIsoMessage (host/payments/xsd.ts, libxml2
// in the native addon) and, when admitted, readIsoMessage
// (host/payments/iso20022.ts over host/payments/xml.ts). The oracle, for any
// bytes:
//   - validateIsoMessage never throws; it returns either { ok: true } with a
//     definition among the shipped schemas (services/payments/xsd, the
//     head.001.001.02 AppHdr aside) that MESSAGE_DEFINITIONS maps, or
//     { ok: false } with reason FF01 and at least one error, every error a
//     non-empty string;
//   - a refusal of precheckIsoMessage implies a refusal of the validator, and
//     of the addon's IsoSchemaSet on its own (the same checks are made again
//     natively: neither side relies on the other's);
//   - for an admitted message, readIsoMessage returns a model whose kind is
//     MESSAGE_DEFINITIONS[definition] (an AppHdr read with it names that
//     definition), or throws IsoError or XmlError; any other exception (a
//     TypeError from a missing part, a RangeError) is a finding;
//   - for a kind QENEX writes (every kind but pain.001), writeIsoMessage of
//     the model succeeds, its bytes are admitted by validateIsoMessage as the
//     same definition (the writer never emits an invalid document), and
//     readIsoMessage of them gives an equal model; the same holds enveloped
//     with the AppHdr that was read, when it names both BICs (the writer's
//     AppHdr needs Fr and To as BICFI).
// The native code is not instrumented: coverage is the TypeScript's.

import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import { nativeAddon, type NativeIsoSchemaSet } from '../../host/base/addon.ts';
import { ISO_ADMISSION_LIMITS, ISO_REFUSAL_REASON, precheckIsoMessage, validateIsoMessage, type IsoAdmission } from '../../host/payments/xsd.ts';
import { IsoError, XmlError, readIsoMessage, writeIsoMessage, type ReadMessage, type WritableMessage } from '../../host/payments/iso20022.ts';
import { MESSAGE_DEFINITIONS, type AppHeader } from '../../host/payments/model.ts';
import { expect, type FuzzTarget } from '../target.ts';

// fuzz/targets/ from the source, build/fuzz/ from the fuzz bundle: the repository is two up from both.
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const XSD_DIR = join(ROOT, 'services', 'payments', 'xsd');
const HEADER_DEFINITION = 'head.001.001.02';

/** The message definitions the shipped schemas define (file names without .xsd), the AppHdr's aside. */
export const SHIPPED_DEFINITIONS: ReadonlySet<string> = new Set(readdirSync(XSD_DIR).filter((f) => f.endsWith('.xsd'))
  .map((f) => f.slice(0, -'.xsd'.length)).filter((d) => d !== HEADER_DEFINITION));

/**
 * The ISO 20022 samples (CBPR+, FedNow, SIX, MT to MX translations) the
 * corpus starts from, and the pain.001 sample repaired: it puts AdrLine
 * before TwnNm and Ctry, which the schema refuses (test/fixtures/iso20022/
 * README.md), so without the repair no admitted pain.001 reaches the reader.
 */
export function isoSeeds(root: string = ROOT): Uint8Array[] {
  const dir = join(root, 'test', 'fixtures', 'iso20022');
  const files = readdirSync(dir).filter((f) => f.endsWith('.xml')).sort();
  const seeds = files.map((f) => new Uint8Array(readFileSync(join(dir, f))));
  const pain = readFileSync(join(dir, files.find((f) => f.includes('pain.001'))!), 'utf8');
  // A fixed file, not untrusted input: the regular expression's work is bounded by it.
  const address = /(<pain:AdrLine>[^<]*<\/pain:AdrLine>)(\s*)(<pain:TwnNm>[^<]*<\/pain:TwnNm>)(\s*)(<pain:Ctry>[^<]*<\/pain:Ctry>)/g;
  seeds.push(new TextEncoder().encode(pain.replace(address, '$3$2$5$4$1')));
  return seeds;
}

let native: NativeIsoSchemaSet | null = null;

/** A schema set of the addon's own, to ask it without the TypeScript pre-check in front. */
function nativeSet(): NativeIsoSchemaSet {
  if (native !== null) return native;
  const addon = nativeAddon();
  if (addon?.IsoSchemaSet === undefined) throw new Error('the iso20022 target needs the native addon with IsoSchemaSet (make native)');
  const set = new addon.IsoSchemaSet();
  for (const f of readdirSync(XSD_DIR).filter((name) => name.endsWith('.xsd')).sort()) set.add(readFileSync(join(XSD_DIR, f)));
  native = set;
  return set;
}

/** The admission oracle: the verdict's shape, and the pre-check's refusals refused on both sides. */
export function checkAdmission(bytes: Uint8Array): IsoAdmission {
  const verdict = validateIsoMessage(bytes);
  if (verdict.ok) {
    expect(SHIPPED_DEFINITIONS.has(verdict.definition) && Object.hasOwn(MESSAGE_DEFINITIONS, verdict.definition),
      `admitted as ${JSON.stringify(verdict.definition)}, not a shipped message definition`);
  } else {
    expect(verdict.reason === ISO_REFUSAL_REASON, `a refusal with reason ${String(verdict.reason)}`);
    expect(verdict.errors.length >= 1, 'a refusal without an error');
    expect(verdict.errors.every((e) => typeof e === 'string' && e.length > 0), `a refusal with an empty error: ${JSON.stringify(verdict.errors)}`);
  }
  const early = precheckIsoMessage(bytes);
  if (early !== null) {
    expect(!verdict.ok, `the pre-check refused (${early}) and the validator admitted`);
    const { bytesMax, depthMax, errorsMax } = ISO_ADMISSION_LIMITS;
    const alone = nativeSet().validate(bytes, bytesMax, depthMax, errorsMax);
    expect(!alone.ok && alone.errors.length > 0, `the pre-check refused (${early}) and the addon alone admitted`);
  }
  return verdict;
}

/** readIsoMessage of an admitted message: the model, or null for an IsoError or XmlError. */
export function checkRead(bytes: Uint8Array, definition: string): ReadMessage | null {
  let read: ReadMessage;
  try {
    read = readIsoMessage(bytes);
  } catch (e) {
    if (e instanceof IsoError || e instanceof XmlError) {
      expect(e.message.length > 0, `an ${e.name} without a message`);
      return null;
    }
    throw e;
  }
  const kind = MESSAGE_DEFINITIONS[definition as keyof typeof MESSAGE_DEFINITIONS];
  expect(read.message.kind === kind, `admitted as ${definition}, read as ${read.message.kind}`);
  expect(read.appHeader === undefined || read.appHeader.msgDefIdr === definition, 'an AppHdr naming another definition was read');
  return read;
}

/** Write, admit, read again: the same model and the same definition. */
function checkWritten(message: WritableMessage, definition: string, appHeader: AppHeader | undefined): void {
  const how = appHeader === undefined ? 'bare' : 'enveloped';
  let bytes: Uint8Array;
  try {
    bytes = writeIsoMessage(message, { appHeader });
  } catch (e) {
    throw new Error(`writing a ${definition} read from an admitted message (${how}) failed: ${(e as Error).message}`, { cause: e });
  }
  const verdict = validateIsoMessage(bytes);
  expect(verdict.ok, `the writer emitted a ${definition} (${how}) the validator refuses: ${verdict.ok ? '' : verdict.errors.join('; ')}`);
  expect(verdict.definition === definition, `written as ${definition}, admitted as ${verdict.definition}`);
  const back = readIsoMessage(bytes);
  const want: ReadMessage = appHeader === undefined ? { message } : { appHeader, message };
  expect(isDeepStrictEqual(back, want), `read → write → read changed the ${definition} (${how}):\n` +
    `  read:  ${JSON.stringify(want)}\n  again: ${JSON.stringify(back)}`);
}

export const iso20022Target: FuzzTarget = {
  name: 'iso20022',
  about: 'ISO 20022 bodies: admission never throws and refuses what the pre-check refuses; what it admits reads as its definition or fails with IsoError/XmlError, and writes back valid and equal',
  sources: ['host/payments/xsd.ts', 'host/payments/xml.ts', 'host/payments/iso20022.ts', 'host/payments/iso20022-read.ts', 'host/payments/iso20022-write.ts',
    'host/payments/iso20022-common.ts'],
  maxLen: 16384,
  dictionary: ['<?xml version="1.0" encoding="UTF-8"?>', ' encoding="ISO-8859-1"', '<!DOCTYPE', '<!ENTITY', '<!--', '-->', '<![CDATA[', ']]>',
    '&amp;', '&lt;', '&gt;', '&quot;', '&apos;', '&#x41;', '&#65;', '&#0;', '&foo;', ' Ccy="', ' Ccy="EUR"', ' xmlns="', ' xmlns:a="', 'a:', '/>', '</',
    'urn:iso:std:iso:20022:tech:xsd:', 'urn:swift:xsd:envelope', 'head.001.001.02', 'pacs.008.001.08', 'pacs.002.001.10', 'pacs.004.001.09',
    'camt.053.001.08', 'camt.054.001.08', 'pain.001.001.09', 'Envelope', 'AppHdr', 'Document', 'Fr', 'To', 'FIId', 'FinInstnId', 'BICFI',
    'BizMsgIdr', 'MsgDefIdr', 'BizSvc', 'CreDt', 'FIToFICstmrCdtTrf', 'FIToFIPmtStsRpt', 'PmtRtr', 'BkToCstmrStmt', 'BkToCstmrDbtCdtNtfctn',
    'CstmrCdtTrfInitn', 'GrpHdr', 'MsgId', 'CreDtTm', 'NbOfTxs', 'CtrlSum', 'TtlIntrBkSttlmAmt', 'IntrBkSttlmDt', 'SttlmInf', 'SttlmMtd',
    'SttlmAcct', 'ClrSys', 'InstgRmbrsmntAgt', 'InstgAgt', 'InstdAgt', 'IntrmyAgt1', 'CdtTrfTxInf', 'PmtId', 'InstrId', 'EndToEndId', 'TxId',
    'UETR', 'PmtTpInf', 'SvcLvl', 'LclInstrm', 'CtgyPurp', 'Cd', 'Prtry', 'IntrBkSttlmAmt', 'InstdAmt', 'XchgRate', 'ChrgBr', 'ChrgsInf',
    'Amt', 'Agt', 'Dbtr', 'DbtrAcct', 'DbtrAgt', 'DbtrAgtAcct', 'Cdtr', 'CdtrAcct', 'CdtrAgt', 'CdtrAgtAcct', 'UltmtDbtr', 'UltmtCdtr', 'Nm',
    'PstlAdr', 'StrtNm', 'BldgNb', 'PstCd', 'TwnNm', 'CtrySubDvsn', 'Ctry', 'AdrLine', 'Id', 'OrgId', 'PrvtId', 'AnyBIC', 'LEI', 'Othr',
    'SchmeNm', 'IBAN', 'Ccy', 'ClrSysMmbId', 'ClrSysId', 'MmbId', 'InstrForNxtAgt', 'InstrInf', 'Purp', 'RgltryRptg', 'Dtls', 'Inf', 'RmtInf',
    'Ustrd', 'Strd', 'CdtrRefInf', 'Ref', 'OrgnlGrpInfAndSts', 'OrgnlGrpInf', 'OrgnlMsgId', 'OrgnlMsgNmId', 'OrgnlCreDtTm', 'GrpSts',
    'StsRsnInf', 'Rsn', 'AddtlInf', 'TxInfAndSts', 'StsId', 'OrgnlInstrId', 'OrgnlEndToEndId', 'OrgnlTxId', 'OrgnlUETR', 'TxSts',
    'AccptncDtTm', 'OrgnlTxRef', 'TxInf', 'RtrId', 'OrgnlIntrBkSttlmAmt', 'RtrdIntrBkSttlmAmt', 'RtrRsnInf', 'RtrChain', 'TtlRtrdIntrBkSttlmAmt',
    'Pty', 'Stmt', 'Ntfctn', 'ElctrncSeqNb', 'FrToDt', 'FrDtTm', 'ToDtTm', 'Acct', 'Ownr', 'Svcr', 'Bal', 'Tp', 'CdOrPrtry', 'CdtDbtInd',
    'Dt', 'DtTm', 'Ntry', 'NtryRef', 'RvslInd', 'Sts', 'BookgDt', 'ValDt', 'AcctSvcrRef', 'BkTxCd', 'Domn', 'Fmly', 'SubFmlyCd', 'NtryDtls',
    'TxDtls', 'Refs', 'RltdPties', 'RltdAgts', 'RtrInf', 'PmtInf', 'PmtInfId', 'PmtMtd', 'BtchBookg', 'ReqdExctnDt', 'InitgPty', 'CdtTrfTx',
    'CRDT', 'DBIT', 'BOOK', 'OPBD', 'CLBD', 'INDA', 'INGA', 'COVE', 'CLRG', 'DEBT', 'CRED', 'SHAR', 'SLEV', 'ACCP', 'RJCT', 'ACSC', 'TRF',
    'true', 'false', 'EUR', 'USD', '0.01', '1814.28', '123456789012345678', '2025-03-14', '2025-03-14T10:00:00Z', 'QNXBGB2LXXX',
    'DE89370400440532013000', '7a562c67-ca16-48ba-b074-65581be6f001', '\r\n', '\t', '\u00e9', '\ufeff'],
  setup() {
    nativeSet();
    validateIsoMessage(new TextEncoder().encode('<a/>')); // loads the schemas before the first timed input
  },
  check(input) {
    const verdict = checkAdmission(input);
    if (!verdict.ok) return;
    const read = checkRead(input, verdict.definition);
    if (read === null || read.message.kind === 'pain.001') return;
    const message = read.message;
    checkWritten(message, verdict.definition, undefined);
    const h = read.appHeader;
    if (h?.fromBic !== undefined && h.toBic !== undefined) checkWritten(message, verdict.definition, h);
  },
};
