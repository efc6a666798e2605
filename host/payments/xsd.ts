// host/payments/xsd.ts: the ISO 20022 admission check of the payments front
// end (issue 17). A `POST /v1/payments/iso20022` body is admitted only if
// libxml2 (natively, host/native/src/xml.rs) finds it well-formed and valid
// against the XSDs in services/payments/xsd; otherwise it is refused with
// reason FF01 and the errors that say why, each `line N: <reason>`.
//
// A message is a bare `Document`, or a wrapper (CBPR+ `Envelope`, FedNow's
// `FedNowIncoming`, any name, not schema-checked) holding one `AppHdr`
// (head.001.001.02) and one `Document`; each of those two is checked against
// its own schema, and the AppHdr's MsgDefIdr must name the Document's message.
//
// Untrusted bytes never reach a DTD: `precheckIsoMessage` refuses DOCTYPE and
// ENTITY declarations, encodings other than UTF-8, bodies that are empty, too
// large or not XML, before anything is parsed; the addon makes the same checks
// again and parses without DTD loading, entity substitution or network.
//
// Use: `const verdict = validateIsoMessage(body)`; `verdict.ok` then
// `verdict.definition` ('pacs.008.001.08') says which message it is. Without
// the addon every call throws (code ENOADDON): there is no slower fallback
// that would quietly admit less carefully.

import { readFileSync, readdirSync, existsSync } from 'node:fs';
import * as nodePath from 'node:path';
import { fileURLToPath } from 'node:url';
import { ISO_ELEMENT_DEPTH_MAX, ISO_ERRORS_MAX, ISO_MESSAGE_BYTES_MAX } from '../base/limits.ts';
import { nativeAddon, type NativeIsoSchemaSet } from '../base/addon.ts';

// ---- what callers may use ----

export interface IsoAdmissionLimits {
  /** Largest body admitted, in bytes. */
  bytesMax: number;
  /** Deepest element nesting admitted (the root at depth 1). */
  depthMax: number;
  /** Errors a refusal lists before counting the rest. */
  errorsMax: number;
}

export const ISO_ADMISSION_LIMITS: Readonly<IsoAdmissionLimits> = Object.freeze({
  bytesMax: ISO_MESSAGE_BYTES_MAX,
  depthMax: ISO_ELEMENT_DEPTH_MAX,
  errorsMax: ISO_ERRORS_MAX,
});

/** ISO 20022 external status reason FF01: "invalid file format". */
export const ISO_REFUSAL_REASON = 'FF01';

export type IsoAdmission =
  | {
      ok: true;
      /** The Document's message definition, e.g. 'pacs.008.001.08'. */
      definition: string;
      /** Whether the message came as a wrapper of AppHdr and Document. */
      wrapped: boolean;
      /** The AppHdr's namespace, for a wrapped message. */
      headerNamespace?: string;
    }
  | {
      ok: false;
      reason: typeof ISO_REFUSAL_REASON;
      /** Why, most specific first; never empty. */
      errors: string[];
      /** The Document's message definition, when it was found before the refusal. */
      definition?: string;
    };

export interface IsoValidator {
  /** The target namespaces of the loaded schemas. */
  readonly namespaces: readonly string[];
  validate(bytes: Uint8Array): IsoAdmission;
}

export class IsoAdmissionError extends Error {
  readonly code: string;

  constructor(code: string, message: string) {
    super(message);
    this.name = 'IsoAdmissionError';
    this.code = code;
  }
}

/** Checks one message with the schemas of services/payments/xsd (loaded once, at the first call). */
export function validateIsoMessage(bytes: Uint8Array): IsoAdmission {
  defaultValidator ??= createIsoValidator();
  return defaultValidator.validate(bytes);
}

