// host/payments/iso20022.ts: the ISO 20022 front end's entry points: bytes
// of a message into the shared model (./model.ts), and the model into bytes.
//
// Reading: readIsoMessage takes a message the admission check (./xsd.ts)
// has accepted: a bare Document, or any envelope (SWIFT's
// `urn:swift:xsd:envelope`, FedNow's `FedNowIncoming`, ...) holding an AppHdr
// and a Document somewhere below its root. The Document's namespace says
// which message definition it is (MESSAGE_DEFINITIONS); the reader of that
// definition (./iso20022-read.ts) maps it into the model. An AppHdr whose
// MsgDefIdr names another definition than its Document is refused.
//
// Writing: writeIsoMessage builds the Document of a pacs.008, pacs.002,
// pacs.004, camt.053 or camt.054 (./iso20022-write.ts) and, when given an
// AppHeader, wraps AppHdr and Document in a SWIFT Envelope as the CBPR+
// samples are. The bytes are UTF-8 and the same for the same model.
//
// Errors: XmlError (./xml.ts) for a document the XML reader refuses, IsoError
// for one it cannot map into the model, or a model the schema cannot carry.

import {
  APP_HEADER_NAMESPACE, MESSAGE_DEFINITIONS, documentNamespace, type AppHeader, type IsoMessage, type MessageDefinition,
} from './model.ts';
import { parseXml, writeXml, type XmlElement, type XmlNode } from './xml.ts';
import { IsoError } from './iso20022-common.ts';
import { readAppHeader, readCashReport, readPacs002, readPacs004, readPacs008, readPain001 } from './iso20022-read.ts';
import { appHeaderElement, cashReportElement, pacs002Element, pacs004Element, pacs008Element } from './iso20022-write.ts';

export { IsoError } from './iso20022-common.ts';
export { XmlError } from './xml.ts';
export { readAppHeader, readCashReport, readPacs002, readPacs004, readPacs008, readPain001 } from './iso20022-read.ts';
export { appHeaderElement, cashReportElement, pacs002Element, pacs004Element, pacs008Element } from './iso20022-write.ts';

/** The namespace of the SWIFT envelope the writer wraps AppHdr and Document in (CBPR+ samples). */
export const SWIFT_ENVELOPE_NAMESPACE = 'urn:swift:xsd:envelope';

const ISO_NAMESPACE_PREFIX = 'urn:iso:std:iso:20022:tech:xsd:';

/** What a message holds: its AppHdr, when it was wrapped, and the Document in the model. */
export interface ReadMessage {
  appHeader?: AppHeader;
  message: IsoMessage;
}

/** A wrapped message's parts, found below its root. */
interface Parts {
  appHeader?: XmlElement;
  document: XmlElement;
}

/** Reads one message (bare Document or an envelope with AppHdr and Document) into the model. */
export function readIsoMessage(bytes: Uint8Array | string): ReadMessage {
  const parts = split(parseXml(bytes));
  const definition = definitionOf(parts.document);
  const message = readDocument(parts.document, definition);
  if (parts.appHeader === undefined) return { message };
  const appHeader = readAppHeader(parts.appHeader);
  if (appHeader.msgDefIdr !== definition) {
    throw new IsoError(`AppHdr/MsgDefIdr ${appHeader.msgDefIdr} does not name the Document's definition ${definition}`);
  }
  return { appHeader, message };
}

/** The message definition of a Document, from its namespace; only those in MESSAGE_DEFINITIONS are taken. */
export function definitionOf(document: XmlElement): MessageDefinition {
  const id = document.ns.startsWith(ISO_NAMESPACE_PREFIX) ? document.ns.slice(ISO_NAMESPACE_PREFIX.length) : '';
  if (!Object.hasOwn(MESSAGE_DEFINITIONS, id)) throw new IsoError(`Document namespace "${document.ns}" is not a message definition QENEX reads`);
  return id as MessageDefinition;
}

