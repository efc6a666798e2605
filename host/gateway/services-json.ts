// host/gateway/services-json.ts: the JSON of the admin routes that load,
// upgrade and unload services (issue 4), and the service command they
// become (hal/abi.ts "live service load"; kernel/liveload.ts decides).
//
//   POST /v1/system/services          {"name", "module", "signature", "caps"?, "memory_pages_max"?, "config"?}
//   POST /v1/system/services/upgrade  {"name", "module", "signature"}
//   POST /v1/system/services/unload   {"name"}
//
// module and signature are standard base64 (the .wasm file and the .sig
// file `qenex sign <module.wasm>` writes); caps names from LOADABLE_CAPS;
// config is a JSON object, given to the service's qx_init as text.
// The answer is {"service", "index", "version", "result", "message"}; an
// error is {"error":{"code","message"}} with the code of SERVICE_RESULT_CODES.

import * as abi from '../../hal/abi.ts';
import * as gw from '../../services/gateway/protocol.ts';
import { JsonNumber, isJsonObject, type JsonValue } from './json.ts';
import { LedgerJsonError } from './ledger-json.ts';

export type ServiceRoute = 'services_load' | 'services_upgrade' | 'services_unload';

/** Capability names a loaded service may ask for, with their bits (hal/services.ts CAP_*). */
export const LOADABLE_CAPS: Readonly<Record<string, number>> = {
  net: abi.CAP_NET, log: abi.CAP_LOG, time: abi.CAP_TIME, random: abi.CAP_RANDOM, timer: abi.CAP_TIMER,
};

/** Stable codes of the kernel's SVC_* results. */
export const SERVICE_RESULT_CODES: Readonly<Record<number, string>> = {
  [abi.SVC_OK]: 'ok', [abi.SVC_E_MALFORMED]: 'invalid_command', [abi.SVC_E_EXISTS]: 'service_exists',
  [abi.SVC_E_NO_SUCH_SERVICE]: 'no_such_service', [abi.SVC_E_TABLE_FULL]: 'service_table_full',
  [abi.SVC_E_CAPS_DENIED]: 'capability_denied', [abi.SVC_E_SIGNATURE]: 'signature_invalid',
  [abi.SVC_E_MODULE]: 'module_refused', [abi.SVC_E_INIT]: 'init_failed', [abi.SVC_E_MIGRATE]: 'upgrade_rolled_back',
  [abi.SVC_E_PROTECTED]: 'service_protected', [abi.SVC_E_BUSY]: 'busy',
};

/** Encodes a service command (the gateway body of the admin routes; also `qenex load` tests). */
export function encodeServiceCommand(c: {
  op: number; name: string; caps?: number; memoryPagesMax?: number;
  module?: Uint8Array; signature?: Uint8Array; config?: Uint8Array;
}): Buffer {
  const name = Buffer.from(c.name, 'utf8');
  if (name.length === 0 || name.length > abi.SERVICE_NAME_BYTES_MAX) throw new RangeError(`service name must be 1 to ${abi.SERVICE_NAME_BYTES_MAX} bytes`);
  const module = c.module ?? new Uint8Array(0);
  const signature = c.signature ?? new Uint8Array(0);
  const config = c.config ?? new Uint8Array(0);
  const out = Buffer.alloc(abi.SVC_CMD_HEADER_BYTES + module.length + signature.length + config.length);
  out[0] = c.op;
  out[1] = name.length;
  out.writeUInt32LE(c.caps ?? 0, 4);
  out.writeUInt32LE(c.memoryPagesMax ?? 0, 8);
  out.writeUInt32LE(module.length, 12);
  out.writeUInt32LE(signature.length, 16);
  out.writeUInt32LE(config.length, 20);
  name.copy(out, 24);
  let at = abi.SVC_CMD_HEADER_BYTES;
  out.set(module, at); at += module.length;
  out.set(signature, at); at += signature.length;
  out.set(config, at);
  return out;
}

const NAME = /^[a-z][a-z0-9_-]{0,31}$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function bad(message: string): never {
  throw new LedgerJsonError('invalid_field', message);
}

function base64Field(body: Map<string, JsonValue>, field: string): Buffer {
  const v = body.get(field);
  if (typeof v !== 'string' || v.length === 0 || !BASE64.test(v)) bad(`${field}: must be a non-empty standard base64 string`);
  return Buffer.from(v, 'base64');
}

