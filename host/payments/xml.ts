// host/payments/xml.ts: the small XML reader and writer the ISO 20022 front
// end (./iso20022.ts) is built on.
//
// The reader takes documents that the admission check (./xsd.ts, libxml2)
// has already accepted as well-formed and schema-valid: UTF-8, no DTD. It is
// still a second line, not a trusting one: every bound of
// host/base/limits.ts (XML_*) is enforced, its work is linear in the input
// (indexOf scans and single-pass loops, no backtracking regular
// expressions), and anything outside the subset ISO 20022 uses (a DOCTYPE,
// an entity other than the five predefined ones, an unbound prefix, mixed
// content, a second root) is refused with an XmlError that says where.
// What it keeps: elements with their namespace URI and local name,
// attributes, and text (references decoded, CDATA included, line ends
// normalised as XML 1.0 §2.11 says). Comments and processing instructions
// are skipped.
//
// Use: `const root = parseXml(bytes); root.textAt('GrpHdr', 'MsgId')`.
// Lookups by local name stay in the parent's namespace unless told
// otherwise, so an element of a foreign namespace never answers for an ISO
// one.
//
// The writer builds a document from plain XmlNode values: one default
// namespace per document (a child may switch to another, as an envelope's
// AppHdr and Document do), no prefixes, 2-space indentation and '\n' line
// ends, so the same nodes give the same bytes every time. Text and
// attribute values are escaped so that the reader (or any XML parser) gives
// back exactly the string written, '\r' and tabs included; characters XML
// 1.0 cannot carry at all are refused, not dropped.

import {
  XML_ATTRIBUTES_MAX, XML_DEPTH_MAX, XML_DOCUMENT_BYTES_MAX, XML_ELEMENTS_MAX, XML_NAME_CHARS_MAX,
} from '../base/limits.ts';

/** A document the reader refuses, or a value the writer cannot express. */
export class XmlError extends Error {
  override name = 'XmlError';
}

export interface XmlAttribute {
  /** Namespace URI; '' for an unprefixed attribute (XML Namespaces §6.2). */
  readonly ns: string;
  readonly name: string;
  readonly value: string;
}

/** One element of a parsed document. */
export class XmlElement {
  readonly children: XmlElement[] = [];
  /** Character data directly inside this element (empty for an element with children). */
  text = '';

  constructor(readonly ns: string, readonly name: string, readonly attributes: readonly XmlAttribute[]) {}

  /** The first child with this local name, in this element's namespace unless `ns` is given. */
  child(name: string, ns: string = this.ns): XmlElement | undefined {
    for (const c of this.children) if (c.name === name && c.ns === ns) return c;
    return undefined;
  }

  /** Every child with this local name (same namespace rule as child). */
  all(name: string, ns: string = this.ns): XmlElement[] {
    return this.children.filter((c) => c.name === name && c.ns === ns);
  }

  /** The element at a path of local names below this one: `at('GrpHdr', 'MsgId')`. */
  at(...path: string[]): XmlElement | undefined {
    let e: XmlElement | undefined = this;
    for (const step of path) {
      e = e.child(step);
      if (e === undefined) return undefined;
    }
    return e;
  }

  /** The text of the element at a path, or undefined when there is none. */
  textAt(...path: string[]): string | undefined {
    return this.at(...path)?.text;
  }

  /** The value of an attribute, by local name (unprefixed unless `ns` is given). */
  attr(name: string, ns = ''): string | undefined {
    for (const a of this.attributes) if (a.name === name && a.ns === ns) return a.value;
    return undefined;
  }
}

const XML_NAMESPACE = 'http://www.w3.org/XML/1998/namespace';
const XMLNS_NAMESPACE = 'http://www.w3.org/2000/xmlns/';

/** Namespace bindings in scope, innermost first; '' is the default namespace. */
interface Scope {
  readonly prefix: string;
  readonly uri: string;
  readonly next: Scope | null;
}

const ROOT_SCOPE: Scope = { prefix: 'xml', uri: XML_NAMESPACE, next: { prefix: '', uri: '', next: null } };