/** Reads a Document of a known definition. */
export function readDocument(document: XmlElement, definition: MessageDefinition): IsoMessage {
  switch (MESSAGE_DEFINITIONS[definition]) {
    case 'pain.001': return readPain001(document);
    case 'pacs.008': return readPacs008(document);
    case 'pacs.002': return readPacs002(document);
    case 'pacs.004': return readPacs004(document);
    case 'camt.053': return readCashReport(document, 'camt.053');
    case 'camt.054': return readCashReport(document, 'camt.054');
  }
}

/** A bare Document, or the one AppHdr and one Document found below an envelope's root (depth-first). */
function split(root: XmlElement): Parts {
  if (root.name === 'Document') return { document: root };
  const found: { appHeaders: XmlElement[]; documents: XmlElement[] } = { appHeaders: [], documents: [] };
  collect(root, found);
  if (found.documents.length !== 1) throw new IsoError(`<${root.name}> holds ${found.documents.length} ISO 20022 Documents, not one`);
  if (found.appHeaders.length > 1) throw new IsoError(`<${root.name}> holds ${found.appHeaders.length} AppHdr elements`);
  return { appHeader: found.appHeaders[0], document: found.documents[0] };
}

/** Gathers AppHdr and Document elements below `e` without looking inside them. The parser bounds the depth. */
function collect(e: XmlElement, found: { appHeaders: XmlElement[]; documents: XmlElement[] }): void {
  for (const c of e.children) {
    if (c.name === 'AppHdr' && c.ns === APP_HEADER_NAMESPACE) found.appHeaders.push(c);
    else if (c.name === 'Document' && c.ns.startsWith(ISO_NAMESPACE_PREFIX)) found.documents.push(c);
    else collect(c, found);
  }
}

/** The messages QENEX writes. */
export type WritableMessage = Exclude<IsoMessage, { kind: 'pain.001' }>;

/** The definition each written kind uses (the inverse of MESSAGE_DEFINITIONS). */
export const WRITTEN_DEFINITIONS = {
  'pacs.008': 'pacs.008.001.08', 'pacs.002': 'pacs.002.001.10', 'pacs.004': 'pacs.004.001.09',
  'camt.053': 'camt.053.001.08', 'camt.054': 'camt.054.001.08',
} as const satisfies Record<WritableMessage['kind'], MessageDefinition>;

/** The Document element of a message, with its namespace. */
export function documentElement(m: WritableMessage): XmlNode {
  const ns = documentNamespace(WRITTEN_DEFINITIONS[m.kind]);
  switch (m.kind) {
    case 'pacs.008': return { ...pacs008Element(m), ns };
    case 'pacs.002': return { ...pacs002Element(m), ns };
    case 'pacs.004': return { ...pacs004Element(m), ns };
    case 'camt.053': case 'camt.054': return { ...cashReportElement(m), ns };
  }
}

export interface WriteOptions {
  /** When given, AppHdr and Document are wrapped in `<Envelope xmlns="urn:swift:xsd:envelope">`; its MsgDefIdr must name the Document's definition. */
  appHeader?: AppHeader;
}

/** Writes a message as UTF-8 XML: a bare Document, or an Envelope with AppHdr and Document. */
export function writeIsoMessage(m: WritableMessage, options: WriteOptions = {}): Uint8Array {
  return new TextEncoder().encode(writeIsoMessageText(m, options));
}

/** writeIsoMessage as a string. */
export function writeIsoMessageText(m: WritableMessage, options: WriteOptions = {}): string {
  const document = documentElement(m);
  const h = options.appHeader;
  if (h === undefined) return writeXml(document);
  if (h.msgDefIdr !== WRITTEN_DEFINITIONS[m.kind]) throw new IsoError(`AppHdr/MsgDefIdr ${h.msgDefIdr} for a ${WRITTEN_DEFINITIONS[m.kind]} Document`);
  const header = { ...appHeaderElement(h), ns: APP_HEADER_NAMESPACE };
  return writeXml({ name: 'Envelope', ns: SWIFT_ENVELOPE_NAMESPACE, children: [header, document] });
}

/** An AppHdr alone, as a document (for a transport that carries it apart from the Document). */
export function writeAppHeaderText(h: AppHeader): string {
  return writeXml({ ...appHeaderElement(h), ns: APP_HEADER_NAMESPACE });
}
