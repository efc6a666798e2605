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

import { writeFileDurably } from '../base/durable.ts';
import { parseArgs, CliError, EXIT_USAGE, processIo, type CommandIo } from './args.ts';
import * as gw from '../../services/gateway/protocol.ts';
import { viaConsole, viaHttp } from './console.ts';
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
Roles: admin, operator, teller (needs --ledger), auditor, read-only (--ledger optional), compliance_officer
(works the compliance alerts' cases; reads decisions, rules and reports).
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
      : await viaConsole(io, data!, args.values, async (send) => (await send(gw.ROUTE_KEYS_CREATE, keyCreateBody(spec, apiKeyHash(key)))).readUInt32LE(0));
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
      : await viaConsole(io, data!, args.values, async (send) => decodeKeyRecords(await send(gw.ROUTE_KEYS_LIST, Buffer.alloc(0))));
    print({ event: 'keys', keys });
    return 0;
  }
  const id = uintArg(args.values, 'id', 0xffffffff);
  if (id === undefined || id === 0) throw new CliError('keys revoke: missing --id <key id>', EXIT_USAGE);
  const body = Buffer.alloc(4);
  body.writeUInt32LE(id);
  if (url !== undefined) await viaHttp(url, args.values.get('key')!, 'DELETE', `/v1/keys/${id}`);
  else await viaConsole(io, data!, args.values, (send) => send(gw.ROUTE_KEYS_REVOKE, body));
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

