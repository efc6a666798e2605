// host/compat.ts: what Node.js 18 lacks that the host's dependencies expect.
// Imported first by host/cmd/cli.ts; does nothing on Node 20 and later.
//
// Node 18 has Web Crypto only as require('node:crypto').webcrypto, not as
// globalThis.crypto (that came in Node 19). @noble/post-quantum's hedged
// ML-DSA signing draws its per-signature randomness from
// globalThis.crypto.getRandomValues, so without this `qenex keygen`, `build`
// and `sign` fail on Node 18 ("crypto.getRandomValues must be defined").

import { webcrypto } from 'node:crypto';

if (typeof (globalThis as { crypto?: unknown }).crypto === 'undefined') {
  Object.defineProperty(globalThis, 'crypto', { value: webcrypto, enumerable: false, configurable: true, writable: true });
}
