// test/bench/ledger/children.ts: long-running child processes of the ledger
// benchmark (the qenex server, the PostgreSQL server, pgbench) that are
// always ended, whatever happens to the benchmark.
//
// test/bench/support.ts tracks only the `node` children it spawns itself;
// these run other programs, as another user, or must be read while they run.
// Every child spawned here is registered: `stop()` ends one cleanly (a
// signal, then SIGKILL after a grace period) and a process 'exit' hook kills
// whatever is still running, so a benchmark that throws, or a run stopped
// with SIGINT/SIGTERM (the runner exits then), leaves nothing behind.

import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

// What a child keeps of its output for error messages: the end matters most.
const OUTPUT_KEPT_BYTES = 64 * 1024;

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of live) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

export class Child {
  stdout = '';
  stderr = '';
  /** Set when the program could not be started (ENOENT, EACCES). */
  spawnError: Error | null = null;
  readonly exited: Promise<number | null>;
  private readonly lineListeners: ((line: string) => void)[] = [];
  private partial = '';

  constructor(readonly name: string, readonly proc: ChildProcess) {
    live.add(proc);
    this.exited = new Promise((resolve) => {
      proc.once('close', (code) => { live.delete(proc); resolve(code); });
      proc.once('error', (e) => { this.spawnError ??= e; live.delete(proc); resolve(null); });
    });
    proc.stdout?.on('data', (d: Buffer) => { this.stdout = keep(this.stdout + d.toString()); this.lines(d.toString()); });
    // Drained always: a child blocked on a full stderr pipe would stall the run.
    proc.stderr?.on('data', (d: Buffer) => { this.stderr = keep(this.stderr + d.toString()); });
  }

  get running(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }

  /** Calls `f` with every complete stdout line from now on. */
  onLine(f: (line: string) => void): void {
    this.lineListeners.push(f);
  }

  private lines(text: string): void {
    const parts = (this.partial + text).split('\n');
    this.partial = parts.pop() ?? '';
    for (const line of parts) for (const f of this.lineListeners) f(line);
  }

  /** Sends `signal`; SIGKILL if the child has not exited after `graceMs`. Resolves with the exit code. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 10_000): Promise<number | null> {
    if (!this.running) return this.proc.exitCode;
    this.proc.kill(signal);
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), graceMs);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }

  /** Waits for exit; SIGKILL and an error after `timeoutMs`. */
  async finish(timeoutMs: number): Promise<number | null> {
    let timedOut = false;
    const timer = setTimeout(() => { timedOut = true; this.proc.kill('SIGKILL'); }, timeoutMs);
    const code = await this.exited;
    clearTimeout(timer);
    if (timedOut) throw new Error(`${this.name}: no exit within ${timeoutMs} ms; stderr: ${this.stderr.slice(-2000)}`);
    return code;
  }
}

function keep(text: string): string {
  return text.length > OUTPUT_KEPT_BYTES ? text.slice(-OUTPUT_KEPT_BYTES) : text;
}

export function start(name: string, command: string, args: string[], options: SpawnOptions = {}): Child {
  return new Child(name, spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options }));
}

/** Runs a command to its end; rejects on a spawn error or after `timeoutMs`. */
export async function run(name: string, command: string, args: string[], timeoutMs: number, options: SpawnOptions = {}):
  Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = start(name, command, args, options);
  const code = await child.finish(timeoutMs);
  if (child.spawnError !== null) throw new Error(`${name}: ${command}: ${child.spawnError.message}`);
  return { code, stdout: child.stdout, stderr: child.stderr };
}
