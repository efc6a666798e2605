// test/qemu/workload.ts: a fixed, seeded ledger workload driven through a
// real QENEX machine, for comparing two platforms byte for byte.
//
// It boots a signed image in this process (host/machine.ts, the same code as
// `qenex boot`), listens on loopback, and feeds requests over TCP one at a
// time: accounts, then seeded rounds of transfers of every kind (posted,
// pending with timeouts, post, void, linked chains, balancing, closing, and
// requests that fail), clock steps that let pending transfers expire,
// queries, the echo and counter services, and malformed requests. Every
// reply (request id, status, payload) is appended to a reply stream. At the
// end it stops the machine cleanly and prints one JSON line:
//   {"event":"workload","state_hash","replies_sha256","log_sha256",...}
//
// The clock and entropy inputs are fixed (test/qemu/fixed-devices.ts, put in
// place by test/qemu/bundle.mjs), and each clock step happens only while the
// machine is idle, so the command log, the replies and the state are a pure
// function of image + seed. Run the bundle, not this file:
//   node build/qemu/workload.mjs --image <signed.qxi> --trust <signing.pub> \
//     --data <new dir> --replies <file> [--seed s] [--backend pure|auto|native]

import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Machine, LOG_FILE } from '../../host/machine.ts';
import { openImage, readImageFile } from '../../host/image.ts';
import { loadPublicKeys } from '../../host/base/keys.ts';
import { FrameClient, counterRequest } from '../../host/client/frames.ts';
import * as L from '../../host/client/ledger.ts';
import type { BackendChoice } from '../../host/devices/block-backend.ts';
import { clockNowNs, setClockNs, seedEntropy } from './fixed-devices.ts';

const ROUNDS = 12;
const ROUND_EVENTS_MIN = 64;
const ROUND_EVENTS_SPREAD = 128;
const LEDGER1_ACCOUNTS = 24;
const LEDGER2_ACCOUNTS = 8;
const FUNDING = 1_000_000n;
const SETTLE_TURNS_MAX = 100_000;

// ---- arguments ----

function parseArgv(argv: string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i];
    const value = argv[i + 1];
    if (!key.startsWith('--') || value === undefined) throw new Error(`usage: workload --image f --trust k --data d --replies f [--seed s] [--backend b]; bad argument "${key}"`);
    out.set(key.slice(2), value);
  }
  for (const need of ['image', 'trust', 'data', 'replies']) if (!out.has(need)) throw new Error(`workload: missing --${need}`);
  return out;
}

// ---- seeded choices (SHA-256 counter mode: the same on every platform) ----

class Rng {
  private counter = 0n;
  private pool: Buffer = Buffer.alloc(0);
  constructor(private readonly seed: string) {}

  u32(): number {
    if (this.pool.length < 4) {
      const c = Buffer.alloc(8);
      c.writeBigUInt64LE(this.counter++);
      this.pool = createHash('sha256').update(this.seed).update(c).digest();
    }
    const v = this.pool.readUInt32LE(0);
    this.pool = this.pool.subarray(4);
    return v;
  }

  below(n: number): number {
    return this.u32() % n;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.below(items.length)];
  }
}

// ---- the driver ----

interface Pending { id: bigint; debit: bigint; credit: bigint; ledger: number; code: number; amount: bigint }

class Driver {
  private readonly stream: Buffer[] = [];
  requests = 0;
  /** kind -> result name -> count, for the caller to see what was exercised. */
  readonly results: Record<string, Record<string, number>> = {};
  private nextId = 1n;

  constructor(private readonly machine: Machine, private readonly client: FrameClient, private readonly rng: Rng) {}

  newId(): bigint {
    // Distinct, seeded, never zero or u128 max: 64 random bits over a counter.
    const hi = (BigInt(this.rng.u32()) << 32n) | BigInt(this.rng.u32());
    return (hi << 64n) | this.nextId++;
  }

