// host/fix/dictionary.ts: the FIX 4.4 data dictionary (./dictionary/FIX44.xml,
// QuickFIX format) as typed, indexed data for the codec (./codec.ts).
//
// Read once with the repo's own XML reader (host/payments/xml.ts; the file's
// 336 KB and 6,233 elements are far inside its bounds, 8 MiB and 524,288
// elements, host/base/limits.ts XML_*, so no limit needed raising) and cached.
// What it gives:
//   - fields by number and by name: type, enumerated values;
//   - the header and trailer as member lists;
//   - messages by MsgType: name, admin or application, members in order with
//     their required flags, components expanded in place, repeating groups
//     with their NumInGroup tag, delimiter (first field) and member order,
//     nested groups inside;
//   - DATA fields paired with the LENGTH field that carries their byte count
//     (RawData 96 with RawDataLength 95, Signature 89 with SignatureLength 93):
//     the pairing is by name, <data name> + 'Len' or 'Length', which is how
//     every pair of FIX 4.4 is named.
// Required flags inside components: a field is required where it is used
// when the component is required there and the field is required in the
// component (an optional component's fields are all optional), as
// established engines read the same file.

import { existsSync, readFileSync } from 'node:fs';
import { parseXml, type XmlElement } from '../payments/xml.ts';
import { FIX_LIMITS } from './limits.ts';
import { FixError } from './errors.ts';

/** The FIX 4.4 data types the dictionary uses (and the few other 4.x names). */
export type FixType =
  | 'INT' | 'LENGTH' | 'SEQNUM' | 'NUMINGROUP' | 'TAGNUM' | 'DAYOFMONTH'
  | 'FLOAT' | 'QTY' | 'PRICE' | 'PRICEOFFSET' | 'AMT' | 'PERCENTAGE'
  | 'CHAR' | 'BOOLEAN' | 'STRING' | 'MULTIPLEVALUESTRING' | 'EXCHANGE' | 'CURRENCY' | 'COUNTRY'
  | 'LOCALMKTDATE' | 'UTCTIMESTAMP' | 'UTCTIMEONLY' | 'UTCDATEONLY' | 'MONTHYEAR' | 'DATA';

const TYPES: ReadonlySet<string> = new Set<FixType>([
  'INT', 'LENGTH', 'SEQNUM', 'NUMINGROUP', 'TAGNUM', 'DAYOFMONTH', 'FLOAT', 'QTY', 'PRICE', 'PRICEOFFSET', 'AMT',
  'PERCENTAGE', 'CHAR', 'BOOLEAN', 'STRING', 'MULTIPLEVALUESTRING', 'EXCHANGE', 'CURRENCY', 'COUNTRY', 'LOCALMKTDATE',
  'UTCTIMESTAMP', 'UTCTIMEONLY', 'UTCDATEONLY', 'MONTHYEAR', 'DATA',
]);

export interface FieldDef {
  readonly tag: number;
  readonly name: string;
  readonly type: FixType;
  /** Enumerated values (value → description), or undefined when any value of the type goes. */
  readonly enums: ReadonlyMap<string, string> | undefined;
}

/** One member of a message, a group or the header/trailer: a field or a repeating group. */
export type Member = FieldMember | GroupMember;
export interface FieldMember {
  readonly kind: 'field';
  readonly tag: number;
  readonly required: boolean;
}
export interface GroupMember {
  readonly kind: 'group';
  /** The NumInGroup field that counts the instances. */
  readonly tag: number;
  readonly required: boolean;
  readonly group: GroupDef;
}

/** Members in their order, with an index from tag to position. */
export interface MemberList {
  readonly members: readonly Member[];
  /** Tag → position in members (group members by their NumInGroup tag). */
  readonly position: ReadonlyMap<number, number>;
  /** Tags of the required members, in order. */
  readonly required: readonly number[];
}

export interface GroupDef extends MemberList {
  readonly name: string;
  /** The NumInGroup tag. */
  readonly countTag: number;
  /** The first field of every instance. */
  readonly delimiter: number;
}

export interface MessageDef extends MemberList {
  readonly msgType: string;
  readonly name: string;
  /** Session (admin) messages or application messages. */
  readonly admin: boolean;
}

