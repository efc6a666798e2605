// host/base/version.ts: QENEX's release version, from package.json (its one home).
import pkg from '../../package.json' with { type: 'json' };

export const VERSION: string = pkg.version;
