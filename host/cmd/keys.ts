// host/cmd/keys.ts: `qenex keys create|list|revoke` — API keys of the gateway
// service. Key changes are commands in the command log, never edits of a
// file: the key table lives in the gateway service's state, so it is
// rebuilt by replay like everything else, and only SHA-256 hashes of keys
// are ever logged.
//
// Two ways in:
//   --data <dir>   the system is stopped: boot the data directory's image in
//                  this process (live, no listener), submit the command as a
//                  console input (protocol AUTH_CONSOLE), wait until it is
//                  durable and answered, stop cleanly. A running host holds
//                  the log's lock, so this fails with a clear message then.
//   --url <base> --key <admin key>
//                  the system is running: the same command through the
//                  admin routes (POST /v1/keys, GET /v1/keys, DELETE /v1/keys/{id}).
// `create` prints the new key once; it is not stored anywhere but its hash.

import { join } from 'node:path';
import { writeFileDurably } from '../base/durable.ts';
import { parseArgs, CliError, EXIT_USAGE, asCliError, processIo, type CommandIo } from './args.ts';
import { parseImage, readImageFile, verifyImage, ImageError } from '../image.ts';
import { loadPublicKeys, KeyError } from '../base/keys.ts';
import { Machine, BootError, IMAGE_FILE } from '../machine.ts';
import { BlockBackendError } from '../devices/block-backend.ts';
import { DataKeyError } from '../datakey.ts';
import * as abi from '../../hal/abi.ts';
import * as gw from '../../services/gateway/protocol.ts';
import { GATEWAY_SERVICE, GATEWAY_ERROR_CODES, gatewayRequest, parseGatewayReply } from '../gateway/gateway-wire.ts';
import { ROLE_NAMES, apiKeyHash, decodeKeyRecords, keyCreateBody, newApiKey, roleNumber, type KeySpec } from '../gateway/keys-json.ts';

const TARGET = `<target> is either
  --data <dir> [--trust <signing.pub>] [--backend auto|native|pure]
                                              the system is stopped: the command is appended to
                                              the data directory's command log (by the image stored
                                              there; --trust checks its signature first)
  --url http://host:port --key <admin key>    the system is running: through its admin routes`;

const USAGES: Record<'create' | 'list' | 'revoke', string> = {
  create: `usage: qenex keys create --role <role> [--ledger N[,N...]] [--rate <per second>] [--burst <n>] [--save <file>] <target>

Creates an API key and prints one JSON line {"event":"key_created","id","role","ledgers","key"}.
The key is shown only this once (QENEX keeps its SHA-256); --save also writes that line to
<file> (mode 0600), for a development key a script reads again.
Roles: admin, operator, teller (needs --ledger), auditor, read-only (--ledger optional).
--rate and --burst override the gateway's per-key rate limit for this key.

${TARGET}
`,
  list: `usage: qenex keys list <target>

Prints one JSON line {"event":"keys","keys":[...]}: each key's id, role, ledgers, rates,
whether it is revoked and the first 8 bytes of its hash (never the key).

${TARGET}
`,
  revoke: `usage: qenex keys revoke --id <key id> <target>

Revokes the key: every request with it is refused from then on (401 revoked_key), and its
open event streams end. Prints {"event":"key_revoked","id"}.

${TARGET}
`,
};

export const USAGE = `usage: qenex keys create|list|revoke [options] <target>

  create   --role <role> [--ledger N,...] [--rate n] [--burst n] [--save <file>]   a new API key
  list                                                                           the keys (never a key itself)
  revoke   --id <key id>                                                         refuse a key from now on

${TARGET}

\`qenex keys <create|list|revoke> --help\` shows each one's options.
`;

export async function main(argv: string[], io: CommandIo = processIo): Promise<number> {
  const first = argv[0];
  const named = first === 'create' || first === 'list' || first === 'revoke' ? first : null;
  const args = parseArgs(argv, {
    values: ['data', 'trust', 'backend', 'url', 'key', 'role', 'ledger', 'rate', 'burst', 'id', 'save'],
    positionals: { min: 0, max: 1, names: ['create|list|revoke'] },
  });
  if (args.help) { io.out(named === null ? USAGE : USAGES[named]); return 0; }
  const action = args.positionals[0];
  if (action === undefined) {
    (io.err ?? processIo.err!)(USAGE);
    return EXIT_USAGE;
  }
  if (action !== 'create' && action !== 'list' && action !== 'revoke') throw new CliError(`keys: unknown action "${action}"; say create, list or revoke`, EXIT_USAGE);
  const data = args.values.get('data');
  const url = args.values.get('url');
  if ((data === undefined) === (url === undefined)) throw new CliError('keys: give exactly one of --data <dir> or --url <base>', EXIT_USAGE);
  if (url !== undefined && !args.values.has('key')) throw new CliError('keys: --url needs --key <admin key>', EXIT_USAGE);
  const print = (o: object) => io.out(JSON.stringify(o) + '\n');
  if (action === 'create') {
    const spec = keySpecFromArgs(args.values);
    const key = newApiKey();
    const r = url !== undefined
      ? await viaHttp(url, args.values.get('key')!, 'POST', '/v1/keys', { role: ROLE_NAMES[spec.role], ledgers: spec.ledgers, rate_per_second: spec.ratePerSecond, burst: spec.burst })
      : await viaConsole(io, data!, args.values, gw.ROUTE_KEYS_CREATE, keyCreateBody(spec, apiKeyHash(key)), (body) => body.readUInt32LE(0));
    const id = url !== undefined ? (r as { id: number }).id : r as number;
    const created = { event: 'key_created', id, role: ROLE_NAMES[spec.role], ledgers: spec.ledgers, key: url !== undefined ? (r as { key: string }).key : key };
    const save = args.values.get('save');
    if (save !== undefined) writeFileDurably(save, JSON.stringify({ ...created, data: data ?? url }) + '\n', { mode: 0o600 });
    print(created);
    return 0;
  }
  if (action === 'list') {
    const keys = url !== undefined
      ? await viaHttp(url, args.values.get('key')!, 'GET', '/v1/keys')
      : await viaConsole(io, data!, args.values, gw.ROUTE_KEYS_LIST, Buffer.alloc(0), decodeKeyRecords);
    print({ event: 'keys', keys });
    return 0;
  }
  const id = uintArg(args.values, 'id', 0xffffffff);
  if (id === undefined || id === 0) throw new CliError('keys revoke: missing --id <key id>', EXIT_USAGE);
  const body = Buffer.alloc(4);
  body.writeUInt32LE(id);
  if (url !== undefined) await viaHttp(url, args.values.get('key')!, 'DELETE', `/v1/keys/${id}`);
  else await viaConsole(io, data!, args.values, gw.ROUTE_KEYS_REVOKE, body, () => null);
  print({ event: 'key_revoked', id });
  return 0;
}