/** A validator over the XSDs of `xsdDir` (every *.xsd in it), with `limits`. */
export function createIsoValidator(options: { xsdDir?: string; limits?: Partial<IsoAdmissionLimits> } = {}): IsoValidator {
  const limits = { ...ISO_ADMISSION_LIMITS, ...options.limits };
  checkAdmissionLimits(limits);
  const set = loadSchemas(options.xsdDir ?? defaultXsdDir());
  const namespaces = Object.freeze(set.namespaces());
  return {
    namespaces,
    validate(bytes: Uint8Array): IsoAdmission {
      const early = precheckIsoMessage(bytes, limits.bytesMax);
      if (early !== null) return { ok: false, reason: ISO_REFUSAL_REASON, errors: [early] };
      const verdict = set.validate(bytes, limits.bytesMax, limits.depthMax, limits.errorsMax);
      // The addon's postcondition, checked on this side of the boundary too.
      if (verdict.ok !== (verdict.errors.length === 0)) throw new Error('IsoSchemaSet.validate: ok disagrees with its errors');
      if (!verdict.ok) return { ok: false, reason: ISO_REFUSAL_REASON, errors: verdict.errors, definition: verdict.definition };
      if (verdict.definition === undefined) throw new Error('IsoSchemaSet.validate: admitted a message without naming it');
      return { ok: true, definition: verdict.definition, wrapped: verdict.wrapped, headerNamespace: verdict.headerNamespace };
    },
  };
}

// ---- the quick pre-check ----

const utf8 = new TextDecoder('utf-8', { fatal: true });
// Longer than any real XML declaration (`<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` is 55).
const DECLARATION_BYTES_MAX = 256;

/**
 * Refusals that need no parser, one linear pass each: empty, over
 * `bytesMax`, UTF-16 or NUL bytes, not UTF-8, not starting with '<', an XML
 * declaration naming another encoding, a DOCTYPE or ENTITY declaration
 * anywhere (comments included: a message never needs those words). Returns
 * the refusal, or null. host/native/src/xml_prolog.rs makes the same checks.
 */
export function precheckIsoMessage(bytes: Uint8Array, bytesMax: number = ISO_MESSAGE_BYTES_MAX): string | null {
  if (bytes.length === 0) return 'empty body: an ISO 20022 message is an XML document';
  if (bytes.length > bytesMax) return `${bytes.length} bytes: over the limit of ${bytesMax} bytes`;
  if ((bytes[0] === 0xfe && bytes[1] === 0xff) || (bytes[0] === 0xff && bytes[1] === 0xfe)) return 'a UTF-16 byte order mark: messages are UTF-8';
  const nul = bytes.indexOf(0);
  if (nul >= 0) return `line ${lineAt(bytes, nul)}: a NUL byte at byte ${nul}: not UTF-8 XML (UTF-16 or binary data?)`;
  let text: string;
  try {
    text = utf8.decode(bytes); // drops a UTF-8 byte order mark
  } catch {
    return 'not UTF-8: an invalid byte sequence';
  }
  let start = 0;
  while (start < text.length && ' \t\r\n'.includes(text[start])) start++;
  if (text[start] !== '<') return `not XML: the body begins with ${JSON.stringify(text.slice(start, start + 16))}`;
  return declaredEncodingRefusal(text) ?? markupDeclarationRefusal(bytes);
}

function declaredEncodingRefusal(text: string): string | null {
  if (!/^<\?xml[ \t\r\n]/.test(text)) return null;
  const end = text.indexOf('?>');
  if (end < 0 || end > DECLARATION_BYTES_MAX) return `line 1: an XML declaration without its '?>' in its first ${DECLARATION_BYTES_MAX} bytes`;
  // Bounded input (the declaration) and no adjacent unbounded quantifiers.
  const named = /encoding[ \t\r\n]*=[ \t\r\n]*(?:"([^"]*)"|'([^']*)')/.exec(text.slice(0, end));
  const name = named === null ? undefined : (named[1] ?? named[2]);
  if (name === undefined || name.toUpperCase() === 'UTF-8') return null;
  return `line 1: declared encoding ${JSON.stringify(name)}: messages are UTF-8`;
}

