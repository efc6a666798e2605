// host/fix/render.ts: outbound FIX messages, from a MsgType and named or
// numbered fields to the bytes on the wire.
//
// renderMessage writes the header and the body in the dictionary's order
// (groups as arrays of instances, each instance in the group's order, the
// NumInGroup count from the array), fills in BeginString, BodyLength, MsgType,
// the Length field of any DATA field, and CheckSum, and (unless told not to)
// validates the result with the same validator inbound messages get, so
// what leaves is what we would accept. Values are strings (decimals exactly
// as they should appear), integers (safe integer numbers or bigints) or
// bytes for DATA; a non-integer number is refused, so a float can never
// reach a price field.
//
// encodeRawMessage writes given fields as they are, in the order given, with
// only BodyLength and CheckSum computed: for tests, and for re-sending bytes
// the session already holds.

import { Buffer } from 'node:buffer';
import { fix44, type Dictionary, type MemberList } from './dictionary.ts';
import { FixError } from './errors.ts';
import { Tag } from './tags.ts';
import { validateMessage } from './validate.ts';

export type OutValue = string | number | bigint | Uint8Array | readonly OutFields[];
/** Fields of one level, keyed by tag number or field name. */
export type OutFields = ReadonlyMap<number | string, OutValue> | { readonly [key: string]: OutValue };

export interface Outbound {
  readonly msgType: string;
  /** Header fields other than 8, 9, 35 (SenderCompID, TargetCompID, MsgSeqNum, SendingTime, ...). */
  readonly header?: OutFields;
  readonly body?: OutFields;
}

export interface RenderOptions {
  readonly dictionary?: Dictionary;
  /** Validate the rendered message against the dictionary (default true). */
  readonly validate?: boolean;
}

/** The bytes of one message; FixError for a field the message does not have, a bad value, or (when validating) a message we would refuse. */
export function renderMessage(out: Outbound, options: RenderOptions = {}): Uint8Array {
  const dict = options.dictionary ?? fix44();
  const def = dict.messages.get(out.msgType);
  if (def === undefined) throw new FixError(`MsgType ${out.msgType} is not in the dictionary`);
  const parts: [number, string][] = [[Tag.MsgType, out.msgType]];
  const w = new LevelWriter(dict, parts);
  w.level(dict.header, resolve(dict, out.header ?? {}, 'the header'), new Set([Tag.BeginString, Tag.BodyLength, Tag.MsgType]));
  w.level(def, resolve(dict, out.body ?? {}, `${def.name} (${def.msgType})`), new Set());
  const bytes = encodeRawMessage(parts, dict.beginString);
  if (options.validate !== false) {
    const v = validateMessage(bytes, { dictionary: dict });
    if (!v.ok) throw new FixError(`rendered ${def.name} would be refused: ${v.text}`);
  }
  return bytes;
}

/** A message of the given fields (MsgType first, as given, CheckSum excluded), with BodyLength and CheckSum computed. */
export function encodeRawMessage(fields: readonly (readonly [number | string, string])[], beginString = 'FIX.4.4'): Uint8Array {
  let body = '';
  for (const [tag, value] of fields) body += `${tag}=${value}\x01`;
  const text = `8=${beginString}\x019=${body.length}\x01${body}`;
  let sum = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c > 0xff) throw new FixError(`character U+${c.toString(16)} does not fit one byte`);
    sum += c;
  }
  return new Uint8Array(Buffer.from(`${text}10=${String(sum & 0xff).padStart(3, '0')}\x01`, 'latin1'));
}

/** Field values keyed by tag, from names or numbers, as one-byte-per-character strings or instance lists. */
type Resolved = Map<number, string | Resolved[]>;

function resolve(dict: Dictionary, fields: OutFields, where: string): Resolved {
  const out: Resolved = new Map();
  const entries = fields instanceof Map ? [...fields.entries()] : Object.entries(fields);
  for (const [key, value] of entries as [number | string, OutValue][]) {
    const tag = typeof key === 'number' || /^[0-9]+$/.test(key) ? Number(key) : dict.fieldsByName.get(key)?.tag;
    if (tag === undefined || !dict.fields.has(tag)) throw new FixError(`${key} is not a FIX field (in ${where})`);
    if (out.has(tag)) throw new FixError(`${key} is given twice (in ${where})`);
    out.set(tag, Array.isArray(value) ? value.map((v: OutFields) => resolve(dict, v, where)) : text(dict, tag, value as Exclude<OutValue, readonly OutFields[]>));
  }
  return out;
}

function text(dict: Dictionary, tag: number, value: string | number | bigint | Uint8Array): string {
  const def = dict.fields.get(tag)!;
  let s: string;
  if (typeof value === 'string') s = value;
  else if (typeof value === 'bigint') s = value.toString();
  else if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new FixError(`${def.name} (${tag}): ${value} is not an integer; give decimals as strings`);
    s = String(value);
  } else s = Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('latin1');
  if (s === '') throw new FixError(`${def.name} (${tag}) has no value`);
  if (def.type !== 'DATA' && s.includes('\x01')) throw new FixError(`${def.name} (${tag}) contains SOH`);
  return s;
}

/** Writes levels (the header, a body, group instances) in dictionary order. */
class LevelWriter {
  constructor(private readonly dict: Dictionary, private readonly parts: [number, string][]) {}

  level(list: MemberList, given: Resolved, skip: ReadonlySet<number>): void {
    for (const tag of given.keys()) {
      if (!list.position.has(tag) || skip.has(tag)) throw new FixError(`${this.dict.fields.get(tag)!.name} (${tag}) cannot be written here`);
      const dataTag = this.dict.dataByLength.get(tag);
      if (dataTag !== undefined && !given.has(dataTag)) throw new FixError(`${tag} given without its data field ${dataTag}`);
    }
    for (const m of list.members) {
      const v = given.get(m.tag) ?? this.lengthOf(m.tag, given);
      if (v === undefined) continue;
      if (m.kind === 'group') {
        if (!Array.isArray(v)) throw new FixError(`${m.group.name} (${m.tag}) takes a list of instances`);
        if (v.length === 0) continue;
        this.parts.push([m.tag, String(v.length)]);
        for (const instance of v) this.level(m.group, instance, new Set());
      } else {
        if (typeof v !== 'string') throw new FixError(`${this.dict.fields.get(m.tag)!.name} (${m.tag}) is not a repeating group`);
        this.parts.push([m.tag, v]);
      }
    }
  }

  /** The byte count of a DATA field, for its Length field when the caller left it out (a given one is checked by validation). */
  private lengthOf(tag: number, given: Resolved): string | undefined {
    const dataTag = this.dict.dataByLength.get(tag);
    const data = dataTag === undefined ? undefined : given.get(dataTag);
    return typeof data === 'string' ? String(data.length) : undefined;
  }
}