/** JSON text of a parsed value (numbers keep their source text). */
function jsonText(v: JsonValue): string {
  if (v === null || typeof v === 'boolean') return String(v);
  if (typeof v === 'string') return JSON.stringify(v);
  if (v instanceof JsonNumber) return v.text;
  if (Array.isArray(v)) return `[${v.map(jsonText).join(',')}]`;
  return `{${[...v].map(([k, x]) => `${JSON.stringify(k)}:${jsonText(x)}`).join(',')}}`;
}

/** The service command for an admin route's JSON body; throws LedgerJsonError (400). */
export function serviceCommandFromJson(route: ServiceRoute, body: JsonValue): Buffer {
  if (!isJsonObject(body)) bad('body: must be an object');
  const allowed = route === 'services_load' ? ['name', 'module', 'signature', 'caps', 'memory_pages_max', 'config']
    : route === 'services_upgrade' ? ['name', 'module', 'signature'] : ['name'];
  for (const k of body.keys()) if (!allowed.includes(k)) bad(`${k}: unknown field (allowed: ${allowed.join(', ')})`);
  const name = body.get('name');
  if (typeof name !== 'string' || !NAME.test(name)) bad('name: 1 to 32 of a-z, 0-9, - and _, starting with a letter');
  if (route === 'services_unload') return encodeServiceCommand({ op: abi.SVC_OP_UNLOAD, name });
  const module = base64Field(body, 'module');
  const signature = base64Field(body, 'signature');
  if (route === 'services_upgrade') return fits(encodeServiceCommand({ op: abi.SVC_OP_UPGRADE, name, module, signature }));
  let caps = 0;
  const capsValue = body.get('caps') ?? [];
  if (!Array.isArray(capsValue)) bad('caps: must be an array of capability names');
  capsValue.forEach((c, i) => {
    if (typeof c !== 'string') bad(`caps[${i}]: must be a string`);
    const bit = LOADABLE_CAPS[c];
    // Any other name (system, send:<peer>, emit, ...) is the kernel's to refuse: capability denied.
    caps |= bit ?? abi.CAP_SYSTEM;
  });
  let pages = 0;
  const pagesValue = body.get('memory_pages_max');
  if (pagesValue !== undefined) {
    if (!(pagesValue instanceof JsonNumber) || !/^[1-9][0-9]{0,4}$/.test(pagesValue.text) || Number(pagesValue.text) > 65536) {
      bad('memory_pages_max: an integer from 1 to 65536 (64 KiB pages)');
    }
    pages = Number(pagesValue.text);
  }
  const configValue = body.get('config');
  if (configValue !== undefined && !isJsonObject(configValue)) bad('config: must be an object');
  const config = configValue === undefined ? undefined : Buffer.from(jsonText(configValue), 'utf8');
  return fits(encodeServiceCommand({ op: abi.SVC_OP_LOAD, name, caps, memoryPagesMax: pages, module, signature, config }));
}

// The command travels as one frame to the gateway (its request header in
// front) and one logged message; a larger one could never be taken. The
// manifest's message_bytes_max may be lower still: the kernel answers that
// with FRAME_E_TOO_LARGE (413).
export const SERVICE_COMMAND_BYTES_MAX = abi.FRAME_BODY_BYTES_MAX - abi.FRAME_REQUEST_HEADER_BYTES - 'gateway'.length - gw.GW_REQUEST_HEADER_BYTES;

function fits(command: Buffer): Buffer {
  if (command.length > SERVICE_COMMAND_BYTES_MAX) {
    throw new LedgerJsonError('module_too_large', `module, signature and config take ${command.length} bytes; one service command holds at most ${SERVICE_COMMAND_BYTES_MAX}`);
  }
  return command;
}

export interface ServiceReply { result: number; code: string; index: number | null; version: number; message: string }

/** The kernel's reply to a service command (the gateway relays it as its body). */
export function decodeServiceReply(body: Buffer): ServiceReply | null {
  if (body.length < abi.SVC_REPLY_HEADER_BYTES) return null;
  const result = body.readUInt32LE(0);
  const index = body.readUInt32LE(4);
  return {
    result, code: SERVICE_RESULT_CODES[result] ?? 'service_command_failed', index: index === 0xffffffff ? null : index,
    version: body.readUInt32LE(8), message: body.subarray(abi.SVC_REPLY_HEADER_BYTES).toString('utf8'),
  };
}
