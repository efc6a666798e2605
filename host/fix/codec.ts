// host/fix/codec.ts: the FIX 4.4 tag=value codec, one import for its users
// (the FIX acceptor's edge: bytes in → fields → checked message or Reject;
// messages out → bytes). docs/fix.md, "The codec and the dictionary", says
// how the pieces fit:
//   ./framing.ts   whole messages out of a TCP stream; garbled ones set aside
//   ./parse.ts     a framed message into ordered fields with offsets
//   ./validate.ts  fields against the dictionary: a structured message, or
//                  the Reject (SessionRejectReason) / BusinessMessageReject
//   ./render.ts    outbound messages in dictionary order, BodyLength, CheckSum
//   ./replies.ts   the Reject or BusinessMessageReject that answers a refusal
//   ./values.ts    the FIX types' formats; exact decimals
//   ./time.ts      UTCTimestamp and the other date/time types, exactly
//   ./dictionary.ts  FIX44.xml, indexed
//   ./limits.ts    every bound, with its reason

export { FixError } from './errors.ts';
export { FIX_LIMITS } from './limits.ts';
export { Tag, SessionRejectReason, BusinessRejectReason, SOH } from './tags.ts';
export { fix44, loadDictionary, fieldDef, messageDef } from './dictionary.ts';
export type { Dictionary, FieldDef, FixType, GroupDef, GroupMember, FieldMember, Member, MemberList, MessageDef } from './dictionary.ts';
export { frameMessages, checksum, FixFramer } from './framing.ts';
export type { FrameResult, Framed, Garbled, GarbledReason } from './framing.ts';
export { parseFields } from './parse.ts';
export type { RawField } from './parse.ts';
export { validateFields, validateMessage } from './validate.ts';
export type { FixFields, FixMessage, Refusal, Validation, ValidateOptions } from './validate.ts';
export { renderMessage, encodeRawMessage } from './render.ts';
export type { Outbound, OutFields, OutValue, RenderOptions } from './render.ts';
export { isValidFormat, isEnumValue, isDecimalType, decimalToScaled, scaledToDecimal } from './values.ts';
export { isUtcTimestamp, isUtcTimeOnly, isDate, isMonthYear, parseUtcTimestamp, parseUtcTimestampMs, formatUtcTimestamp, formatUtcTimestampMs } from './time.ts';
export { replyTo } from './replies.ts';
export type { Reply } from './replies.ts';