  async send(service: string, payload: Uint8Array): Promise<{ status: number; payload: Buffer }> {
    const r = await this.client.request(service, payload, 600_000);
    const head = Buffer.alloc(10);
    head.writeUInt32LE(r.payload.length, 0);
    head.writeUInt32LE(r.requestId, 4);
    head.writeUInt16LE(r.status, 8);
    this.stream.push(head, r.payload);
    this.requests++;
    await this.settle();
    return { status: r.status, payload: r.payload };
  }

  async transfers(kinds: readonly string[], batch: readonly L.Transfer[]): Promise<L.CreateResult[]> {
    const r = await this.send('ledger', L.encodeTransfers(batch));
    if (r.status !== 0) throw new Error(`create_transfers refused: ${r.payload.toString('utf8')} (status ${r.status})`);
    const results = L.decodeCreateResults(r.payload);
    if (results.length !== batch.length) throw new Error(`create_transfers: ${results.length} results for ${batch.length} events`);
    results.forEach((res, i) => this.count(kinds[i], L.createTransferResultName(res.result)));
    return results;
  }

  async accounts(kinds: readonly string[], batch: readonly L.Account[]): Promise<L.CreateResult[]> {
    const r = await this.send('ledger', L.encodeAccounts(batch));
    if (r.status !== 0) throw new Error(`create_accounts refused: ${r.payload.toString('utf8')} (status ${r.status})`);
    const results = L.decodeCreateResults(r.payload);
    results.forEach((res, i) => this.count(kinds[i], L.createAccountResultName(res.result)));
    return results;
  }

  count(kind: string, result: string): void {
    const k = (this.results[kind] ??= {});
    k[result] = (k[result] ?? 0) + 1;
  }

  // Waits until the machine has nothing scheduled, so a clock step can never
  // land in the middle of its work.
  async settle(): Promise<void> {
    for (let i = 0; i < SETTLE_TURNS_MAX; i++) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (!this.machine.busy()) return;
    }
    throw new Error('workload: the machine never went idle');
  }

  /** Moves the fixed clock forward; a timer that falls due is ticked and applied before it returns. */
  async advanceClock(ns: bigint): Promise<void> {
    await this.settle();
    setClockNs(clockNowNs() + ns);
    const deadline = this.machine.kernel.deadlineNs();
    if (deadline === 0n || deadline > clockNowNs()) return;
    const before = this.machine.entriesApplied();
    this.machine.schedulePump();
    for (let i = 0; this.machine.entriesApplied() === before; i++) {
      if (i >= SETTLE_TURNS_MAX) throw new Error('workload: a due timer was never ticked');
      await new Promise<void>((resolve) => setTimeout(resolve, 1));
    }
    await this.settle();
  }

  replies(): Buffer {
    return Buffer.concat(this.stream);
  }
}

async function run(args: Map<string, string>): Promise<object> {
  const seed = args.get('seed') ?? 'qenex-cross-platform-1';
  seedEntropy(`${seed}/entropy`);
  const rng = new Rng(`${seed}/workload`);
  const bytes = readImageFile(args.get('image')!);
  const image = openImage(bytes, loadPublicKeys(args.get('trust')!));
  const dataDir = args.get('data')!;
  const notices: string[] = [];
  const machine = await Machine.boot({
    image, imageBytes: bytes, dataDir, mode: 'live', backend: (args.get('backend') ?? 'pure') as BackendChoice,
    notice: (line) => notices.push(line),
  });
  const address = await machine.listen('127.0.0.1', 0);
  const client = await FrameClient.connect('127.0.0.1', address.port);
  const d = new Driver(machine, client, rng);
  try {
    await workload(d, rng);
  } finally {
    client.close();
  }
  await d.settle();
  const halt = await machine.stop();
  if (halt.message !== null) throw new Error(`machine stopped with: ${halt.message}`);
  const replies = d.replies();
  writeFileSync(args.get('replies')!, replies);
  return {
    event: 'workload',
    state_hash: machine.stateHash(),
    replies_sha256: createHash('sha256').update(replies).digest('hex'),
    replies_bytes: replies.length,
    requests: d.requests,
    entries: machine.entriesApplied(),
    log_sha256: createHash('sha256').update(readFileSync(join(dataDir, LOG_FILE))).digest('hex'),
    clock_end_ns: clockNowNs().toString(),
    results: d.results,
    notices,
    node: process.version,
    arch: process.arch,
  };
}

