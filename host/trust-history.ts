// host/trust-history.ts: which keys a live-loaded module had to be signed by,
// at each point of the command log (issue 4; host/liveload.ts).
//
// A service command's outcome must be the same live, in `qenex replay` and
// at every reboot, even after the operator boots with other --trust keys: a
// load accepted (or refused) under key set A must stay so when the log is
// replayed under key set B, or later inputs would reach other services. So
// each live boot records, once it has recovered the log and before it takes
// input, the key set it trusts from that point on:
//
//   <data>/trust-history.json  [{"since": <entries applied at ready>, "key": <P-384 key id> | null}, ...]
//   <data>/trust-<key id>.pub  the key set (signing.pub format)
//
// A command applied when `seq` entries have been applied was checked by the
// boot whose record has the greatest `since` below `seq` (its input entry
// came after that boot's ready point), and is checked against that record's
// keys again on replay. `null`: that boot trusted no keys (an unsigned boot,
// the `qenex keys --data` console), so commands in it were refused.
// Records are only appended; the file is replaced atomically.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileDurably } from './base/durable.ts';
import { loadPublicKeys, writePublicKeys, type PublicKey } from './base/keys.ts';

export const TRUST_HISTORY_FILE = 'trust-history.json';
export const TRUST_KEYS_PREFIX = 'trust-';
// One record per boot that changed the keys; far more than any system sees.
const RECORDS_MAX = 100_000;

export class TrustHistoryError extends Error {
  override name = 'TrustHistoryError';
}

interface TrustRecord { since: number; key: string | null }

export class TrustHistory {
  private readonly records: TrustRecord[];
  private readonly sets = new Map<string, readonly PublicKey[]>();

  private constructor(private readonly dataDir: string) {
    this.records = readRecords(join(dataDir, TRUST_HISTORY_FILE));
  }

  static open(dataDir: string): TrustHistory {
    return new TrustHistory(dataDir);
  }

  /** The keys of the boot that took a command applied after `seq` entries; null when no boot recorded one. */
  keysAt(seq: number): readonly PublicKey[] | null {
    let found: TrustRecord | null = null;
    for (const r of this.records) if (r.since < seq) found = r; // records are in log order; the last below wins
    if (found === null) return null;
    if (found.key === null) return [];
    const cached = this.sets.get(found.key);
    if (cached !== undefined) return cached;
    const path = join(this.dataDir, `${TRUST_KEYS_PREFIX}${found.key}.pub`);
    if (!existsSync(path)) throw new TrustHistoryError(`${path}: missing; the trust history names key set ${found.key}`);
    const keys = loadPublicKeys(path);
    this.sets.set(found.key, keys);
    return keys;
  }

  /** Records that from `since` entries on, commands are checked against `keys` (none: refused). */
  append(since: number, keys: readonly PublicKey[] | null): void {
    const key = keys === null || keys.length === 0 ? null : keys[0].keyIdHex;
    const last = this.records.at(-1);
    if (last !== undefined && last.key === key) return; // the same keys go on
    if (last !== undefined && since < last.since) throw new TrustHistoryError(`trust history: boot at entry ${since} is before the last record (${last.since})`);
    if (this.records.length >= RECORDS_MAX) throw new TrustHistoryError(`trust history: more than ${RECORDS_MAX} records`);
    if (key !== null) {
      const path = join(this.dataDir, `${TRUST_KEYS_PREFIX}${key}.pub`);
      if (!existsSync(path)) writePublicKeys(path, keys!);
      this.sets.set(key, keys!);
    }
    this.records.push({ since, key });
    writeFileDurably(join(this.dataDir, TRUST_HISTORY_FILE), JSON.stringify(this.records) + '\n');
  }
}

function readRecords(path: string): TrustRecord[] {
  if (!existsSync(path)) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new TrustHistoryError(`${path}: not JSON: ${(e as Error).message}`);
  }
  if (!Array.isArray(parsed) || parsed.length > RECORDS_MAX) throw new TrustHistoryError(`${path}: not a list of trust records`);
  let since = -1;
  return parsed.map((r, i) => {
    const ok = typeof r === 'object' && r !== null && Number.isSafeInteger(r.since) && r.since >= since
      && (r.key === null || (typeof r.key === 'string' && /^[0-9a-f]{32}$/.test(r.key)));
    if (!ok) throw new TrustHistoryError(`${path}: record ${i} is invalid`);
    since = r.since;
    return { since: r.since as number, key: r.key as string | null };
  });
}

