// host/fix/errors.ts: the one error the FIX codec (host/fix/) throws.
//
// Bad input from a peer is not an error: the framer reports garbled bytes
// and the validator answers with a Reject reason, as values. FixError is for
// the caller's own mistakes (rendering a field the message does not have, a
// float where a decimal string belongs, a decimal that does not fit a scale)
// and for a dictionary that cannot be used.

export class FixError extends Error {
  override name = 'FixError';
}
