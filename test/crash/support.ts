// test/crash/support.ts: what the crash tests share: a seeded PRNG, the
// ledger load they drive over real TCP, and the checks after a reboot
// (every acknowledged transfer present exactly once, debits = credits per
// ledger for posted and pending amounts, the reboot hash equal to replay).

import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { FrameClient } from '../../host/client/frames.ts';
import {
  LedgerClient, account, transfer, CreateTransferResult, TransferFlags, type Account, type Transfer,
} from '../../host/client/ledger.ts';
import { Server, runCli, event, directLedgerManifest, type TestImage } from '../support/helpers.ts';
import type { Manifest } from '../../host/manifest.ts';
import { prng } from '../support/prng.ts';
export { prng }; // the crash tests' seeded choices


/**
 * The bank image with capacities sized for a crash run (a few hundred
 * thousand transfers) and a small preallocation step: every life boots and
 * hashes less memory, so more lives fit a run. Durability is what is tested.
 */
export function crashManifest(transfersMax = 400_000): Manifest {
  const m = directLedgerManifest();
  m.kernel.log_preallocate_bytes = 16 * 1024 * 1024;
  const ledger = m.services.find((s) => s.name === 'ledger');
  if (ledger === undefined) throw new Error('the bank manifest has no ledger service');
  // A fifth of the transfers sent are pending and never resolved: room for them too.
  ledger.config = { accounts_max: 1000, transfers_max: transfersMax, pending_max: Math.max(100_000, Math.ceil(transfersMax / 4)), history_max: 1000 };
  return m;
}

