// host/fix/replies.ts: the answer to a refused message (./validate.ts), as
// the body of the message the session sends back.
//
// A session-level refusal is a Reject (35=3): RefSeqNum (45), RefTagID
// (371) when one tag is at fault, RefMsgType (372), SessionRejectReason
// (373), Text (58). An unsupported application message is a
// BusinessMessageReject (35=j): RefSeqNum, RefMsgType, BusinessRejectReason
// (380), Text. Without a readable MsgSeqNum there is nothing to refer to:
// the session protocol answers that with a Logout, so no reply is made.

import type { OutFields } from './render.ts';
import type { Refusal } from './validate.ts';

export interface Reply {
  readonly msgType: '3' | 'j';
  readonly body: OutFields;
}

/** The Reject or BusinessMessageReject body for a refusal, or undefined when its MsgSeqNum was not readable. */
export function replyTo(r: Refusal): Reply | undefined {
  if (r.seqNum === undefined) return undefined;
  if (r.level === 'business') {
    return { msgType: 'j', body: { RefSeqNum: r.seqNum, RefMsgType: r.msgType, BusinessRejectReason: r.reason, Text: r.text } };
  }
  const body: Record<string, string | number> = { RefSeqNum: r.seqNum };
  if (r.refTag !== undefined) body.RefTagID = r.refTag;
  if (r.msgType !== '') body.RefMsgType = r.msgType;
  body.SessionRejectReason = r.reason;
  body.Text = r.text;
  return { msgType: '3', body };
}
