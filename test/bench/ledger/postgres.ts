// test/bench/ledger/postgres.ts: the same double-entry workload in
// PostgreSQL 15, durable as QENEX is (fsync on, synchronous_commit on: a
// commit returns after its WAL is flushed), driven by pgbench on loopback.
//
// A throw-away cluster: initdb into a benchmark temp dir, the server started
// as the `postgres` user (it refuses to run as root) on 127.0.0.1 and a free
// port, fast shutdown at the end and SIGKILL if that hangs (./children.ts
// kills it on any exit too); the runner removes the dir.
//
// Schema: accounts with numeric balance columns and the flag
// debits_must_not_exceed_credits, enforced twice: the transfer function
// checks it (a failing transfer returns exceeds_credits, 54, and changes
// nothing, as in TigerBeetle) and a CHECK constraint backs it up. A transfer
// is one call of a PL/pgSQL function, so it costs one round trip: it locks
// both accounts in id order (no deadlocks), checks that they exist, differ
// and share the transfer's ledger, checks the balance rule, updates both
// balances and inserts the transfer row. Variants:
//   single     one transfer per transaction (autocommit);
//   batch      100 per transaction: BEGIN, lock all 200 accounts in id order
//              (concurrent batches would otherwise deadlock), 100 calls, COMMIT;
//   pipelined  the batch transaction sent in pgbench's pipeline mode, so the
//              102 statements share round trips, as QENEX requests do.
// pgbench draws the accounts with random() in the workload's two patterns
// (./workload.ts), one transaction script per pattern and variant.

import { chownSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { start, run, type Child } from './children.ts';
import {
  ACCOUNTS, AMOUNT_MAX_MINOR, CODE, FUNDING_ACCOUNT_ID, HOT_ACCOUNTS, HOT_PERCENT, LEDGER, OPENING_MINOR, type Pattern,
} from './workload.ts';

export type Variant = 'single' | 'batch' | 'pipelined';
export const VARIANTS: readonly Variant[] = ['single', 'batch', 'pipelined'];
export const BATCH_TRANSFERS = 100;

// Clients per variant, chosen on this 2-core machine where PostgreSQL and
// pgbench share the cores: one-transfer transactions scale with clients up
// to ~16 (more commits share each WAL flush) and level off after; batches
// lock 200 rows each and level off at ~8 (more only wait on each other).
export const CLIENTS: Record<Variant, number> = { single: 16, batch: 8, pipelined: 8 };
const PGBENCH_THREADS = 2;
const STARTUP_MS_MAX = 30_000;
const SETUP_MS_MAX = 60_000;
// A fresh install only: bounded so a stuck mirror cannot hold the run for long.
const APT_MS_MAX = 120_000;
const SERVER_USER = 'postgres';
const DATABASE = 'postgres';
// The Debian layout: /usr/lib/postgresql/<major>/bin; 15 is the version the benchmark names.
const DEBIAN_ROOT = '/usr/lib/postgresql';
const PREFERRED_MAJOR = '15';

export interface PgRun {
  transfers: number;
  elapsedS: number;
  transfersPerS: number;
  failedTransactions: number;
}

/** The bin dir of an installed PostgreSQL (initdb, postgres, pgbench and psql all there), or null. */
export function findBinDir(): string | null {
  if (!existsSync(DEBIAN_ROOT)) return null;
  const majors = readdirSync(DEBIAN_ROOT).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
  const ordered = majors.includes(PREFERRED_MAJOR) ? [PREFERRED_MAJOR, ...majors.filter((v) => v !== PREFERRED_MAJOR)] : majors;
  for (const major of ordered) {
    const bin = join(DEBIAN_ROOT, major, 'bin');
    if (['initdb', 'postgres', 'pgbench', 'psql'].every((tool) => existsSync(join(bin, tool)))) return bin;
  }
  return null;
}

/** Installs Debian's postgresql (we are root on these machines); returns why not, or null. */
export async function install(): Promise<string | null> {
  const apt = (args: string[]) => run('apt-get', 'apt-get', args, APT_MS_MAX, { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } })
    .catch((e: Error) => ({ code: -1, stdout: '', stderr: e.message }));
  const lastLine = (text: string) => text.trim().split('\n').at(-1) ?? '';
  let r = await apt(['install', '-y', 'postgresql']);
  if (r.code === 0 && findBinDir() !== null) return null;
  // The package lists may be missing or old on a fresh machine.
  const update = await apt(['update']);
  if (update.code !== 0) return `apt-get update failed (${update.code}): ${lastLine(update.stderr)}`;
  r = await apt(['install', '-y', 'postgresql']);
  if (r.code === 0 && findBinDir() !== null) return null;
  return `apt-get install -y postgresql failed (${r.code}): ${lastLine(r.stderr)}`;
}

