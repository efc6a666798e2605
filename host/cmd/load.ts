// host/cmd/load.ts: `qenex load`, `qenex upgrade` and `qenex unload` — change
// the services of a running system through its admin routes (issue 4).
//
// Each is one HTTP request with an admin key (POST /v1/system/services,
// .../upgrade, .../unload; host/gateway/services-json.ts). The gateway
// authorises it and hands it to the kernel as a service command, which is
// part of the command log, so a replay or a reboot loads the same modules at
// the same point. The module must be signed (`qenex sign <module.wasm> --key
// k` writes <module.wasm>.sig) by the key set the system was booted with
// (--trust). Every outcome prints one JSON line; a refusal exits 1 with the
// kernel's code and message (capability_denied, signature_invalid, ...).

import { readFileSync, statSync } from 'node:fs';
import { LOADABLE_CAPS } from '../gateway/services-json.ts';
import { CliError, EXIT_USAGE, parseArgs, processIo, type CommandIo } from './args.ts';

// A module travels in one logged message (message_bytes_max, at most 1 MiB);
// anything larger is refused here before it is read.
const MODULE_BYTES_MAX = 1 << 20;
const SIGNATURE_BYTES_MAX = 64 * 1024;

const COMMON = `  --url <base>            the running system, e.g. http://127.0.0.1:7000
  --key <admin key>        an API key with role admin`;

const LOAD_USAGE = `usage: qenex load <module.wasm> --as <name> --url <base> --key <admin key>
                  [--caps net,log,time,random,timer] [--memory-pages-max N] [--config <json>] [--signature <file>]

Loads a signed service module into the running system as service <name>.
The signature is <module.wasm>.sig unless --signature names it (qenex sign
<module.wasm> --key <signing.key> writes it).

options:
  --as <name>              the service's name (a-z, 0-9, - and _; a letter first; at most 32)
  --caps <list>            capabilities, separated by commas; only ones the gateway holds
  --memory-pages-max <N>   its memory limit in 64 KiB pages (default 16)
  --config <json>          a JSON object given to its qx_init
${COMMON}`;

const UPGRADE_USAGE = `usage: qenex upgrade <name> <module.wasm> --url <base> --key <admin key> [--signature <file>]

Replaces service <name> with a new signed version, keeping its state: the
new version gets the old one's memory (and globals), then qx_migrate(from_version)
if it exports it. If that fails, the old version keeps running.

options:
${COMMON}`;

const UNLOAD_USAGE = `usage: qenex unload <name> --url <base> --key <admin key>

Unloads a service that was loaded into the running system: requests still
queued for it are refused and its name can be loaded again.

options:
${COMMON}`;

function readBounded(path: string, max: number, what: string): Buffer {
  let size: number;
  try {
    size = statSync(path).size;
  } catch (e) {
    throw new CliError(`${path}: cannot read ${what}: ${(e as Error).message}`);
  }
  if (size > max) throw new CliError(`${path}: ${size} bytes is larger than a ${what} may be (${max})`);
  return readFileSync(path);
}

function target(values: Map<string, string>): { url: string; key: string } {
  const url = values.get('url');
  const key = values.get('key');
  if (url === undefined) throw new CliError('missing --url <base> of the running system', EXIT_USAGE);
  if (key === undefined) throw new CliError('missing --key <admin key>', EXIT_USAGE);
  return { url, key };
}

async function post(io: CommandIo, url: string, key: string, path: string, body: unknown): Promise<number> {
  let res: Response;
  try {
    res = await fetch(new URL(path, url), {
      method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body),
    });
  } catch (e) {
    throw new CliError(`${url}: ${(e as Error).message}`);
  }
  const json = await res.json().catch(() => null) as ({ error?: { code: string; message: string } } & Record<string, unknown>) | null;
  if (!res.ok) throw new CliError(`${res.status} ${json?.error?.code ?? 'error'}: ${json?.error?.message ?? 'no message'}`);
  io.out(JSON.stringify({ event: 'service_command', ...json }));
  return 0;
}

function moduleAndSignature(path: string, values: Map<string, string>): { module: string; signature: string } {
  const module = readBounded(path, MODULE_BYTES_MAX, 'module');
  const sigPath = values.get('signature') ?? `${path}.sig`;
  const signature = readBounded(sigPath, SIGNATURE_BYTES_MAX, 'module signature');
  return { module: module.toString('base64'), signature: signature.toString('base64') };
}

export const load = {
  USAGE: LOAD_USAGE,
  async main(argv: string[], io: CommandIo = processIo): Promise<number> {
    const args = parseArgs(argv, {
      values: ['as', 'caps', 'memory-pages-max', 'config', 'signature', 'url', 'key'],
      positionals: { min: 1, max: 1, names: ['<module.wasm>'] },
    });
    if (args.help) { io.out(LOAD_USAGE); return 0; }
    const name = args.values.get('as');
    if (name === undefined) throw new CliError('missing --as <name>', EXIT_USAGE);
    const caps = (args.values.get('caps') ?? '').split(',').map((c) => c.trim()).filter((c) => c !== '');
    for (const c of caps) {
      if (LOADABLE_CAPS[c] === undefined) throw new CliError(`--caps: "${c}" cannot be given to a loaded service (allowed: ${Object.keys(LOADABLE_CAPS).join(', ')})`, EXIT_USAGE);
    }
    const body: Record<string, unknown> = { name, ...moduleAndSignature(args.positionals[0], args.values), caps };
    const pages = args.values.get('memory-pages-max');
    if (pages !== undefined) {
      if (!/^[1-9][0-9]{0,4}$/.test(pages) || Number(pages) > 65536) throw new CliError('--memory-pages-max wants 1 to 65536', EXIT_USAGE);
      body.memory_pages_max = Number(pages);
    }
    const config = args.values.get('config');
    if (config !== undefined) {
      let parsed: unknown;
      try { parsed = JSON.parse(config); } catch (e) { throw new CliError(`--config: not JSON: ${(e as Error).message}`, EXIT_USAGE); }
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new CliError('--config must be a JSON object', EXIT_USAGE);
      body.config = parsed;
    }
    const { url, key } = target(args.values);
    return post(io, url, key, '/v1/system/services', body);
  },
};

export const upgrade = {
  USAGE: UPGRADE_USAGE,
  async main(argv: string[], io: CommandIo = processIo): Promise<number> {
    const args = parseArgs(argv, { values: ['signature', 'url', 'key'], positionals: { min: 2, max: 2, names: ['<name>', '<module.wasm>'] } });
    if (args.help) { io.out(UPGRADE_USAGE); return 0; }
    const [name, path] = args.positionals;
    const body = { name, ...moduleAndSignature(path, args.values) };
    const { url, key } = target(args.values);
    return post(io, url, key, '/v1/system/services/upgrade', body);
  },
};

export const unload = {
  USAGE: UNLOAD_USAGE,
  async main(argv: string[], io: CommandIo = processIo): Promise<number> {
    const args = parseArgs(argv, { values: ['url', 'key'], positionals: { min: 1, max: 1, names: ['<name>'] } });
    if (args.help) { io.out(UNLOAD_USAGE); return 0; }
    const { url, key } = target(args.values);
    return post(io, url, key, '/v1/system/services/unload', { name: args.positionals[0] });
  },
};