export interface Dictionary {
  readonly beginString: string;
  readonly fields: ReadonlyMap<number, FieldDef>;
  readonly fieldsByName: ReadonlyMap<string, FieldDef>;
  readonly header: MemberList;
  readonly trailer: MemberList;
  readonly messages: ReadonlyMap<string, MessageDef>;
  /** LENGTH tag → the DATA tag whose byte count it carries (95 → 96). */
  readonly dataByLength: ReadonlyMap<number, number>;
  /** DATA tag → its LENGTH tag (96 → 95). */
  readonly lengthOfData: ReadonlyMap<number, number>;
}

let cached: Dictionary | undefined;

// From the source (host/fix/) or the CLI's bundle in dist/, beside host/.
function dictionaryPath(): URL {
  const candidates = [new URL('./dictionary/FIX44.xml', import.meta.url), new URL('../host/fix/dictionary/FIX44.xml', import.meta.url)];
  return candidates.find((u) => existsSync(u)) ?? candidates[0]!;
}

/** The FIX 4.4 dictionary, read and indexed on first use. */
export function fix44(): Dictionary {
  cached ??= loadDictionary(readFileSync(dictionaryPath()));
  return cached;
}

/** Builds a dictionary from a QuickFIX-format document; throws FixError for one it cannot use. */
export function loadDictionary(xml: Uint8Array | string): Dictionary {
  const root = parseXml(xml);
  if (root.name !== 'fix') throw new FixError(`dictionary root is <${root.name}>, not <fix>`);
  const major = root.attr('major');
  const minor = root.attr('minor');
  const beginString = `${root.attr('type') ?? 'FIX'}.${major}.${minor}`;
  const { fields, fieldsByName } = readFields(section(root, 'fields'));
  const components = new Map<string, XmlElement>();
  for (const c of section(root, 'components').all('component')) components.set(need(c, 'name'), c);
  const builder = new Builder(fieldsByName, components);
  const header = builder.list(section(root, 'header'), true, 0);
  const trailer = builder.list(section(root, 'trailer'), true, 0);
  const messages = new Map<string, MessageDef>();
  for (const m of section(root, 'messages').all('message')) {
    const msgType = need(m, 'msgtype');
    if (messages.has(msgType)) throw new FixError(`dictionary defines MsgType ${msgType} twice`);
    messages.set(msgType, { msgType, name: need(m, 'name'), admin: m.attr('msgcat') === 'admin', ...builder.list(m, true, 0) });
  }
  const { dataByLength, lengthOfData } = pairDataFields(fields, fieldsByName);
  return { beginString, fields, fieldsByName, header, trailer, messages, dataByLength, lengthOfData };
}

function section(root: XmlElement, name: string): XmlElement {
  const e = root.child(name);
  if (e === undefined) throw new FixError(`dictionary has no <${name}>`);
  return e;
}

function need(e: XmlElement, attr: string): string {
  const v = e.attr(attr);
  if (v === undefined || v === '') throw new FixError(`dictionary <${e.name}> without ${attr}`);
  return v;
}

function readFields(e: XmlElement): { fields: Map<number, FieldDef>; fieldsByName: Map<string, FieldDef> } {
  const fields = new Map<number, FieldDef>();
  const fieldsByName = new Map<string, FieldDef>();
  for (const f of e.all('field')) {
    const tag = Number(need(f, 'number'));
    const name = need(f, 'name');
    const type = need(f, 'type');
    if (!Number.isSafeInteger(tag) || tag <= 0) throw new FixError(`dictionary field ${name} has number ${f.attr('number')}`);
    if (!TYPES.has(type)) throw new FixError(`dictionary field ${name} (${tag}) has unknown type ${type}`);
    if (fields.has(tag) || fieldsByName.has(name)) throw new FixError(`dictionary defines field ${name} (${tag}) twice`);
    const values = f.all('value');
    const enums = values.length === 0 ? undefined : new Map(values.map((v) => [need(v, 'enum'), v.attr('description') ?? '']));
    const def: FieldDef = { tag, name, type: type as FixType, enums };
    fields.set(tag, def);
    fieldsByName.set(name, def);
  }
  return { fields, fieldsByName };
}