/** uid and gid of `name` from /etc/passwd, or null. */
function userIds(name: string): { uid: number; gid: number } | null {
  for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
    const f = line.split(':');
    if (f[0] === name && f.length >= 4) return { uid: Number(f[2]), gid: Number(f[3]) };
  }
  return null;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

function schemaSql(): string {
  return `
CREATE TABLE accounts (
  id integer PRIMARY KEY,
  ledger integer NOT NULL,
  code integer NOT NULL,
  debits_must_not_exceed_credits boolean NOT NULL,
  debits_posted numeric NOT NULL DEFAULT 0,
  credits_posted numeric NOT NULL DEFAULT 0,
  CHECK (NOT debits_must_not_exceed_credits OR debits_posted <= credits_posted)
);
CREATE TABLE transfers (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  debit_account_id integer NOT NULL,
  credit_account_id integer NOT NULL,
  amount numeric NOT NULL CHECK (amount > 0),
  ledger integer NOT NULL,
  code integer NOT NULL
);
INSERT INTO accounts SELECT g, ${LEDGER}, ${CODE}, true, 0, ${OPENING_MINOR} FROM generate_series(1, ${ACCOUNTS}) g;
INSERT INTO accounts VALUES (${FUNDING_ACCOUNT_ID}, ${LEDGER}, ${CODE}, false, ${OPENING_MINOR * BigInt(ACCOUNTS)}, 0);
CREATE FUNCTION transfer(p_debit integer, p_credit integer, p_amount numeric, p_ledger integer, p_code integer)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
  r accounts%ROWTYPE;
  d accounts%ROWTYPE;
  c accounts%ROWTYPE;
BEGIN
  IF p_debit = p_credit THEN RETURN 12; END IF;
  FOR r IN SELECT * FROM accounts WHERE id IN (p_debit, p_credit) ORDER BY id FOR UPDATE LOOP
    IF r.id = p_debit THEN d := r; ELSE c := r; END IF;
  END LOOP;
  IF d.id IS NULL THEN RETURN 21; END IF;
  IF c.id IS NULL THEN RETURN 22; END IF;
  IF d.ledger <> c.ledger THEN RETURN 23; END IF;
  IF p_ledger <> d.ledger THEN RETURN 24; END IF;
  IF d.debits_must_not_exceed_credits AND d.debits_posted + p_amount > d.credits_posted THEN RETURN 54; END IF;
  UPDATE accounts SET debits_posted = debits_posted + p_amount WHERE id = p_debit;
  UPDATE accounts SET credits_posted = credits_posted + p_amount WHERE id = p_credit;
  INSERT INTO transfers (debit_account_id, credit_account_id, amount, ledger, code)
    VALUES (p_debit, p_credit, p_amount, p_ledger, p_code);
  RETURN 0;
END $$;
VACUUM ANALYZE;
`;
}