// Characters XML 1.0 does not allow anywhere (Char production, §2.2). One
// character class and two single-unit lookarounds: linear, no backtracking.
const NOT_XML_CHAR = /[\x00-\x08\x0B\x0C\x0E-\x1F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/** Parses one document into its root element, or throws XmlError. */
export function parseXml(input: Uint8Array | string): XmlElement {
  let text: string;
  if (typeof input === 'string') {
    if (input.length > XML_DOCUMENT_BYTES_MAX) throw new XmlError(`document longer than ${XML_DOCUMENT_BYTES_MAX} characters`);
    text = input.charCodeAt(0) === 0xfeff ? input.slice(1) : input;
  } else {
    if (input.length > XML_DOCUMENT_BYTES_MAX) throw new XmlError(`document of ${input.length} bytes, more than ${XML_DOCUMENT_BYTES_MAX}`);
    try {
      text = decoder.decode(input);
    } catch {
      throw new XmlError('document is not valid UTF-8');
    }
  }
  const bad = NOT_XML_CHAR.exec(text);
  if (bad !== null) throw new XmlError(`character U+${bad[0].charCodeAt(0).toString(16).padStart(4, '0')} is not allowed in XML, at offset ${bad.index}`);
  return new Parser(text).document();
}

class Parser {
  private pos = 0;
  private elements = 0;
  private readonly stack: { element: XmlElement; qname: string; scope: Scope }[] = [];

  constructor(private readonly src: string) {}

  private fail(what: string): never {
    throw new XmlError(`${what}, at offset ${this.pos}`);
  }

  /** The root, once its end tag is read. */
  private root: XmlElement | undefined;

  /** The prolog, the root element and what follows it. */
  document(): XmlElement {
    const src = this.src;
    while (this.pos < src.length) {
      const lt = src.indexOf('<', this.pos);
      const end = lt < 0 ? src.length : lt;
      if (this.stack.length > 0) this.characters(this.pos, end);
      else if (!isWhitespace(src, this.pos, end)) this.fail(this.root === undefined ? 'text before the root element' : 'text after the root element');
      this.pos = end;
      if (lt < 0) break;
      const next = src.charCodeAt(lt + 1);
      if (next === 0x2f /* / */) this.endTag();
      else if (next === 0x21 /* ! */) this.markup();
      else if (next === 0x3f /* ? */) this.processingInstruction();
      else if (this.stack.length === 0 && this.root !== undefined) this.fail('a second root element');
      else this.startTag();
    }
    if (this.stack.length > 0) this.fail(`<${this.stack[this.stack.length - 1].qname}> is not closed`);
    if (this.root === undefined) this.fail('no root element');
    return this.root;
  }

  /** Character data from `from` to `to` inside the current element. */
  private characters(from: number, to: number): void {
    if (from === to) return;
    const raw = this.src.slice(from, to);
    if (raw.includes(']]>')) this.fail('"]]>" in text');
    this.stack[this.stack.length - 1].element.text += decodeText(raw, false, from);
  }

  /** `<!-- -->`, `<![CDATA[ ]]>`; a DOCTYPE or anything else is refused. */
  private markup(): void {
    const src = this.src;
    if (src.startsWith('<!--', this.pos)) {
      const close = src.indexOf('-->', this.pos + 4);
      if (close < 0) this.fail('unterminated comment');
      this.pos = close + 3;
    } else if (src.startsWith('<![CDATA[', this.pos)) {
      if (this.stack.length === 0) this.fail('CDATA outside the root element');
      const close = src.indexOf(']]>', this.pos + 9);
      if (close < 0) this.fail('unterminated CDATA section');
      this.stack[this.stack.length - 1].element.text += normaliseLineEnds(src.slice(this.pos + 9, close));
      this.pos = close + 3;
    } else if (src.startsWith('<!DOCTYPE', this.pos)) {
      this.fail('a DOCTYPE is not accepted (ISO 20022 messages have none)');
    } else {
      this.fail('unexpected "<!"');
    }
  }

  /** `<?target ...?>`: skipped, except that an XML declaration may only open the document. */
  private processingInstruction(): void {
    const close = this.src.indexOf('?>', this.pos + 2);
    if (close < 0) this.fail('unterminated processing instruction');
    const start = this.pos;
    this.pos += 2;
    const target = this.name();
    if (target.toLowerCase() === 'xml' && start !== 0) this.fail('an XML declaration is only allowed at the start');
    this.pos = close + 2;
  }

  /** Reads a start tag (and, for `<name/>`, its end). */
  private startTag(): void {
    this.pos += 1;
    const qname = this.name();
    const raw = this.attributes();
    const empty = this.src.charCodeAt(this.pos) === 0x2f;
    this.pos += empty ? 2 : 1;
    if (++this.elements > XML_ELEMENTS_MAX) this.fail(`more than ${XML_ELEMENTS_MAX} elements`);
    if (this.stack.length + 1 > XML_DEPTH_MAX) this.fail(`elements nested deeper than ${XML_DEPTH_MAX}`);
    const parent = this.stack.length > 0 ? this.stack[this.stack.length - 1] : undefined;
    const scope = this.declare(raw, parent?.scope ?? ROOT_SCOPE);
    const [prefix, local] = splitName(qname, () => this.fail(`bad name "${qname}"`));
    const element = new XmlElement(this.resolve(scope, prefix, qname), local, this.resolveAttributes(raw, scope));
    if (parent !== undefined) parent.element.children.push(element);
    if (!empty) this.stack.push({ element, qname, scope });
    else if (parent === undefined) this.root = element;
  }

  /** Reads `</name>` and closes the element it names. */
  private endTag(): void {
    this.pos += 2;
    const qname = this.name();
    this.skipWhitespace();
    if (this.src.charCodeAt(this.pos) !== 0x3e) this.fail(`"</${qname}" is not followed by ">"`);
    this.pos += 1;
    const open = this.stack.pop();
    if (open === undefined) this.fail(`</${qname}> closes nothing`);
    if (open.qname !== qname) this.fail(`</${qname}> closes <${open.qname}>`);
    const e = open.element;
    if (e.children.length > 0) {
      if (!isWhitespace(e.text, 0, e.text.length)) this.fail(`<${qname}> mixes text and elements`);
      e.text = '';
    }
    if (this.stack.length === 0) this.root = e;
  }

  /** Raw attributes up to '>' or '/>' (left unread); values decoded. */
  private attributes(): [string, string][] {
    const src = this.src;
    const out: [string, string][] = [];
    for (;;) {
      const spaced = this.skipWhitespace();
      const c = src.charCodeAt(this.pos);
      if (c === 0x3e) return out;
      if (c === 0x2f && src.charCodeAt(this.pos + 1) === 0x3e) return out;
      if (Number.isNaN(c)) this.fail('unterminated start tag');
      if (!spaced) this.fail('attributes must be separated by whitespace');
      const name = this.name();
      this.skipWhitespace();
      if (src.charCodeAt(this.pos) !== 0x3d) this.fail(`attribute ${name} has no "="`);
      this.pos += 1;
      this.skipWhitespace();
      const quote = src[this.pos];
      if (quote !== '"' && quote !== "'") this.fail(`attribute ${name} is not quoted`);
      const close = src.indexOf(quote, this.pos + 1);
      if (close < 0) this.fail(`attribute ${name} is not closed`);
      const raw = src.slice(this.pos + 1, close);
      if (raw.includes('<')) this.fail(`"<" in the value of attribute ${name}`);
      for (const [seen] of out) if (seen === name) this.fail(`attribute ${name} given twice`);
      out.push([name, decodeText(raw, true, this.pos + 1)]);
      if (out.length > XML_ATTRIBUTES_MAX) this.fail(`more than ${XML_ATTRIBUTES_MAX} attributes`);
      this.pos = close + 1;
    }
  }

  /** The scope inside an element: its xmlns and xmlns:p declarations on top of the parent's. */
  private declare(raw: [string, string][], parent: Scope): Scope {
    let scope = parent;
    for (const [name, value] of raw) {
      if (name === 'xmlns') {
        scope = { prefix: '', uri: value, next: scope };
      } else if (name.startsWith('xmlns:')) {
        const prefix = name.slice(6);
        if (value === '') this.fail(`prefix ${prefix} is bound to the empty namespace`);
        if (prefix === 'xmlns' || (prefix === 'xml') !== (value === XML_NAMESPACE)) this.fail(`prefix ${prefix} cannot be bound to ${value}`);
        scope = { prefix, uri: value, next: scope };
      }
    }
    return scope;
  }

  private resolve(scope: Scope, prefix: string, qname: string): string {
    for (let s: Scope | null = scope; s !== null; s = s.next) if (s.prefix === prefix) return s.uri;
    this.fail(`prefix of ${qname} is not bound to a namespace`);
  }

  /** Attributes without the namespace declarations, with their namespaces; (ns, name) pairs are unique. */
  private resolveAttributes(raw: [string, string][], scope: Scope): XmlAttribute[] {
    const out: XmlAttribute[] = [];
    for (const [qname, value] of raw) {
      if (qname === 'xmlns' || qname.startsWith('xmlns:')) continue;
      const [prefix, name] = splitName(qname, () => this.fail(`bad attribute name "${qname}"`));
      const ns = prefix === '' ? '' : this.resolve(scope, prefix, qname);
      if (ns === XMLNS_NAMESPACE) this.fail(`attribute ${qname} is in the xmlns namespace`);
      for (const a of out) if (a.ns === ns && a.name === name) this.fail(`attribute ${qname} given twice`);
      out.push({ ns, name, value });
    }
    return out;
  }

  /** An XML name at pos (at most XML_NAME_CHARS_MAX characters). */
  private name(): string {
    const src = this.src;
    const start = this.pos;
    let i = start;
    while (i < src.length && isNameChar(src.charCodeAt(i), i === start)) {
      i += 1;
      if (i - start > XML_NAME_CHARS_MAX) this.fail(`name longer than ${XML_NAME_CHARS_MAX} characters`);
    }
    if (i === start) this.fail('a name was expected');
    this.pos = i;
    return src.slice(start, i);
  }

  /** Skips XML whitespace; says whether there was any. */
  private skipWhitespace(): boolean {
    const start = this.pos;
    while (isSpace(this.src.charCodeAt(this.pos))) this.pos += 1;
    return this.pos > start;
  }
}

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x09 || c === 0x0d;
}