function markupDeclarationRefusal(bytes: Uint8Array): string | null {
  const DOCTYPE = [0x44, 0x4f, 0x43, 0x54, 0x59, 0x50, 0x45]; // 'DOCTYPE'
  const ENTITY = [0x45, 0x4e, 0x54, 0x49, 0x54, 0x59]; // 'ENTITY'
  const follows = (at: number, word: number[]) => word.every((c, k) => bytes[at + k] === c);
  let line = 1;
  for (let at = 0; at < bytes.length; at++) {
    const b = bytes[at];
    if (b === 0x0a) line++;
    else if (b === 0x3c && bytes[at + 1] === 0x21) {
      if (follows(at + 2, DOCTYPE)) return `line ${line}: a DOCTYPE declaration: DTDs and entities are refused`;
      if (follows(at + 2, ENTITY)) return `line ${line}: an ENTITY declaration: DTDs and entities are refused`;
    }
  }
  return null;
}

function lineAt(bytes: Uint8Array, at: number): number {
  let line = 1;
  for (let k = 0; k < at; k++) if (bytes[k] === 0x0a) line++;
  return line;
}

// ---- schemas ----

let defaultValidator: IsoValidator | undefined;

// The header schema a wrapped message needs; a schema set without it could admit only bare Documents.
const HEADER_NAMESPACE = 'urn:iso:std:iso:20022:tech:xsd:head.001.001.02';

function loadSchemas(dir: string): NativeIsoSchemaSet {
  const addon = nativeAddon();
  if (addon?.IsoSchemaSet === undefined) {
    const why = addon === null ? 'the native addon is not available' : 'the native addon predates IsoSchemaSet';
    throw new IsoAdmissionError('ENOADDON', `ISO 20022 admission needs libxml2 through the native addon, and ${why}: run make native`);
  }
  const files = readdirSync(dir).filter((name) => name.endsWith('.xsd')).sort();
  if (files.length === 0) throw new IsoAdmissionError('ENOSCHEMA', `no .xsd files in ${dir}`);
  let set: NativeIsoSchemaSet;
  try {
    set = new addon.IsoSchemaSet();
  } catch (err) {
    throw new IsoAdmissionError('ENOLIBXML2', (err as Error).message); // libxml2 is not installed on this machine
  }
  for (const name of files) {
    try {
      set.add(readFileSync(nodePath.join(dir, name)));
    } catch (err) {
      throw new IsoAdmissionError('ENOSCHEMA', `${nodePath.join(dir, name)}: ${(err as Error).message}`);
    }
  }
  if (!set.namespaces().includes(HEADER_NAMESPACE)) throw new IsoAdmissionError('ENOSCHEMA', `${dir} has no schema for ${HEADER_NAMESPACE}`);
  return set;
}

// From the source (host/payments/) or a bundle in dist/ beside services/.
function defaultXsdDir(): string {
  const here = nodePath.dirname(fileURLToPath(import.meta.url));
  const dirs = [nodePath.join(here, '..', '..', 'services', 'payments', 'xsd'), nodePath.join(here, '..', 'services', 'payments', 'xsd')];
  const found = dirs.find((dir) => existsSync(dir));
  if (found === undefined) throw new IsoAdmissionError('ENOSCHEMA', `no services/payments/xsd in ${dirs.join(' or ')}`);
  return found;
}

function checkAdmissionLimits(limits: IsoAdmissionLimits): void {
  const whole = (n: number, max: number) => Number.isInteger(n) && n >= 1 && n <= max;
  if (!whole(limits.bytesMax, ISO_MESSAGE_BYTES_MAX) || !whole(limits.depthMax, ISO_ELEMENT_DEPTH_MAX) || !whole(limits.errorsMax, ISO_ERRORS_MAX)) {
    throw new IsoAdmissionError('ERR_INVALID_ARG_VALUE', `ISO admission limits ${JSON.stringify(limits)} must be whole numbers from 1 to the defaults`);
  }
}