function uintArg(values: Map<string, string>, name: string, max: number): number | undefined {
  const text = values.get(name);
  if (text === undefined) return undefined;
  if (!/^[0-9]{1,10}$/.test(text) || Number(text) > max) throw new CliError(`--${name} must be an integer from 0 to ${max}`, EXIT_USAGE);
  return Number(text);
}

function keySpecFromArgs(values: Map<string, string>): KeySpec {
  const roleName = values.get('role');
  if (roleName === undefined) throw new CliError('keys create: missing --role', EXIT_USAGE);
  const role = roleNumber(roleName);
  if (role === undefined) throw new CliError(`--role must be one of ${Object.values(ROLE_NAMES).join(', ')}`, EXIT_USAGE);
  const ledgerText = values.get('ledger');
  const ledgers = ledgerText === undefined ? [] : ledgerText.split(',').map((t) => {
    if (!/^[0-9]{1,10}$/.test(t) || Number(t) > 0xffffffff) throw new CliError(`--ledger wants ledger numbers separated by commas, got "${ledgerText}"`, EXIT_USAGE);
    return Number(t);
  });
  if (ledgers.length > gw.KEY_GRANTS_MAX) throw new CliError(`--ledger: at most ${gw.KEY_GRANTS_MAX} ledgers`, EXIT_USAGE);
  return { role, ledgers, ratePerSecond: uintArg(values, 'rate', 1000000) ?? 0, burst: uintArg(values, 'burst', 1000000) ?? 0 };
}

async function viaHttp(base: string, key: string, method: string, path: string, body?: unknown): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(new URL(path, base), {
      method, headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (e) {
    throw new CliError(`${base}: ${(e as Error).message}`);
  }
  const json = await res.json().catch(() => null) as { error?: { code: string; message: string } } | null;
  if (!res.ok) throw new CliError(`${method} ${path}: ${res.status} ${json?.error?.code ?? ''}: ${json?.error?.message ?? ''}`);
  return json;
}

/** Boots the data directory, submits one console command to the gateway, stops. */
async function viaConsole<T>(io: CommandIo, dataDir: string, values: Map<string, string>, route: number, body: Buffer, decode: (b: Buffer) => T): Promise<T> {
  const backend = values.get('backend');
  const trust = values.get('trust');
  if (backend !== undefined && backend !== 'auto' && backend !== 'native' && backend !== 'pure') throw new CliError('--backend must be auto, native or pure', EXIT_USAGE);
  const errors: string[] = [];
  let machine: Machine;
  try {
    const bytes = readImageFile(join(dataDir, IMAGE_FILE));
    const image = parseImage(bytes);
    if (trust !== undefined) verifyImage(image, loadPublicKeys(trust));
    machine = await Machine.boot({
      image, imageBytes: bytes, dataDir, mode: 'live', backend: (backend ?? 'auto') as 'auto',
      onLine: (line, isError) => { if (isError) errors.push(line); },
    });
  } catch (e) {
    const err = asCliError(e, [ImageError, KeyError, BootError, BlockBackendError, DataKeyError]);
    if (err instanceof CliError && /lock/i.test(err.message)) {
      throw new CliError(`${dataDir} is in use by a running host; use --url <base> --key <admin key> instead (${err.message})`);
    }
    throw err;
  }
  try {
    const reply = await machine.net!.inject(GATEWAY_SERVICE, gatewayRequest(route, gw.AUTH_CONSOLE, null, Buffer.alloc(gw.GW_SOURCE_BYTES), body));
    if (reply.status !== abi.FRAME_OK) throw new CliError(`the kernel refused the command (frame status ${reply.status}): ${reply.payload.toString('utf8')}`);
    const r = parseGatewayReply(reply.payload);
    if (r === null) throw new CliError('the gateway answered without its header');
    if (r.status !== 200) throw new CliError(`${GATEWAY_ERROR_CODES[r.error] ?? 'error'}: ${r.body.toString('latin1')}`);
    return decode(r.body);
  } finally {
    const halt = await machine.stop();
    if (halt.message !== null) errors.push(halt.message);
    if (errors.length > 0) (io.err ?? processIo.err!)(errors.join('\n') + '\n');
  }
}

