// host/cmd/migrate.ts: `qenex migrate` — brings a data directory written by
// another QENEX to this build's formats, or says why it cannot.
//
// What is versioned: the command log (the format in every entry's magic,
// hal/log.ts LOG_FORMAT_VERSION), snapshots (SNAPSHOT_VERSION in their
// header; a snapshot of another version is skipped and rebuilt from the
// log, so it never needs migrating) and audit checkpoints (the format in
// their signature block, host/audit/checkpoint.ts). A boot refuses a log of
// another format (LogFormatError) and names this command.
//
// MIGRATIONS holds one step per format this build can read from: a step
// rewrites a data directory of format n into format n + 1. There is none
// yet: every QENEX so far wrote log format 1. The storage and cluster work
// will add the first.

import { join } from 'node:path';
import { parseArgs, CliError, EXIT_USAGE, asCliError, processIo, type CommandIo } from './args.ts';
import { parseImage, readImageFile, ImageError } from '../image.ts';
import { Machine, BootError, LogFormatError, IMAGE_FILE } from '../machine.ts';
import { BlockBackendError } from '../devices/block-backend.ts';
import { DataKeyError } from '../datakey.ts';
import { LOG_FORMAT_VERSION } from '../../hal/log.ts';

export const USAGE = `usage: qenex migrate --data <dir>

Checks the formats of the data directory <dir> (the command log, and what
is kept beside it) against this build's. Prints one JSON line: "migrate"
with "log_format" when there is nothing to do, or fails with the format
found and why it cannot be migrated (a newer format: use the QENEX that
wrote it; an older one this build has no step for: migrate with a release
in between). Read-only unless a migration step runs.
`;

/** Steps from log format n (the key) to n + 1. */
export const MIGRATIONS: ReadonlyMap<number, (dataDir: string) => Promise<void>> = new Map();

export async function main(argv: string[], io: CommandIo = processIo): Promise<number> {
  const args = parseArgs(argv, { values: ['data'], booleans: [], positionals: { min: 0, max: 0 } });
  if (args.help) { io.out(USAGE); return 0; }
  const dataDir = args.values.get('data');
  if (dataDir === undefined) throw new CliError('missing --data <dir>', EXIT_USAGE);
  let found: number;
  try {
    const bytes = readImageFile(join(dataDir, IMAGE_FILE));
    const machine = await Machine.boot({ image: parseImage(bytes), imageBytes: bytes, dataDir, mode: 'replay', snapshots: false });
    await machine.stop();
    io.out(JSON.stringify({ event: 'migrate', data: dataDir, log_format: LOG_FORMAT_VERSION, migrated: false, message: 'the data directory is in this build\'s formats: nothing to migrate' }) + '\n');
    return 0;
  } catch (e) {
    if (!(e instanceof LogFormatError)) throw asCliError(e, [ImageError, BootError, BlockBackendError, DataKeyError]);
    found = e.found;
  }
  if (found > LOG_FORMAT_VERSION) {
    throw new CliError(`${dataDir}: log format ${found} is newer than this QENEX (log format ${LOG_FORMAT_VERSION}); run the QENEX release that wrote it`);
  }
  for (let v = found; v < LOG_FORMAT_VERSION; v++) {
    const step = MIGRATIONS.get(v);
    if (step === undefined) throw new CliError(`${dataDir}: log format ${found}: this QENEX has no migration from log format ${v}; migrate with a release that has it first`);
    await step(dataDir);
  }
  io.out(JSON.stringify({ event: 'migrate', data: dataDir, log_format: LOG_FORMAT_VERSION, migrated: true, from: found }) + '\n');
  return 0;
}
