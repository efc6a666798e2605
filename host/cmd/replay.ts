// host/cmd/replay.ts: `qenex replay` — rebuild state from a data directory's
// command log alone (read-only: nothing is written or cut) and print the
// state hash. On a log written by `qenex boot`, the hash equals the one the
// running system reported at the same point.

import { join } from 'node:path';
import { parseArgs, CliError, EXIT_USAGE, asCliError, processIo, type CommandIo } from './args.ts';
import { parseImage, verifyImage, readImageFile, ImageError } from '../image.ts';
import { loadPublicKeys, KeyError } from '../base/keys.ts';
import { Machine, BootError, IMAGE_FILE } from '../machine.ts';
import { BlockBackendError } from '../devices/block-backend.ts';
import { DataKeyError } from '../datakey.ts';

export const USAGE = `usage: qenex replay --data <dir> [--trust <signing.pub>] [--backend auto|native|pure] [--no-snapshot]
                    [--archive <dir>]

Replays the command log in --data with the image stored beside it and prints
one JSON line with "event":"replay", the state_hash and the entries applied.
Read-only: a torn tail is reported, not cut. With --trust the stored image's
signatures (ECDSA P-384 and ML-DSA-65) are checked too. The replay starts
from the newest valid snapshot in <dir>/snapshots ("snapshot_entries" says
which; 0 = none); --no-snapshot replays the whole log instead. Log segments
moved out by \`qenex log archive\` are read from --archive (default
<dir>/archive).
`;

export async function main(argv: string[], io: CommandIo = processIo): Promise<number> {
  const args = parseArgs(argv, { values: ['data', 'trust', 'backend', 'archive'], booleans: ['no-snapshot'], positionals: { min: 0, max: 0 } });
  if (args.help) { io.out(USAGE); return 0; }
  const dataDir = args.values.get('data');
  if (dataDir === undefined) throw new CliError('missing --data <dir>', EXIT_USAGE);
  const backend = args.values.get('backend') ?? 'auto';
  if (backend !== 'auto' && backend !== 'native' && backend !== 'pure') throw new CliError(`--backend must be auto, native or pure`, EXIT_USAGE);
  const started = performance.now();
  let machine: Machine;
  try {
    const bytes = readImageFile(join(dataDir, IMAGE_FILE));
    const image = parseImage(bytes);
    if (args.values.has('trust')) verifyImage(image, loadPublicKeys(args.values.get('trust')!));
    machine = await Machine.boot({
      image, imageBytes: bytes, dataDir, mode: 'replay', backend, snapshots: !args.booleans.has('no-snapshot'), archiveDir: args.values.get('archive'),
      onLine: (line) => io.out(line + '\n'),
      notice: (line) => (io.err ?? processIo.err!)(line + '\n'),
    });
  } catch (e) {
    throw asCliError(e, [ImageError, KeyError, BootError, BlockBackendError, DataKeyError]);
  }
  const halt = await machine.stop();
  if (halt.message !== null) throw new CliError(halt.message);
  io.out(JSON.stringify({
    event: 'replay', state_hash: machine.stateHash(), entries: machine.entriesApplied(), snapshot_entries: machine.restoredSnapshot?.entries ?? 0,
    replay_ms: Number((performance.now() - started).toFixed(3)),
  }) + '\n');
  return 0;
}