async function workload(d: Driver, rng: Rng): Promise<void> {
  const { AccountFlags: AF, TransferFlags: TF } = L;
  // Accounts: a funding account per ledger, limited and history accounts.
  const ledger1: bigint[] = [];
  const ledger2: bigint[] = [];
  const limitedDebits = new Set<bigint>();
  const accounts: L.Account[] = [];
  for (let i = 0; i < LEDGER1_ACCOUNTS + LEDGER2_ACCOUNTS; i++) {
    const inL1 = i < LEDGER1_ACCOUNTS;
    const idx = inL1 ? i : i - LEDGER1_ACCOUNTS;
    let flags = 0;
    if (idx % 3 === 0) flags |= AF.history;
    if (idx !== 0 && idx % 6 === 1) flags |= AF.debits_must_not_exceed_credits;
    if (idx % 6 === 2) flags |= AF.credits_must_not_exceed_debits;
    const a = L.account({ id: d.newId(), ledger: inL1 ? 1 : 2, code: 10 + (idx % 4), flags, user_data_64: BigInt(i), user_data_32: i });
    (inL1 ? ledger1 : ledger2).push(a.id);
    if (flags & AF.debits_must_not_exceed_credits) limitedDebits.add(a.id);
    accounts.push(a);
  }
  await d.accounts(accounts.map(() => 'account'), accounts);
  const dup = accounts[3];
  const chainOk = [L.account({ id: d.newId(), ledger: 1, code: 1, flags: AF.linked }), L.account({ id: d.newId(), ledger: 1, code: 1 })];
  const badAccounts: [string, L.Account][] = [
    ['account_fail', L.account({ id: 0n, ledger: 1, code: 1 })],
    ['account_fail', L.account({ id: d.newId(), ledger: 0, code: 1 })],
    ['account_fail', L.account({ id: d.newId(), ledger: 1, code: 0 })],
    ['account_fail', L.account({ id: d.newId(), ledger: 1, code: 1, flags: AF.debits_must_not_exceed_credits | AF.credits_must_not_exceed_debits })],
    ['account_exists', { ...dup }],
    ['account_fail', { ...dup, code: dup.code + 1 }],
    ['account_chain', chainOk[0]], ['account_chain', chainOk[1]],
    ['account_chain_fail', L.account({ id: d.newId(), ledger: 1, code: 1, flags: AF.linked })],
    ['account_chain_fail', L.account({ id: 0n, ledger: 1, code: 1 })],
    ['account_chain_open', L.account({ id: d.newId(), ledger: 1, code: 1, flags: AF.linked })],
  ];
  await d.accounts(badAccounts.map((x) => x[0]), badAccounts.map((x) => x[1]));
  ledger1.push(chainOk[0].id, chainOk[1].id);

  // Funding: every account gets credits from its ledger's first account.
  const funding: L.Transfer[] = [];
  for (const [list, ledger] of [[ledger1, 1], [ledger2, 2]] as const) {
    for (const acct of list.slice(1)) {
      funding.push(L.transfer({ id: d.newId(), debit_account_id: list[0], credit_account_id: acct, amount: FUNDING, ledger, code: 1 }));
    }
  }
  await d.transfers(funding.map(() => 'posted'), funding);

  const pending: Pending[] = [];
  const closingPending: Pending[] = [];
  const done: L.Transfer[] = [];
  const pickPair = (): { debit: bigint; credit: bigint; ledger: number } => {
    const inL1 = rng.below(4) !== 0;
    const list = inL1 ? ledger1 : ledger2;
    const a = rng.pick(list);
    let b = rng.pick(list);
    if (a === b) b = list[(list.indexOf(a) + 1) % list.length];
    return { debit: a, credit: b, ledger: inL1 ? 1 : 2 };
  };

  for (let round = 0; round < ROUNDS; round++) {
    const kinds: string[] = [];
    const batch: L.Transfer[] = [];
    const add = (kind: string, t: L.Transfer) => { kinds.push(kind); batch.push(t); };
    const count = ROUND_EVENTS_MIN + rng.below(ROUND_EVENTS_SPREAD);
    while (batch.length < count) {
      const p = pickPair();
      const amount = BigInt(1 + rng.below(5000));
      const base = { debit_account_id: p.debit, credit_account_id: p.credit, ledger: p.ledger, code: 1 + rng.below(3), user_data_64: BigInt(round) };
      switch (rng.below(12)) {
        case 0: case 1: case 2: {
          const t = L.transfer({ id: d.newId(), ...base, amount });
          add('posted', t);
          done.push(t);
          break;
        }
        case 3: {
          const timeout = rng.pick([0, 1, 2, 5, 3600]);
          const t = L.transfer({ id: d.newId(), ...base, amount, flags: TF.pending, timeout });
          add('pending', t);
          pending.push({ id: t.id, debit: p.debit, credit: p.credit, ledger: p.ledger, code: t.code, amount });
          break;
        }
        case 4: {
          if (pending.length === 0) break;
          const pt = pending.splice(rng.below(pending.length), 1)[0];
          // Full, partial, or more than pending (refused).
          const amt = rng.pick([pt.amount, pt.amount / 2n + 1n, pt.amount + 1n]);
          add('post', L.transfer({ id: d.newId(), debit_account_id: pt.debit, credit_account_id: pt.credit, ledger: pt.ledger, code: pt.code, amount: amt, pending_id: pt.id, flags: TF.post_pending_transfer }));
          break;
        }
        case 5: {
          if (pending.length === 0) break;
          const pt = pending.splice(rng.below(pending.length), 1)[0];
          add('void', L.transfer({ id: d.newId(), debit_account_id: pt.debit, credit_account_id: pt.credit, ledger: pt.ledger, code: pt.code, amount: 0n, pending_id: pt.id, flags: TF.void_pending_transfer }));
          break;
        }
        case 6: {
          // A linked chain of 2..4; one in three carries a bad event, so all of it fails.
          const len = 2 + rng.below(3);
          const broken = rng.below(3) === 0 ? rng.below(len) : -1;
          for (let i = 0; i < len; i++) {
            const q = pickPair();
            const t = L.transfer({ id: d.newId(), debit_account_id: q.debit, credit_account_id: i === broken ? q.debit : q.credit, ledger: q.ledger, code: 1, amount: BigInt(1 + rng.below(900)), flags: i < len - 1 ? TF.linked : 0 });
            add(broken >= 0 ? 'chain_fail' : 'chain', t);
          }
          break;
        }
        case 7: {
          const flag = rng.below(2) === 0 ? TF.balancing_debit : TF.balancing_credit;
          add('balancing', L.transfer({ id: d.newId(), ...base, amount: FUNDING * 10n, flags: flag }));
          break;
        }
        case 8: {
          // Closing: a pending transfer that closes an account; voided later to reopen it.
          if (closingPending.length > 0 || rng.below(4) !== 0) break;
          const flag = rng.below(2) === 0 ? TF.closing_debit : TF.closing_credit;
          const t = L.transfer({ id: d.newId(), ...base, amount: 0n, flags: TF.pending | flag });
          add('closing', t);
          closingPending.push({ id: t.id, debit: p.debit, credit: p.credit, ledger: p.ledger, code: t.code, amount: 0n });
          break;
        }
        case 9: {
          if (closingPending.length === 0) break;
          const pt = closingPending.splice(rng.below(closingPending.length), 1)[0];
          add('reopen', L.transfer({ id: d.newId(), debit_account_id: pt.debit, credit_account_id: pt.credit, ledger: pt.ledger, code: pt.code, amount: 0n, pending_id: pt.id, flags: TF.void_pending_transfer }));
          break;
        }
        case 10: {
          // Requests that must fail: same accounts, cross-ledger, over a limit, reserved flag, an existing id.
          const fail = rng.below(5);
          if (fail === 0) add('fail', L.transfer({ id: d.newId(), ...base, credit_account_id: p.debit, amount }));
          else if (fail === 1) add('fail', L.transfer({ id: d.newId(), ...base, debit_account_id: ledger1[1], credit_account_id: ledger2[1], ledger: 1, amount }));
          else if (fail === 2 && limitedDebits.size > 0) add('fail', L.transfer({ id: d.newId(), ...base, debit_account_id: [...limitedDebits][rng.below(limitedDebits.size)], credit_account_id: ledger1[0], ledger: 1, amount: FUNDING * 1000n }));
          else if (fail === 3) add('fail', L.transfer({ id: d.newId(), ...base, amount, flags: 1 << 12 }));
          else if (done.length > 0) {
            const old = rng.pick(done);
            add('exists', rng.below(2) === 0 ? { ...old } : { ...old, amount: old.amount + 1n });
          }
          break;
        }
        default: {
          // A post or void of a pending id that does not exist.
          add('fail', L.transfer({ id: d.newId(), ...base, amount, pending_id: d.newId(), flags: TF.post_pending_transfer }));
        }
      }
    }
    // A chain left open at the end of the batch.
    if (round % 4 === 3) {
      const p = pickPair();
      add('chain_open', L.transfer({ id: d.newId(), debit_account_id: p.debit, credit_account_id: p.credit, ledger: p.ledger, code: 1, amount: 1n, flags: TF.linked }));
    }
    await d.transfers(kinds, batch);
    // Between rounds the clock moves 0..3 s, so short timeouts expire.
    await d.advanceClock(BigInt(rng.below(3001)) * 1_000_000n);
  }

  // Posting or voiding what is left: some of it has expired by now.
  await d.advanceClock(3_000_000_000n);
  const rest = pending.splice(0, 40).map((pt, i) => L.transfer({ id: d.newId(), debit_account_id: pt.debit, credit_account_id: pt.credit, ledger: pt.ledger, code: pt.code, amount: i % 2 === 0 ? pt.amount : 0n, pending_id: pt.id, flags: i % 2 === 0 ? TF.post_pending_transfer : TF.void_pending_transfer }));
  if (rest.length > 0) await d.transfers(rest.map(() => 'resolve_late'), rest);

  // Queries: every account, some transfers, account transfers and balance history.
  const all = [...ledger1, ...ledger2];
  await d.send('ledger', L.encodeLookupAccounts(all));
  await d.send('ledger', L.encodeLookupTransfers(done.slice(0, 50).map((t) => t.id).concat([d.newId()])));
  for (const acct of [ledger1[0], ledger1[3], ledger2[0]]) {
    for (const flags of [L.AccountFilterFlags.debits | L.AccountFilterFlags.credits, L.AccountFilterFlags.credits | L.AccountFilterFlags.reversed]) {
      await d.send('ledger', L.encodeGetAccountTransfers(L.accountFilter({ account_id: acct, limit: 100, flags })));
      await d.send('ledger', L.encodeGetAccountBalances(L.accountFilter({ account_id: acct, limit: 100, flags })));
    }
  }

  // The other services, and requests the ledger or the kernel refuse.
  await d.send('echo', Buffer.from('cross-platform', 'utf8'));
  await d.send('counter', counterRequest(1, 41n));
  await d.send('counter', counterRequest(1, 1n));
  await d.send('counter', counterRequest(2));
  await d.send('ledger', Buffer.from([2, 0, 0, 0, 5, 0, 0, 0]));
  await d.send('ledger', Buffer.from([99, 0, 0, 0, 0, 0, 0, 0]));
  await d.send('nosuchservice', Buffer.from('x'));
}

run(parseArgv(process.argv.slice(2))).then(
  (out) => { process.stdout.write(JSON.stringify(out) + '\n'); },
  (e: unknown) => {
    process.stderr.write(`workload: ${(e as Error)?.stack ?? String(e)}\n`);
    process.exitCode = 1;
  },
);