export function envInt(name: string, fallback: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got ${v}`);
  return n;
}

export const LEDGERS = [1, 2];
// Generous: a loaded CI machine replaying a long log; a hang still fails.
export const BOOT_TIMEOUT_MS = 300_000;
export const ACCOUNTS_PER_LEDGER = 20;

export function accountIds(): { id: bigint; ledger: number }[] {
  return LEDGERS.flatMap((ledger) => Array.from({ length: ACCOUNTS_PER_LEDGER }, (_, i) => ({ id: BigInt(ledger * 1000 + i + 1), ledger })));
}

export interface Connected { server: Server; frames: FrameClient; ledger: LedgerClient }

export async function serve(img: TestImage, data: string, extra: string[] = []): Promise<Connected> {
  const server = Server.start(['boot', img.imagePath, '--data', data, '--trust', img.pubPath, '--listen', '127.0.0.1:0', ...extra]);
  // Boot replays the whole log, which grows with every life of a long crash loop.
  await server.waitFor('ready', BOOT_TIMEOUT_MS);
  const { host, port } = await server.address();
  const frames = await FrameClient.connect(host, port);
  return { server, frames, ledger: new LedgerClient(frames) };
}

export async function createAccounts(ledger: LedgerClient): Promise<void> {
  const rs = await ledger.createAccounts(accountIds().map((a) => account({ id: a.id, ledger: a.ledger, code: 1 })));
  // 0 created, or "exists" (21) when a previous life already created them.
  rs.forEach((r, i) => assert.ok(r.result === 0 || r.result === 21, `account ${i}: result ${r.result}`));
}

/** Everything sent, with what the client learned about it. */
export class Book {
  /** Every transfer ever sent, by id (acknowledged or not). */
  readonly sent = new Map<bigint, Transfer>();
  /** Ids the ledger acknowledged as created (durable by contract). */
  readonly acked = new Set<bigint>();
  /** Batches acknowledged, all lives together. */
  batchesAcked = 0;
  nextId: bigint;
  /** Transfers a check found present, as the ledger holds them. */
  readonly present = new Map<bigint, Transfer>();
  /** Ids sent since the last check: the only ones whose fate is not yet known. */
  unchecked: bigint[] = [];

  constructor(firstId = 1_000_000n) { this.nextId = firstId; }

  /** A random batch: posted and pending transfers between random accounts of one ledger. */
  batch(random: () => number, size: number): Transfer[] {
    const accounts = accountIds();
    return Array.from({ length: size }, () => {
      const ledger = LEDGERS[Math.floor(random() * LEDGERS.length)];
      const mine = accounts.filter((a) => a.ledger === ledger);
      const d = mine[Math.floor(random() * mine.length)].id;
      let c = mine[Math.floor(random() * mine.length)].id;
      if (c === d) c = mine[(mine.findIndex((a) => a.id === d) + 1) % mine.length].id;
      const pending = random() < 0.2;
      const t = transfer({
        id: this.nextId++, debit_account_id: d, credit_account_id: c, amount: BigInt(1 + Math.floor(random() * 1000)),
        ledger, code: 1, flags: pending ? TransferFlags.pending : 0,
      });
      this.sent.set(t.id, t);
      this.unchecked.push(t.id);
      return t;
    });
  }

  /** Sends a batch; records acknowledged ids. Rejections (the server died) are swallowed. */
  async send(ledger: LedgerClient, batch: Transfer[]): Promise<boolean> {
    try {
      const rs = await ledger.createTransfers(batch);
      rs.forEach((r, i) => {
        if (r.result === CreateTransferResult.ok) this.acked.add(batch[i].id);
        else throw new Error(`transfer ${batch[i].id}: unexpected result ${r.result}`);
      });
      this.batchesAcked++;
      return true;
    } catch (e) {
      if (/unexpected result/.test((e as Error).message)) throw e;
      return false;
    }
  }
}

/** Drives `inFlight` batches at a time until `until()` says stop; returns batches acknowledged. */
export async function drive(ledger: LedgerClient, book: Book, random: () => number, inFlight: number, until: () => boolean): Promise<number> {
  let acknowledged = 0;
  const running = new Set<Promise<void>>();
  while (!until()) {
    while (running.size < inFlight && !until()) {
      const batch = book.batch(random, 1 + Math.floor(random() * 120));
      const p = book.send(ledger, batch).then((ok) => { if (ok) acknowledged++; });
      running.add(p);
      void p.finally(() => running.delete(p));
    }
    if (running.size > 0) await Promise.race(running);
  }
  await Promise.allSettled([...running]);
  return acknowledged;
}

/**
 * The checks after a reboot, over a live connection: every acknowledged
 * transfer is found, no id appears twice, the balances are exactly the sum
 * of the transfers found (so nothing was applied twice and nothing partly),
 * and debits = credits per ledger for posted and pending.
 *
 * A full check looks every id ever sent up again. An incremental one looks
 * up only the ids sent since the last check (their fate was unknown: the
 * kill may have landed before or after each was logged) and takes the
 * earlier ones as the last check found them; the exact balance equality
 * then still covers them, since a transfer lost or applied twice since
 * would move some account's balance away from the sum. Long crash loops
 * run incremental checks with a full one every few lives and at the end,
 * so a life costs the same at the thousandth kill as at the first.
 */
export async function verify(ledger: LedgerClient, book: Book, full = true): Promise<{ found: number }> {
  const ids = full ? [...book.sent.keys()] : book.unchecked;
  const found = new Map<bigint, Transfer>();
  for (let i = 0; i < ids.length; i += 8000) {
    for (const t of await ledger.lookupTransfers(ids.slice(i, i + 8000))) {
      assert.not.ok(found.has(t.id), `transfer ${t.id} found twice`);
      found.set(t.id, t);
    }
  }
  if (full) {
    for (const [id, t] of book.present) assert.ok(found.has(id), `transfer ${t.id} found by an earlier check is present`);
    book.present.clear();
  }
  for (const [id, t] of found) {
    assert.not.ok(book.present.has(id), `transfer ${id} found twice`);
    book.present.set(id, t);
  }
  book.unchecked = [];
  for (const id of book.acked) assert.ok(book.present.has(id), `acknowledged transfer ${id} is present`);
  const expect = new Map<bigint, { dp: bigint; dpo: bigint; cp: bigint; cpo: bigint }>();
  const get = (id: bigint) => { let e = expect.get(id); if (e === undefined) { e = { dp: 0n, dpo: 0n, cp: 0n, cpo: 0n }; expect.set(id, e); } return e; };
  for (const t of book.present.values()) {
    const sent = book.sent.get(t.id)!;
    assert.is(t.amount, sent.amount, `transfer ${t.id}: amount as sent`);
    assert.is(t.debit_account_id, sent.debit_account_id);
    assert.is(t.credit_account_id, sent.credit_account_id);
    if ((t.flags & TransferFlags.pending) !== 0) { get(t.debit_account_id).dp += t.amount; get(t.credit_account_id).cp += t.amount; }
    else { get(t.debit_account_id).dpo += t.amount; get(t.credit_account_id).cpo += t.amount; }
  }
  const accounts = await ledger.lookupAccounts(accountIds().map((a) => a.id));
  assert.is(accounts.length, accountIds().length, 'every account is present');
  const perLedger = new Map<number, { dp: bigint; dpo: bigint; cp: bigint; cpo: bigint }>();
  for (const a of accounts) {
    const e = expect.get(a.id) ?? { dp: 0n, dpo: 0n, cp: 0n, cpo: 0n };
    assert.is(a.debits_posted, e.dpo, `account ${a.id}: debits_posted = the posted transfers found`);
    assert.is(a.credits_posted, e.cpo, `account ${a.id}: credits_posted`);
    assert.is(a.debits_pending, e.dp, `account ${a.id}: debits_pending`);
    assert.is(a.credits_pending, e.cp, `account ${a.id}: credits_pending`);
    const s = perLedger.get(a.ledger) ?? { dp: 0n, dpo: 0n, cp: 0n, cpo: 0n };
    s.dp += a.debits_pending; s.dpo += a.debits_posted; s.cp += a.credits_pending; s.cpo += a.credits_posted;
    perLedger.set(a.ledger, s);
  }
  for (const [l, s] of perLedger) {
    assert.is(s.dpo, s.cpo, `ledger ${l}: posted debits = posted credits`);
    assert.is(s.dp, s.cp, `ledger ${l}: pending debits = pending credits`);
  }
  return { found: book.present.size };
}

/** `qenex replay` of a data directory (`extra`: its options, such as --no-snapshot): its state hash. */
export function replayHash(data: string, extra: string[] = []): string {
  const r = runCli(['replay', '--data', data, ...extra], BOOT_TIMEOUT_MS);
  assert.is(r.code, 0, `replay failed: ${r.stderr}`);
  return String(event(r.events, 'replay')!.state_hash);
}

export interface CrashLoopOptions { seed: number; iterations: number; fullCheckEvery: number; name: string }

/**
 * The crash loop (crash-loop.test.ts, crash-grid.test.ts): a live host under
 * ledger load, SIGKILLed at a seeded moment, rebooted, `iterations` times.
 * After every kill: `qenex replay` of the data directory and the rebooted
 * host's ready line report the same state hash; every transfer acknowledged
 * in any earlier life is present exactly once with the amounts sent; every
 * balance is the sum of the transfers present; debits = credits.
 */
export async function crashLoop(img: TestImage, opts: CrashLoopOptions): Promise<void> {
  const random = prng(opts.seed);
  const data = join(img.dir, 'data');
  const book = new Book();
  let conn = await serve(img, data);
  await createAccounts(conn.ledger);
  let killed = 0;
  let batchesAcked = 0;
  for (let it = 0; it < opts.iterations; it++) {
    const where = `seed ${opts.seed} iteration ${it}`;
    // A kill after a seeded number of acknowledged batches plus a seeded delay,
    // so it lands at random points: mid-batch, mid-flush, between batches.
    const afterBatches = 1 + Math.floor(random() * 12);
    const delayMs = Math.floor(random() * 40);
    const inFlight = 1 + Math.floor(random() * 8);
    let kill: Promise<unknown> | null = null;
    const driving = drive(conn.ledger, book, random, inFlight, () => kill !== null);
    // Count acknowledgements as they come, then pull the plug.
    const batchesBefore = book.batchesAcked;
    await new Promise<void>((resolve, reject) => {
      const poll = setInterval(() => {
        if (book.batchesAcked - batchesBefore >= afterBatches) {
          clearInterval(poll);
          setTimeout(() => { kill = conn.server.kill('SIGKILL'); resolve(); }, delayMs);
        }
      }, 1);
      // A host that dies on its own is a failure, not something to wait for.
      void conn.server.exited.then((code) => {
        if (kill !== null) return;
        clearInterval(poll);
        reject(new Error(`${where}: the host exited (${code}) before the kill; stderr: ${conn.server.stderr}`));
      });
    });
    await kill;
    batchesAcked += await driving;
    conn.frames.close();
    killed++;
    // Replay (read-only) first, then the reboot must land on the same state.
    const replayed = replayHash(data);
    conn = await serve(img, data);
    const ready = await conn.server.waitFor('ready');
    assert.is(ready.state_hash, replayed, `${where}: reboot hash = replay hash`);
    const { found } = await verify(conn.ledger, book, it % opts.fullCheckEvery === opts.fullCheckEvery - 1 || it === opts.iterations - 1);
    assert.ok(found >= book.acked.size, `${where}: ${found} transfers present, ${book.acked.size} acknowledged`);
    console.log(`${where}: killed after ${afterBatches}+ batches (+${delayMs} ms, ${inFlight} in flight); ${book.acked.size} acknowledged, ${found} present`);
  }
  conn.frames.close();
  await conn.server.kill('SIGTERM');
  const stopped = conn.server.events.find((e) => e.event === 'stopped');
  assert.ok(stopped, 'the last life stops cleanly');
  assert.is(stopped!.state_hash, replayHash(data), 'the clean stop hash = replay hash');
  console.log(`\nsummary: ${opts.name} seed ${opts.seed}: ${killed} SIGKILLs survived, ${book.acked.size} transfers acknowledged in ${batchesAcked} batches, ${book.sent.size} sent, 0 lost`);
}

export type { Account };