function pairDataFields(fields: Map<number, FieldDef>, byName: Map<string, FieldDef>): Pick<Dictionary, 'dataByLength' | 'lengthOfData'> {
  const dataByLength = new Map<number, number>();
  const lengthOfData = new Map<number, number>();
  for (const f of fields.values()) {
    if (f.type !== 'DATA') continue;
    const len = byName.get(`${f.name}Len`) ?? byName.get(`${f.name}Length`);
    if (len === undefined || len.type !== 'LENGTH') throw new FixError(`dictionary DATA field ${f.name} (${f.tag}) has no LENGTH field ${f.name}Len[gth]`);
    dataByLength.set(len.tag, f.tag);
    lengthOfData.set(f.tag, len.tag);
  }
  return { dataByLength, lengthOfData };
}

/** Expands the members of a message, group or component into flat member lists. */
class Builder {
  constructor(private readonly fieldsByName: ReadonlyMap<string, FieldDef>, private readonly components: ReadonlyMap<string, XmlElement>) {}

  list(e: XmlElement, required: boolean, depth: number): MemberList {
    const members: Member[] = [];
    this.expand(e, required, depth, 0, members);
    const position = new Map<number, number>();
    members.forEach((m, i) => {
      if (position.has(m.tag)) throw new FixError(`dictionary <${e.name} name="${e.attr('name') ?? ''}"> uses tag ${m.tag} twice`);
      position.set(m.tag, i);
    });
    return { members, position, required: members.filter((m) => m.required).map((m) => m.tag) };
  }

  private expand(e: XmlElement, required: boolean, groupDepth: number, componentDepth: number, out: Member[]): void {
    if (componentDepth > FIX_LIMITS.componentDepth) throw new FixError(`dictionary components nest deeper than ${FIX_LIMITS.componentDepth}`);
    for (const c of e.children) {
      const req = required && c.attr('required') === 'Y';
      if (c.name === 'field') out.push({ kind: 'field', tag: this.field(need(c, 'name')).tag, required: req });
      else if (c.name === 'group') out.push(this.group(c, req, groupDepth + 1));
      else if (c.name === 'component') {
        const def = this.components.get(need(c, 'name'));
        if (def === undefined) throw new FixError(`dictionary uses undefined component ${c.attr('name')}`);
        this.expand(def, req, groupDepth, componentDepth + 1, out);
      } else throw new FixError(`dictionary has <${c.name}> inside <${e.name}>`);
    }
  }

  private group(e: XmlElement, required: boolean, depth: number): GroupMember {
    if (depth > FIX_LIMITS.groupDepth) throw new FixError(`dictionary groups nest deeper than ${FIX_LIMITS.groupDepth}`);
    const count = this.field(need(e, 'name'));
    // Three counts of FIX 4.4 (NoAffectedOrders 534, NoClearingInstructions 576, NoDates 580) are typed INT
    // in the file; the validator holds every count to NUMINGROUP's format whatever its type.
    if (count.type !== 'NUMINGROUP' && count.type !== 'INT') throw new FixError(`dictionary group ${count.name} is not a NUMINGROUP field`);
    // Members of an instance are required within the instance when the dictionary says so,
    // whether or not the group itself is required.
    const list = this.list(e, true, depth);
    const first = list.members[0];
    if (first === undefined || first.kind !== 'field') throw new FixError(`dictionary group ${count.name} does not start with a field`);
    return { kind: 'group', tag: count.tag, required, group: { name: count.name, countTag: count.tag, delimiter: first.tag, ...list } };
  }

  private field(name: string): FieldDef {
    const f = this.fieldsByName.get(name);
    if (f === undefined) throw new FixError(`dictionary uses undefined field ${name}`);
    return f;
  }
}

/** The field definition of a tag, or a FixError naming the tag. */
export function fieldDef(dict: Dictionary, tag: number): FieldDef {
  const f = dict.fields.get(tag);
  if (f === undefined) throw new FixError(`tag ${tag} is not in the dictionary`);
  return f;
}

/** The message definition of a MsgType, or a FixError naming it. */
export function messageDef(dict: Dictionary, msgType: string): MessageDef {
  const m = dict.messages.get(msgType);
  if (m === undefined) throw new FixError(`MsgType ${msgType} is not in the dictionary`);
  return m;
}
