// host/fix/tags.ts: the FIX 4.4 tag numbers and code values the codec itself
// relies on (facts of the FIX 4.4 specification, also in ./dictionary/FIX44.xml).

export const Tag = Object.freeze({
  BeginString: 8,
  BodyLength: 9,
  CheckSum: 10,
  MsgSeqNum: 34,
  MsgType: 35,
  SenderCompID: 49,
  SendingTime: 52,
  TargetCompID: 56,
  Text: 58,
  SignatureLength: 93,
  Signature: 89,
  RefSeqNum: 45,
  RefTagID: 371,
  RefMsgType: 372,
  SessionRejectReason: 373,
  BusinessRejectRefID: 379,
  BusinessRejectReason: 380,
});

/** SessionRejectReason (373) values of FIX 4.4. */
export const SessionRejectReason = Object.freeze({
  InvalidTagNumber: 0,
  RequiredTagMissing: 1,
  TagNotDefinedForMessageType: 2,
  UndefinedTag: 3,
  TagSpecifiedWithoutValue: 4,
  ValueIncorrect: 5,
  IncorrectDataFormat: 6,
  DecryptionProblem: 7,
  SignatureProblem: 8,
  CompIdProblem: 9,
  SendingTimeAccuracyProblem: 10,
  InvalidMsgType: 11,
  XmlValidationError: 12,
  TagAppearsMoreThanOnce: 13,
  TagSpecifiedOutOfRequiredOrder: 14,
  RepeatingGroupFieldsOutOfOrder: 15,
  IncorrectNumInGroupCount: 16,
  NonDataValueIncludesFieldDelimiter: 17,
  Other: 99,
});

/** BusinessRejectReason (380) values of FIX 4.4 the codec produces. */
export const BusinessRejectReason = Object.freeze({
  Other: 0,
  UnknownId: 1,
  UnknownSecurity: 2,
  UnsupportedMessageType: 3,
  ApplicationNotAvailable: 4,
  ConditionallyRequiredFieldMissing: 5,
  NotAuthorized: 6,
  DeliverToFirmNotAvailable: 7,
});

export const SOH = 0x01;
