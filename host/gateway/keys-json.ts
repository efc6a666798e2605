// host/gateway/keys-json.ts: API keys and the /v1/keys routes' bodies: a new
// key and its hash (the kernel keeps only the hash), role names, the JSON key
// spec of POST /v1/keys and the KEY_CREATE body it becomes, and the key
// records GET /v1/keys answers with (services/gateway/protocol.ts). Used by
// the HTTP gateway (./http-handlers.ts) and `qenex keys` (host/cmd/keys.ts).

import { createHash, randomBytes } from 'node:crypto';
import * as gw from '../../services/gateway/protocol.ts';
import { isJsonObject, type JsonValue } from './json.ts';
import { LedgerJsonError, LedgerReplyError, readUint } from './ledger-json.ts';

export const ROLE_NAMES: Record<number, string> = {
  [gw.ROLE_ADMIN]: 'admin', [gw.ROLE_OPERATOR]: 'operator', [gw.ROLE_TELLER]: 'teller',
  [gw.ROLE_AUDITOR]: 'auditor', [gw.ROLE_READ_ONLY]: 'read-only', [gw.ROLE_COMPLIANCE_OFFICER]: 'compliance_officer',
  [gw.ROLE_TRADER]: 'trader',
};

/** A new API key: 32 random bytes, base64url, with a recognisable prefix. */
export function newApiKey(): string {
  return `qx_${randomBytes(32).toString('base64url')}`;
}

export function apiKeyHash(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}

export interface KeySpec { role: number; ledgers: number[]; ratePerSecond: number; burst: number }

/** The KEY_CREATE body for the gateway service. */
export function keyCreateBody(spec: KeySpec, hash: Uint8Array): Buffer {
  const out = Buffer.alloc(gw.KEY_CREATE_BYTES + spec.ledgers.length * 4);
  out[0] = spec.role;
  out[1] = spec.ledgers.length;
  out.writeUInt32LE(spec.ratePerSecond, 4);
  out.writeUInt32LE(spec.burst, 8);
  out.set(hash, 12);
  spec.ledgers.forEach((l, i) => out.writeUInt32LE(l, gw.KEY_CREATE_BYTES + i * 4));
  return out;
}

export function roleNumber(name: string): number | undefined {
  const entry = Object.entries(ROLE_NAMES).find(([, n]) => n === name);
  return entry === undefined ? undefined : Number(entry[0]);
}

/** {"role","ledgers"?,"rate_per_second"?,"burst"?} strictly; throws LedgerJsonError. */
export function keySpecFromJson(body: JsonValue): KeySpec {
  if (!isJsonObject(body)) throw new LedgerJsonError('invalid_field', 'body: must be an object');
  for (const k of body.keys()) {
    if (!['role', 'ledgers', 'rate_per_second', 'burst'].includes(k)) throw new LedgerJsonError('invalid_field', `${k}: unknown field`);
  }
  const roleName = body.get('role');
  const role = typeof roleName === 'string' ? roleNumber(roleName) : undefined;
  if (role === undefined) throw new LedgerJsonError('invalid_field', `role: must be one of ${Object.values(ROLE_NAMES).join(', ')}`);
  const ledgersValue = body.get('ledgers') ?? [];
  if (!Array.isArray(ledgersValue) || ledgersValue.length > gw.KEY_GRANTS_MAX) {
    throw new LedgerJsonError('invalid_field', `ledgers: must be an array of at most ${gw.KEY_GRANTS_MAX} ledger numbers`);
  }
  const ledgers = ledgersValue.map((v, i) => readUint(v, `ledgers[${i}]`, 0xffffffff));
  const ratePerSecond = body.has('rate_per_second') ? readUint(body.get('rate_per_second')!, 'rate_per_second', 1000000) : 0;
  const burst = body.has('burst') ? readUint(body.get('burst')!, 'burst', 1000000) : 0;
  return { role, ledgers, ratePerSecond, burst };
}

export interface KeyRecord {
  id: number; role: string; revoked: boolean; ledgers: number[]; created_ns: string;
  rate_per_second: number; burst: number; hash_prefix: string;
}

export function decodeKeyRecords(body: Buffer): KeyRecord[] {
  if (body.length % gw.GW_KEY_RECORD_BYTES !== 0) throw new LedgerReplyError(`keys list: ${body.length} bytes is not whole records`);
  const out: KeyRecord[] = [];
  for (let at = 0; at < body.length; at += gw.GW_KEY_RECORD_BYTES) {
    const grants = body[at + 6];
    out.push({
      id: body.readUInt32LE(at), role: ROLE_NAMES[body[at + 4]] ?? `role ${body[at + 4]}`, revoked: body[at + 5] !== 0,
      ledgers: Array.from({ length: grants }, (_, i) => body.readUInt32LE(at + 24 + i * 4)),
      created_ns: body.readBigUInt64LE(at + 8).toString(), rate_per_second: body.readUInt32LE(at + 16),
      burst: body.readUInt32LE(at + 20), hash_prefix: body.subarray(at + 88, at + 96).toString('hex'),
    });
  }
  return out;
}
