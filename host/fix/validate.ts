// host/fix/validate.ts: a parsed FIX message (./parse.ts) checked against the
// data dictionary: either a structured view of it, or the first problem as
// the Reject the session sends.
//
// Order of the checks (the first problem found is the answer):
//   1. MsgType: empty → 4; not in the dictionary → 11 (session Reject).
//   2. Each field in message order:
//      invalid tag number → 0; no value → 4; not in the dictionary → 3;
//      a DATA field its Length does not end → 6; wrong format for its type
//      → 6; not one of its enumerated values → 5; then where it stands:
//      8, 9, 35 anywhere but first, second, third, 10 anywhere but last, a
//      header field after the body began, a body field after the trailer
//      began → 14; a field neither in the header, the trailer nor this
//      message → 2; twice at one level → 13; a group member before its
//      instance's delimiter, or out of the group's order → 15; more or fewer
//      instances than NumInGroup says → 16; a group instance without one of
//      its required fields → 1.
//   3. Required fields of the header, the body and the trailer → 1.
//   4. The message is valid. If it is an application message of a MsgType
//      the application does not support, the answer is a BusinessMessageReject (35=j) with
//      BusinessRejectReason 3 (unsupported message type), not a session
//      Reject: the message is valid FIX, just not served here.
// CompID (9) and SendingTime accuracy (10) need the session's state and are
// its checks, not the codec's.

import { fix44, type Dictionary, type GroupDef, type MemberList, type MessageDef } from './dictionary.ts';
import { parseFields, type RawField } from './parse.ts';
import { BusinessRejectReason, SessionRejectReason as R, Tag } from './tags.ts';
import { isEnumValue, isValidFormat } from './values.ts';

/** Fields of one level: tag → value, or tag of a NumInGroup → its instances. Insertion order is message order. */
export type FixFields = Map<number, string | FixFields[]>;

export interface FixMessage {
  readonly msgType: string;
  readonly def: MessageDef;
  readonly header: FixFields;
  readonly body: FixFields;
  readonly trailer: FixFields;
}

/** What the session needs to answer a refused message. */
export interface Refusal {
  readonly ok: false;
  /** 'session': a Reject (35=3) with SessionRejectReason; 'business': a BusinessMessageReject (35=j). */
  readonly level: 'session' | 'business';
  /** SessionRejectReason (373) or BusinessRejectReason (380). */
  readonly reason: number;
  /** RefTagID (371) of a session Reject, when the problem is one tag. */
  readonly refTag: number | undefined;
  /** Text (58). */
  readonly text: string;
  /** MsgType (35) as received, for RefMsgType (372). */
  readonly msgType: string;
  /** MsgSeqNum (34) when it could be read, for RefSeqNum (45). */
  readonly seqNum: number | undefined;
}

export type Validation = { readonly ok: true; readonly message: FixMessage; readonly seqNum: number } | Refusal;

export interface ValidateOptions {
  readonly dictionary?: Dictionary;
  /** Application MsgTypes served; other application messages are answered with a BusinessMessageReject. Default: all. Admin messages are the session's, always served. */
  readonly supported?: ReadonlySet<string>;
}

const TEXT: Record<number, string> = {
  [R.InvalidTagNumber]: 'Invalid tag number',
  [R.RequiredTagMissing]: 'Required tag missing',
  [R.TagNotDefinedForMessageType]: 'Tag not defined for this message type',
  [R.UndefinedTag]: 'Undefined tag',
  [R.TagSpecifiedWithoutValue]: 'Tag specified without a value',
  [R.ValueIncorrect]: 'Value is incorrect (out of range) for this tag',
  [R.IncorrectDataFormat]: 'Incorrect data format for value',
  [R.InvalidMsgType]: 'Invalid MsgType',
  [R.TagAppearsMoreThanOnce]: 'Tag appears more than once',
  [R.TagSpecifiedOutOfRequiredOrder]: 'Tag specified out of required order',
  [R.RepeatingGroupFieldsOutOfOrder]: 'Repeating group fields out of order',
  [R.IncorrectNumInGroupCount]: 'Incorrect NumInGroup count for repeating group',
};

/** The fields that open every message, in this order. */
const FIRST_THREE: readonly number[] = [Tag.BeginString, Tag.BodyLength, Tag.MsgType];

/** A problem found while walking the fields: thrown inside this file only, caught by validateFields. */
class Problem {
  constructor(readonly reason: number, readonly refTag: number | undefined, readonly detail: string) {}
}

/** One open repeating group while walking the fields. */
interface OpenGroup {
  readonly def: GroupDef;
  readonly expected: number;
  readonly instances: FixFields[];
  /** Position (in def.members) of the last member seen in the current instance. */
  last: number;
}

