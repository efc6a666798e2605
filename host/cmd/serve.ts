// host/cmd/serve.ts: what `qenex boot` does once its machine is ready, for
// one machine and for a cluster node alike: listen, print the ready line,
// serve until a signal or a halt, stop cleanly.

import { CliError, processIo, type CommandIo } from './args.ts';
import type { Machine } from '../machine.ts';
import type { TlsListen } from '../devices/tls.ts';
import type { FixConfig } from '../fix/config.ts';
import type { LineWriter } from '../base/lines.ts';

/** What `qenex boot` serves once its machine is ready, and where it reports. */
export interface Serving {
  listen: { host: string; port: number } | null;
  tlsListen: TlsListen | null;
  fix: FixConfig | null;
  once: boolean;
  print: (o: object) => void;
  lines: LineWriter | null;
  io: CommandIo;
}

/**
 * Listens, prints the ready line (with `extra`) and serves until a signal
 * (code 0 after a clean stop), a halt (code 1), or `ended` (a cluster node
 * deposed: the machine is abandoned and the caller boots again).
 */
export async function serve(machine: Machine, s: Serving, ended: Promise<string> | null, extra: object = {}): Promise<{ code: number; ended?: string }> {
  let address: string | null = null;
  if (s.listen !== null && !s.once) {
    try {
      const a = await machine.listen(s.listen.host, s.listen.port, s.tlsListen ?? undefined);
      address = `${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
    } catch (e) {
      await machine.stop();
      throw new CliError(`cannot listen on ${s.listen.host}:${s.listen.port}: ${(e as Error).message}`);
    }
  }
  let fixAddress: string | null = null;
  if (s.fix !== null && !s.once) {
    try {
      const a = await machine.fixListen(s.fix);
      fixAddress = `${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
    } catch (e) {
      await machine.stop();
      throw new CliError(`cannot listen for FIX on ${s.fix.listen.host}:${s.fix.listen.port}: ${(e as Error).message}`);
    }
  }
  s.print({
    event: 'ready', state_hash: machine.stateHash(), boot_ms: Number(machine.bootMs.toFixed(3)), entries: machine.entriesApplied(), listen: address,
    ...(s.tlsListen !== null && address !== null ? { tls: s.tlsListen.mutual ? 'mutual' : 'server' } : {}),
    ...(fixAddress !== null ? { fix_listen: fixAddress } : {}), ...extra,
  });
  if (s.once) return { code: await finish(machine, s.print, s.lines) };
  return new Promise((resolve) => {
    let stopping = false;
    const onSignal = (signal: string) => {
      if (stopping) return;
      stopping = true;
      s.print({ event: 'stopping', signal });
      void finish(machine, s.print, s.lines).then((code) => resolve({ code }));
    };
    process.once('SIGINT', () => onSignal('SIGINT'));
    process.once('SIGTERM', () => onSignal('SIGTERM'));
    void ended?.then((why) => {
      if (stopping) return;
      stopping = true;
      machine.abandon();
      resolve({ code: 1, ended: why });
    });
    void machine.whenHalted().then((h) => {
      if (!stopping && h.message !== null) {
        stopping = true;
        (s.io.err ?? processIo.err!)(`qenex: ${h.message}\n`);
        void machine.stop().then(() => resolve({ code: 1 }));
      }
    });
  });
}

// What was printed reaches the reader before exit if it reads within this long.
const OUTPUT_DRAIN_MS = 2000;

async function finish(machine: Machine, print: (o: object) => void, lines: LineWriter | null): Promise<number> {
  const halt = await machine.stop();
  if (halt.message !== null) { await lines?.drained(OUTPUT_DRAIN_MS); throw new CliError(halt.message); }
  print({ event: 'stopped', state_hash: machine.stateHash(), entries: machine.entriesApplied() });
  await lines?.drained(OUTPUT_DRAIN_MS);
  return 0;
}