function isWhitespace(s: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (!isSpace(s.charCodeAt(i))) return false;
  return true;
}

/** NameStartChar / NameChar (XML 1.0 §2.3), with every non-ASCII character allowed as libxml2 has checked them. */
function isNameChar(c: number, first: boolean): boolean {
  if ((c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x5f || c === 0x3a || c >= 0x80) return true;
  return !first && ((c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2e);
}

/** Splits "p:local" into ["p", "local"] and "local" into ["", "local"]. */
function splitName(qname: string, bad: () => never): [string, string] {
  const colon = qname.indexOf(':');
  if (colon < 0) return ['', qname];
  if (colon === 0 || colon === qname.length - 1 || qname.indexOf(':', colon + 1) >= 0) bad();
  return [qname.slice(0, colon), qname.slice(colon + 1)];
}

function normaliseLineEnds(s: string): string {
  return s.includes('\r') ? s.replace(/\r\n?/g, '\n') : s;
}

const PREDEFINED = new Map([['lt', '<'], ['gt', '>'], ['amp', '&'], ['apos', "'"], ['quot', '"']]);

/**
 * Decodes character data or an attribute value: line ends normalised, the five predefined entities and
 * character references replaced; in an attribute, literal tab and newline become spaces (§3.3.3).
 */
function decodeText(raw: string, attribute: boolean, offset: number): string {
  let s = normaliseLineEnds(raw);
  if (attribute && (s.includes('\n') || s.includes('\t'))) s = s.replace(/[\n\t]/g, ' ');
  if (!s.includes('&')) return s;
  let out = '';
  let from = 0;
  for (let amp = s.indexOf('&'); amp >= 0; amp = s.indexOf('&', from)) {
    const semi = s.indexOf(';', amp);
    if (semi < 0 || semi - amp > 12) throw new XmlError(`"&" without a reference, near offset ${offset + amp}`);
    out += s.slice(from, amp) + reference(s.slice(amp + 1, semi), offset + amp);
    from = semi + 1;
  }
  return out + s.slice(from);
}

/** The character an entity or character reference (between '&' and ';') stands for. */
function reference(body: string, offset: number): string {
  const named = PREDEFINED.get(body);
  if (named !== undefined) return named;
  let code = NaN;
  if (/^#x[0-9a-fA-F]{1,6}$/.test(body)) code = parseInt(body.slice(2), 16);
  else if (/^#[0-9]{1,7}$/.test(body)) code = parseInt(body.slice(1), 10);
  else throw new XmlError(`unknown entity "&${body};" (only the five predefined ones are accepted), near offset ${offset}`);
  const allowed = code === 0x9 || code === 0xa || code === 0xd || (code >= 0x20 && code <= 0xd7ff) ||
    (code >= 0xe000 && code <= 0xfffd) || (code >= 0x10000 && code <= 0x10ffff);
  if (!allowed) throw new XmlError(`character reference "&${body};" is not an XML character, near offset ${offset}`);
  return String.fromCodePoint(code);
}

// ---- writer ----

/** An element to write: text or children (never both), attributes in the order given. */
export interface XmlNode {
  readonly name: string;
  /** Set on the root (required) and on a child that switches to another default namespace. */
  readonly ns?: string;
  readonly attributes?: readonly (readonly [string, string])[];
  readonly text?: string;
  readonly children?: readonly XmlNode[];
}

/** An element with children; undefined and false entries are left out, so optional parts read inline. */
export function element(name: string, ...children: (XmlNode | undefined | false)[]): XmlNode {
  return { name, children: children.filter((c): c is XmlNode => c !== undefined && c !== false) };
}

/** An element holding text. */
export function textElement(name: string, text: string, attributes?: readonly (readonly [string, string])[]): XmlNode {
  return attributes === undefined ? { name, text } : { name, text, attributes };
}

/** Writes a document: XML declaration, 2-space indentation, '\n' line ends, a final newline. */
export function writeXml(root: XmlNode): string {
  if (root.ns === undefined) throw new XmlError(`root <${root.name}> needs a namespace`);
  const out: string[] = ['<?xml version="1.0" encoding="UTF-8"?>\n'];
  writeNode(out, root, '', '', 0);
  return out.join('');
}

const checkedNames = new Set<string>();

function writeNode(out: string[], node: XmlNode, parentNs: string, indent: string, depth: number): void {
  if (depth >= XML_DEPTH_MAX) throw new XmlError(`elements nested deeper than ${XML_DEPTH_MAX}`);
  checkName(node.name);
  const ns = node.ns ?? parentNs;
  let open = `${indent}<${node.name}`;
  if (ns !== parentNs) open += ` xmlns="${escapeAttribute(ns)}"`;
  for (const [name, value] of node.attributes ?? []) {
    checkName(name);
    open += ` ${name}="${escapeAttribute(value)}"`;
  }
  const children = node.children ?? [];
  if (node.text !== undefined && children.length > 0) throw new XmlError(`<${node.name}> has both text and children`);
  if (children.length === 0) {
    out.push(node.text === undefined || node.text === '' ? `${open}/>\n` : `${open}>${escapeText(node.text)}</${node.name}>\n`);
    return;
  }
  out.push(`${open}>\n`);
  for (const child of children) writeNode(out, child, ns, indent + '  ', depth + 1);
  out.push(`${indent}</${node.name}>\n`);
}

function checkName(name: string): void {
  if (checkedNames.has(name)) return;
  if (!/^[A-Za-z_][A-Za-z0-9._-]*(:[A-Za-z_][A-Za-z0-9._-]*)?$/.test(name) || name.length > XML_NAME_CHARS_MAX) {
    throw new XmlError(`"${name}" is not a name the writer emits`);
  }
  checkedNames.add(name);
}

function checkChars(s: string): void {
  const bad = NOT_XML_CHAR.exec(s);
  if (bad !== null) throw new XmlError(`U+${bad[0].charCodeAt(0).toString(16).padStart(4, '0')} cannot be written in XML 1.0`);
}

// '>' is escaped too, so "]]>" can never appear; '\r' as a reference, or a
// reader's line-end normalisation would turn it into '\n'.
const TEXT_SPECIAL = /[&<>\r]/;
const TEXT_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '\r': '&#13;' };

/** Escapes character data so a reader gives back exactly `s`. */
export function escapeText(s: string): string {
  checkChars(s);
  return TEXT_SPECIAL.test(s) ? s.replace(/[&<>\r]/g, (c) => TEXT_ESCAPES[c]) : s;
}

// In an attribute, literal tab, newline and carriage return would read back
// as spaces (§3.3.3), so they are written as references.
const ATTRIBUTE_SPECIAL = /[&<>"\t\n\r]/;
const ATTRIBUTE_ESCAPES: Record<string, string> = {
  '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', '\t': '&#9;', '\n': '&#10;', '\r': '&#13;',
};

/** Escapes an attribute value (written between double quotes). */
export function escapeAttribute(s: string): string {
  checkChars(s);
  return ATTRIBUTE_SPECIAL.test(s) ? s.replace(/[&<>"\t\n\r]/g, (c) => ATTRIBUTE_ESCAPES[c]) : s;
}