/** Frames nothing: validates the fields of one framed message. */
export function validateMessage(message: Uint8Array, options: ValidateOptions = {}): Validation {
  const dict = options.dictionary ?? fix44();
  return validateFields(parseFields(message, dict), options);
}

/** Validates parsed fields (from parseFields) against the dictionary; see the file's comment for the order. */
export function validateFields(fields: readonly RawField[], options: ValidateOptions = {}): Validation {
  const dict = options.dictionary ?? fix44();
  const msgType = fields[2]?.tag === Tag.MsgType ? fields[2].value : '';
  const seqField = fields.find((f) => f.tag === Tag.MsgSeqNum);
  const seqNum = seqField !== undefined && /^[0-9]{1,15}$/.test(seqField.value) ? Number(seqField.value) : undefined;
  const refuse = (level: 'session' | 'business', reason: number, refTag: number | undefined, detail: string): Refusal =>
    ({ ok: false, level, reason, refTag, text: level === 'session' ? `${TEXT[reason] ?? 'Other'}: ${detail}` : detail, msgType, seqNum });
  if (msgType === '') return refuse('session', R.TagSpecifiedWithoutValue, Tag.MsgType, 'MsgType (35) is empty');
  const def = dict.messages.get(msgType);
  if (def === undefined) return refuse('session', R.InvalidMsgType, Tag.MsgType, `MsgType ${JSON.stringify(msgType)} is not a FIX 4.4 message`);
  let message: FixMessage;
  try {
    message = new Walker(dict, def, fields).walk();
  } catch (e) {
    if (!(e instanceof Problem)) throw e;
    return refuse('session', e.reason, e.refTag, e.detail);
  }
  if (options.supported !== undefined && !def.admin && !options.supported.has(msgType)) {
    // A BusinessMessageReject has no RefTagID: RefMsgType (372) says it all.
    return refuse('business', BusinessRejectReason.UnsupportedMessageType, undefined, `Unsupported Message Type: ${def.name} (${msgType})`);
  }
  return { ok: true, message, seqNum: seqNum ?? 0 };
}

/** Walks the fields of one message once, building its levels and throwing the first Problem. */
class Walker {
  private readonly header: FixFields = new Map();
  private readonly body: FixFields = new Map();
  private readonly trailer: FixFields = new Map();
  private section: 'header' | 'body' | 'trailer' = 'header';
  private readonly open: OpenGroup[] = [];

  constructor(private readonly dict: Dictionary, private readonly def: MessageDef, private readonly fields: readonly RawField[]) {}

  walk(): FixMessage {
    const last = this.fields.length - 1;
    this.fields.forEach((f, i) => {
      this.checkValue(f, i);
      const first = FIRST_THREE.indexOf(f.tag);
      if (first >= 0 && i !== first) throw new Problem(R.TagSpecifiedOutOfRequiredOrder, f.tag, `${this.name(f.tag)} must be field ${first + 1}`);
      if (f.tag === Tag.CheckSum && i !== last) throw new Problem(R.TagSpecifiedOutOfRequiredOrder, f.tag, `${this.name(f.tag)} must be the last field`);
      this.place(f);
    });
    while (this.open.length > 0) this.close();
    this.required(this.dict.header, this.header, 'the header');
    this.required(this.def, this.body, `${this.def.name} (${this.def.msgType})`);
    this.required(this.dict.trailer, this.trailer, 'the trailer');
    return { msgType: this.def.msgType, def: this.def, header: this.header, body: this.body, trailer: this.trailer };
  }

  private name(tag: number): string {
    return `${this.dict.fields.get(tag)?.name ?? 'tag'} (${tag})`;
  }

  /** The checks that need only the field and its definition: 0, 4, 3, 6, 5. */
  private checkValue(f: RawField, i: number): void {
    if (f.tag < 0) throw new Problem(R.InvalidTagNumber, undefined, `field at offset ${f.offset} has no valid tag number`);
    if (f.value === '') throw new Problem(R.TagSpecifiedWithoutValue, f.tag, `${f.tag} has no value`);
    const fd = this.dict.fields.get(f.tag);
    if (fd === undefined) throw new Problem(R.UndefinedTag, f.tag, `tag ${f.tag} is not defined in FIX 4.4`);
    if (f.badLength === true) throw new Problem(R.IncorrectDataFormat, f.tag, `${this.name(f.tag)} is not as long as its Length field says`);
    if (fd.type === 'DATA' && this.fields[i - 1]?.tag !== this.dict.lengthOfData.get(f.tag)) {
      throw new Problem(R.IncorrectDataFormat, f.tag, `${this.name(f.tag)} does not follow its Length field ${this.dict.lengthOfData.get(f.tag)}`);
    }
    if (!isValidFormat(fd.type, f.value)) throw new Problem(R.IncorrectDataFormat, f.tag, `${this.name(f.tag)} is not a valid ${fd.type}`);
    if (fd.enums !== undefined && !isEnumValue(fd.type, fd.enums, f.value)) {
      throw new Problem(R.ValueIncorrect, f.tag, `${JSON.stringify(f.value)} is not a value of ${this.name(f.tag)}`);
    }
  }

