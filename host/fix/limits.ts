// host/fix/limits.ts: every bound of the FIX 4.4 codec (host/fix/), in one
// place, each with the reason for its value.
//
// The house rule puts exported *_MAX bounds of the host in
// host/base/limits.ts; this library was built with its changes confined to
// host/fix/, so its bounds live here, in one frozen object, until they move
// there (a rename of the import, nothing more).

export const FIX_LIMITS = Object.freeze({
  // Bytes of one message, BeginString to the CheckSum's SOH. The largest
  // message the acceptor exchanges (a SecurityList of a few hundred
  // instruments, a MarketDataSnapshot of a deep book) is a few KiB; 64 KiB is
  // what established engines use as a default ceiling, and it bounds the
  // framer's buffer: a peer cannot make us hold more than this per session.
  messageBytes: 64 * 1024,
  // Digits of BodyLength (9=): 65536 has five; more digits can only be a
  // number over messageBytes or a leading zero, both garbled.
  bodyLengthDigits: 5,
  // Bytes of the BeginString field '8=FIX.4.4<SOH>' and its peers
  // ('8=FIXT.1.1<SOH>'): a first field longer than this is garbled, so a
  // stream of junk without SOH is dropped after this many bytes.
  beginStringBytes: 16,
  // Digits of a tag number: the largest tag in FIX 4.4 is under 10,000 and
  // user-defined tags go to 49,999 (and beyond, by agreement); nine digits
  // keeps every tag an exact small integer. More digits: invalid tag number.
  tagDigits: 9,
  // Fields in one message: a field takes at least four bytes ('1=x<SOH>'), so
  // messageBytes / 4 bounds it anyway; stated so the parser's arrays are
  // bounded by a number that is said, not derived.
  fieldsPerMessage: 16 * 1024,
  // Nesting of repeating groups: FIX 4.4's deepest is three (NoSides >
  // NoPartyIDs > NoPartySubIDs); eight leaves room for custom dictionaries
  // and stops a hand-made dictionary from recursing without end.
  groupDepth: 8,
  // Components inside components while the dictionary is loaded: FIX 4.4
  // nests four deep (e.g. InstrumentLeg > LegSecAltIDGrp); sixteen catches a
  // component that names itself.
  componentDepth: 16,
  // Digits of a decimal (FLOAT, QTY, PRICE, ...) the scaling helper takes:
  // 38 digits is what a 128-bit amount holds, far beyond any price or
  // quantity, and keeps the BigInt work bounded.
  decimalDigits: 38,
  // Digits after the point of a UTCTimestamp or UTCTimeOnly in FIX 4.4: none
  // or three (milliseconds), as the FIX 4.4 specification writes them.
  // Later FIX versions allow 6 and 9; the time helpers take those too.
  timestampFractionDigits: [0, 3] as readonly number[],
});