/** pgbench meta-commands drawing transfer `n`'s accounts and amount: ./workload.ts fillPairs in pgbench's language. */
function drawLines(pattern: Pattern, n: number): string[] {
  const [d, c, a] = [`d${n}`, `c${n}`, `a${n}`];
  const amount = `\\set ${a} random(1, ${AMOUNT_MAX_MINOR})`;
  if (pattern === 'uniform') {
    return [
      `\\set ${d} random(1, ${ACCOUNTS})`,
      `\\set ${c} random(1, ${ACCOUNTS - 1})`,
      `\\set ${c} CASE WHEN :${c} >= :${d} THEN :${c} + 1 ELSE :${c} END`,
      amount,
    ];
  }
  const hot = `random(1, 100) <= ${HOT_PERCENT}`;
  return [
    `\\set ${d} CASE WHEN ${hot} THEN random(1, ${HOT_ACCOUNTS}) ELSE random(${HOT_ACCOUNTS + 1}, ${ACCOUNTS}) END`,
    `\\set lo${n} CASE WHEN ${hot} THEN 1 ELSE ${HOT_ACCOUNTS + 1} END`,
    `\\set hi${n} CASE WHEN :lo${n} = 1 THEN ${HOT_ACCOUNTS} ELSE ${ACCOUNTS} END`,
    `\\set same${n} CASE WHEN :${d} >= :lo${n} AND :${d} <= :hi${n} THEN 1 ELSE 0 END`,
    `\\set ${c} random(:lo${n}, :hi${n} - :same${n})`,
    `\\set ${c} CASE WHEN :same${n} = 1 AND :${c} >= :${d} THEN :${c} + 1 ELSE :${c} END`,
    amount,
  ];
}

function call(n: number): string {
  return `SELECT transfer(:d${n}, :c${n}, :a${n}, ${LEDGER}, ${CODE});`;
}

/** One pgbench transaction script. */
export function script(pattern: Pattern, variant: Variant): string {
  if (variant === 'single') return [...drawLines(pattern, 1), call(1)].join('\n') + '\n';
  const ns = Array.from({ length: BATCH_TRANSFERS }, (_, i) => i + 1);
  const ids = ns.map((n) => `:d${n}, :c${n}`).join(', ');
  const body = [
    'BEGIN;',
    `SELECT count(*) FROM (SELECT id FROM accounts WHERE id IN (${ids}) ORDER BY id FOR UPDATE) AS locked;`,
    ...ns.map(call),
    'COMMIT;',
  ];
  const sql = variant === 'pipelined' ? ['\\startpipeline', ...body, '\\endpipeline'] : body;
  return [...ns.flatMap((n) => drawLines(pattern, n)), ...sql].join('\n') + '\n';
}

export class Cluster {
  private constructor(readonly bin: string, readonly dir: string, readonly port: number, readonly server: Child) {}

  /** initdb into `dir`/data, then the server on 127.0.0.1 and a free port; resolves when it accepts connections. */
  static async start(bin: string, dir: string): Promise<Cluster> {
    const ids = process.getuid?.() === 0 ? userIds(SERVER_USER) : null;
    if (process.getuid?.() === 0 && ids === null) throw new Error(`no '${SERVER_USER}' user to run the server as (it refuses root)`);
    const as = ids === null ? {} : { uid: ids.uid, gid: ids.gid };
    if (ids !== null) chownSync(dir, ids.uid, ids.gid);
    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C', LANG: 'C' };
    const data = join(dir, 'data');
    // --no-sync: initdb's own files need not survive a crash; commits are made durable by the server (fsync=on).
    const init = await run('initdb', join(bin, 'initdb'),
      ['-D', data, '-U', SERVER_USER, '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync'], SETUP_MS_MAX, { ...as, env, cwd: dir });
    if (init.code !== 0) throw new Error(`initdb failed (${init.code}): ${init.stderr.trim()}`);
    const port = await freePort();
    const server = start('postgres', join(bin, 'postgres'), [
      '-D', data, '-h', '127.0.0.1', '-p', String(port), '-k', dir,
      '-c', 'fsync=on', '-c', 'synchronous_commit=on', '-c', 'full_page_writes=on', '-c', 'max_connections=64',
    ], { ...as, env, cwd: dir });
    const cluster = new Cluster(bin, dir, port, server);
    await cluster.ready();
    return cluster;
  }

