// host/cmd/console.ts: the two ways an operator's command reaches the
// gateway service (`qenex keys`, `qenex lists`):
//   --data <dir>   the system is stopped: boot the data directory's image in
//                  this process (live, no listener), submit the command's
//                  requests as console inputs (AUTH_CONSOLE; the gateway lets
//                  the console use key and list-load routes only), each
//                  durable and answered before the next, then stop cleanly. A
//                  running host holds the log's lock, so this fails with a
//                  clear message then.
//   --url <base> --key <admin key>
//                  the system is running: the same command through its routes.

import { join } from 'node:path';
import { CliError, EXIT_USAGE, asCliError, processIo, type CommandIo } from './args.ts';
import { parseImage, readImageFile, verifyImage, ImageError } from '../image.ts';
import { loadPublicKeys, KeyError } from '../base/keys.ts';
import { Machine, BootError, IMAGE_FILE } from '../machine.ts';
import { BlockBackendError } from '../devices/block-backend.ts';
import { DataKeyError } from '../datakey.ts';
import * as abi from '../../hal/abi.ts';
import * as gw from '../../services/gateway/protocol.ts';
import { GATEWAY_SERVICE, GATEWAY_ERROR_CODES, gatewayRequest, parseGatewayReply } from '../gateway/gateway-wire.ts';

/** One request through the running system's routes; its JSON answer, or a CliError with the route's error. */
export async function viaHttp(base: string, key: string, method: string, path: string, body?: unknown): Promise<unknown> {
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

/** Sends one console request to the gateway and returns its reply body (a CliError when it was refused). */
export type ConsoleSend = (route: number, body: Buffer) => Promise<Buffer>;

/** Boots the data directory, runs `commands` with a console sender, stops. */
export async function viaConsole<T>(io: CommandIo, dataDir: string, values: Map<string, string>, commands: (send: ConsoleSend) => Promise<T>): Promise<T> {
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
  const send: ConsoleSend = async (route, body) => {
    const reply = await machine.net!.inject(GATEWAY_SERVICE, gatewayRequest(route, gw.AUTH_CONSOLE, null, Buffer.alloc(gw.GW_SOURCE_BYTES), body));
    if (reply.status !== abi.FRAME_OK) throw new CliError(`the kernel refused the command (frame status ${reply.status}): ${reply.payload.toString('utf8')}`);
    const r = parseGatewayReply(reply.payload);
    if (r === null) throw new CliError('the gateway answered without its header');
    if (r.status !== 200) throw new CliError(`${GATEWAY_ERROR_CODES[r.error] ?? 'error'}: ${r.body.toString('latin1')}`);
    return r.body;
  };
  try {
    return await commands(send);
  } finally {
    const halt = await machine.stop();
    if (halt.message !== null) errors.push(halt.message);
    if (errors.length > 0) (io.err ?? processIo.err!)(errors.join('\n') + '\n');
  }
}