  /** Puts a field where it belongs (an open group's instance, or a section), checking 14, 2, 13, 15, 16. */
  private place(f: RawField): void {
    while (this.open.length > 0) {
      if (this.placeInGroup(this.open[this.open.length - 1]!, f)) return;
      this.close();
    }
    const d = this.dict;
    let target: FixFields;
    let list: MemberList;
    if (d.header.position.has(f.tag)) {
      if (this.section !== 'header') throw new Problem(R.TagSpecifiedOutOfRequiredOrder, f.tag, `header field ${this.name(f.tag)} after the body`);
      [target, list] = [this.header, d.header];
    } else if (d.trailer.position.has(f.tag)) {
      this.section = 'trailer';
      [target, list] = [this.trailer, d.trailer];
    } else if (this.def.position.has(f.tag)) {
      if (this.section === 'trailer') throw new Problem(R.TagSpecifiedOutOfRequiredOrder, f.tag, `body field ${this.name(f.tag)} after the trailer`);
      this.section = 'body';
      [target, list] = [this.body, this.def];
    } else {
      throw new Problem(R.TagNotDefinedForMessageType, f.tag, `${this.name(f.tag)} is not a field of ${this.def.name} (${this.def.msgType})`);
    }
    if (target.has(f.tag)) throw new Problem(R.TagAppearsMoreThanOnce, f.tag, `${this.name(f.tag)} appears more than once`);
    this.store(target, list, f);
  }

  /** Stores a field at a level: its value, or (for a NumInGroup) an empty instance list and an open group. */
  private store(target: FixFields, list: MemberList, f: RawField): void {
    const member = list.members[list.position.get(f.tag)!]!;
    if (member.kind === 'field') {
      target.set(f.tag, f.value);
      return;
    }
    if (!isValidFormat('NUMINGROUP', f.value)) throw new Problem(R.IncorrectDataFormat, f.tag, `${this.name(f.tag)} is not a valid NUMINGROUP`);
    const instances: FixFields[] = [];
    target.set(f.tag, instances);
    this.open.push({ def: member.group, expected: Number(f.value), instances, last: -1 });
  }

  /** Places a field in the innermost open group if it belongs there; false when it ends the group. */
  private placeInGroup(g: OpenGroup, f: RawField): boolean {
    const pos = g.def.position.get(f.tag);
    if (pos === undefined) return false;
    if (f.tag === g.def.delimiter) {
      this.endInstance(g);
      if (g.instances.length === g.expected) {
        throw new Problem(R.IncorrectNumInGroupCount, g.def.countTag, `${this.name(g.def.countTag)} is ${g.expected}, and there are more instances`);
      }
      g.instances.push(new Map());
    } else if (g.instances.length === 0) {
      throw new Problem(R.RepeatingGroupFieldsOutOfOrder, f.tag, `${this.name(f.tag)} before the delimiter ${this.name(g.def.delimiter)} of ${g.def.name}`);
    } else if (pos <= g.last) {
      const current = g.instances[g.instances.length - 1]!;
      if (current.has(f.tag)) throw new Problem(R.TagAppearsMoreThanOnce, f.tag, `${this.name(f.tag)} twice in one ${g.def.name} instance`);
      throw new Problem(R.RepeatingGroupFieldsOutOfOrder, f.tag, `${this.name(f.tag)} out of ${g.def.name}'s order`);
    }
    g.last = pos;
    this.store(g.instances[g.instances.length - 1]!, g.def, f);
    return true;
  }

  /** Checks the required fields of the current instance of a group, if there is one. */
  private endInstance(g: OpenGroup): void {
    const current = g.instances[g.instances.length - 1];
    if (current !== undefined) this.required(g.def, current, `a ${g.def.name} instance`);
  }

  /** Closes the innermost open group: its last instance complete, its count right. */
  private close(): void {
    const g = this.open.pop()!;
    this.endInstance(g);
    if (g.instances.length !== g.expected) {
      throw new Problem(R.IncorrectNumInGroupCount, g.def.countTag, `${this.name(g.def.countTag)} is ${g.expected}, and there are ${g.instances.length} instances`);
    }
  }

  private required(list: MemberList, present: FixFields, where: string): void {
    for (const tag of list.required) {
      if (!present.has(tag)) throw new Problem(R.RequiredTagMissing, tag, `${this.name(tag)} is required in ${where}`);
    }
  }
}
