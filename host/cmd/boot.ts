// host/cmd/boot.ts: `qenex boot` — verify an image, boot it on a data
// directory, report readiness with the state hash, and serve until a signal.

import { parseArgs, CliError, EXIT_USAGE, asCliError, processIo, type CommandIo } from './args.ts';
import { openImage, readImageFile, ImageError } from '../image.ts';
import { loadPublicKey, KeyError } from '../keys.ts';
import { Machine, BootError } from '../machine.ts';
import { BlockBackendError, type BackendChoice } from '../devices/block-backend.ts';

export const USAGE = `usage: qenex boot <file.qxi> --data <dir> --trust <signing.pub> [--listen host:port] [--once] [--backend auto|native|pure]

Verifies the image (every section digest and the signature against --trust),
replays the command log in --data, and prints one JSON line with
"event":"ready", the state_hash and boot_ms. With --once it stops cleanly
after that line; otherwise it serves (on --listen) until SIGINT or SIGTERM,
then flushes, prints "event":"stopped" and exits 0.
`;

export function parseListen(value: string): { host: string; port: number } {
  const m = /^(.*):(\d{1,5})$/.exec(value);
  const port = m === null ? NaN : Number(m[2]);
  if (m === null || m[1] === '' || !(port >= 0 && port <= 65535)) {
    throw new CliError(`--listen wants host:port (e.g. 127.0.0.1:7000), got "${value}"`, EXIT_USAGE);
  }
  return { host: m[1].replace(/^\[(.*)\]$/, '$1'), port };
}

function backendChoice(value: string | undefined): BackendChoice {
  if (value === undefined) return 'auto';
  if (value === 'auto' || value === 'native' || value === 'pure') return value;
  throw new CliError(`--backend must be auto, native or pure, got "${value}"`, EXIT_USAGE);
}

export async function main(argv: string[], io: CommandIo = processIo): Promise<number> {
  const args = parseArgs(argv, {
    values: ['data', 'trust', 'listen', 'backend'],
    booleans: ['once'],
    positionals: { min: 1, max: 1, names: ['file.qxi'] },
  });
  if (args.help) { io.out(USAGE); return 0; }
  const dataDir = args.values.get('data');
  const trustPath = args.values.get('trust');
  if (dataDir === undefined) throw new CliError('missing --data <dir>', EXIT_USAGE);
  if (trustPath === undefined) throw new CliError('missing --trust <signing.pub>: images are verified before they boot', EXIT_USAGE);
  const listen = args.values.has('listen') ? parseListen(args.values.get('listen')!) : null;
  const print = (o: object) => io.out(JSON.stringify(o) + '\n');
  let machine: Machine;
  try {
    const bytes = readImageFile(args.positionals[0]);
    const image = openImage(bytes, [loadPublicKey(trustPath)]);
    machine = await Machine.boot({
      image, imageBytes: bytes, dataDir, mode: 'live', backend: backendChoice(args.values.get('backend')),
      onLine: (line) => io.out(line + '\n'),
      notice: (line) => (io.err ?? processIo.err!)(line + '\n'),
    });
  } catch (e) {
    throw asCliError(e, [ImageError, KeyError, BootError, BlockBackendError]);
  }
  let address: string | null = null;
  if (listen !== null && !args.booleans.has('once')) {
    try {
      const a = await machine.listen(listen.host, listen.port);
      address = `${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
    } catch (e) {
      await machine.stop();
      throw new CliError(`cannot listen on ${listen.host}:${listen.port}: ${(e as Error).message}`);
    }
  }
  print({ event: 'ready', state_hash: machine.stateHash(), boot_ms: Number(machine.bootMs.toFixed(3)), entries: machine.entriesApplied(), listen: address });
  if (args.booleans.has('once')) return finish(machine, print);
  return new Promise<number>((resolve) => {
    let stopping = false;
    const onSignal = (signal: string) => {
      if (stopping) return;
      stopping = true;
      print({ event: 'stopping', signal });
      void finish(machine, print).then(resolve);
    };
    process.once('SIGINT', () => onSignal('SIGINT'));
    process.once('SIGTERM', () => onSignal('SIGTERM'));
    void machine.whenHalted().then((h) => {
      if (!stopping && h.message !== null) {
        stopping = true;
        (io.err ?? processIo.err!)(`qenex: ${h.message}\n`);
        void machine.stop().then(() => resolve(1));
      }
    });
  });
}

async function finish(machine: Machine, print: (o: object) => void): Promise<number> {
  const halt = await machine.stop();
  if (halt.message !== null) throw new CliError(halt.message);
  print({ event: 'stopped', state_hash: machine.stateHash(), entries: machine.entriesApplied() });
  return 0;
}