  private async ready(): Promise<void> {
    const started = performance.now();
    while (!this.server.stderr.includes('ready to accept connections')) {
      if (!this.server.running) throw new Error(`postgres exited (${this.server.proc.exitCode}): ${this.server.stderr.trim()}`);
      if (performance.now() - started > STARTUP_MS_MAX) throw new Error(`postgres not ready within ${STARTUP_MS_MAX} ms: ${this.server.stderr.trim()}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  private connection(): string[] {
    return ['-h', '127.0.0.1', '-p', String(this.port), '-U', SERVER_USER];
  }

  /** Runs SQL with psql; returns its unaligned output. */
  async sql(text: string): Promise<string> {
    const file = join(this.dir, 'query.sql');
    writeFileSync(file, text);
    const r = await run('psql', join(this.bin, 'psql'), [...this.connection(), '-d', DATABASE, '-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-f', file], SETUP_MS_MAX);
    if (r.code !== 0) throw new Error(`psql failed (${r.code}): ${r.stderr.trim()}`);
    return r.stdout.trim();
  }

  async createSchema(): Promise<void> {
    await this.sql(schemaSql());
  }

  /** Count of transfer rows: what the runs must have created. */
  async transferCount(): Promise<number> {
    return Number(await this.sql('SELECT count(*) FROM transfers;'));
  }

  /** null when Σ debits = Σ credits over all accounts, else what differs. */
  async balanceProblem(): Promise<string | null> {
    const out = await this.sql('SELECT sum(debits_posted) - sum(credits_posted) FROM accounts;');
    return out === '0' ? null : `Σ debits − Σ credits = ${out}`;
  }

  /** One pgbench run of `seconds`; transfers/s counts every transfer of every committed transaction. */
  async pgbench(pattern: Pattern, variant: Variant, seconds: number): Promise<PgRun> {
    const file = join(this.dir, `${pattern}-${variant}.pgbench`);
    writeFileSync(file, script(pattern, variant));
    // A checkpoint first, so no run inherits another's dirty pages to write back.
    await this.sql('CHECKPOINT;');
    const before = await this.transferCount();
    const args = [...this.connection(), '-n', '-M', 'prepared', '-f', file, '-c', String(CLIENTS[variant]), '-j', String(PGBENCH_THREADS),
      '-T', String(seconds), DATABASE];
    const r = await run('pgbench', join(this.bin, 'pgbench'), args, (seconds + 60) * 1000);
    if (r.code !== 0) throw new Error(`pgbench ${pattern}/${variant} failed (${r.code}): ${(r.stderr + r.stdout).trim().slice(-2000)}`);
    const processed = Number(/number of transactions actually processed: (\d+)/.exec(r.stdout)?.[1] ?? NaN);
    const failed = Number(/number of failed transactions: (\d+)/.exec(r.stdout)?.[1] ?? 0);
    const tps = Number(/tps = ([\d.]+) \(without initial connection time\)/.exec(r.stdout)?.[1] ?? NaN);
    if (!Number.isFinite(processed) || !Number.isFinite(tps)) throw new Error(`pgbench output not understood: ${r.stdout.slice(-2000)}`);
    const perTransaction = variant === 'single' ? 1 : BATCH_TRANSFERS;
    const created = (await this.transferCount()) - before;
    // Every transfer of the workload is meant to succeed (workload.ts OPENING_MINOR); a function that
    // returned a failure code inserted no row, and is a finding.
    if (created !== processed * perTransaction) {
      throw new Error(`pgbench ${pattern}/${variant}: ${processed} transactions committed but ${created} transfer rows (want ${processed * perTransaction})`);
    }
    return { transfers: created, elapsedS: processed / tps, transfersPerS: tps * perTransaction, failedTransactions: failed };
  }

  /** Fast shutdown (SIGINT); SIGKILL after 15 s. */
  async stop(): Promise<number | null> {
    return this.server.stop('SIGINT', 15_000);
  }
}
