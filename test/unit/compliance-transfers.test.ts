// test/unit/compliance-transfers.test.ts: the compliance service's
// check_transfers (services/compliance/assembly/transfers.ts), the ledger's
// own create_transfers checked for the gateway, against the SDK's fake
// kernel. Proves: only events that move money on a ledger whose rule set
// checks transfers are decided (posts, voids, imported events, other
// ledgers and events the ledger refuses by their fields get no verdict);
// limits and a holding rule refuse (a transfer cannot wait), with the rule;
// a refused transfer does not count and its alert names the transfer; a
// retried id that was allowed is allowed again without being counted twice;
// each decision names its transfer; a request of the wrong length is refused;
// and the same requests on a fresh service give the same bytes (replay).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ServiceHarness } from '../../services/sdk/harness.ts';
import * as P from '../../services/compliance/protocol.ts';
import * as L from '../../services/ledger/protocol.ts';
import { transfer, writeTransfer, TransferFlags, type Transfer } from '../../host/client/ledger.ts';
import { alertsListReply, alertsListRequest, decisionsListReply, decisionsListRequest } from '../../host/compliance/cases.ts';

const ROOT = new URL('../..', import.meta.url).pathname;
const WASM = join(ROOT, 'build/services/compliance.wasm');
const BANK = JSON.parse(readFileSync(join(ROOT, 'images/bank/manifest.json'), 'utf8')).services.find((s: { name: string }) => s.name === 'compliance');
const DAY = 86_400n * 1_000_000_000n;
// Ledger 1 checks its transfers: 1,000 a transfer, 1,500 a day from one account, 800 and over holds (here: refuses).
const RULES = [
  { ledger: 1, transfers: true, payment_max: 1000, account_daily_max: 1500, amount_threshold: 800, hold: ['amount'] },
  { ledger: 2, payment_max: 1 },
];

async function service(): Promise<ServiceHarness> {
  const svc = await ServiceHarness.load(WASM, { name: 'compliance', peers: ['gateway'], caps: ['log', 'time', 'emit'], memoryPagesMax: BANK.memory_pages_max, messageBytesMax: 1 << 20 });
  svc.init({ names_max: 1000, accounts_max: 1000, alerts_max: 100, decisions_max: 50, events: true, rules: RULES });
  svc.timeNs = 20_000n * DAY + 12n * 3600n * 1_000_000_000n;
  return svc;
}

function request(transfers: readonly Transfer[], count = transfers.length): Buffer {
  const b = Buffer.alloc(P.HEADER_BYTES + transfers.length * L.RECORD_BYTES);
  b[P.HEADER_OP] = P.Op.check_transfers;
  b.writeUInt32LE(count, P.HEADER_COUNT);
  const view = new DataView(b.buffer, b.byteOffset, b.length);
  transfers.forEach((t, i) => writeTransfer(view, P.HEADER_BYTES + i * L.RECORD_BYTES, t));
  return b;
}

function call(svc: ServiceHarness, r: Buffer): Buffer {
  const reply = svc.request(r);
  assert.ok(reply !== null && reply.status === 0, 'the service answered with status 0');
  return reply!.payload;
}

/** The verdicts of a check_transfers reply: [action, rule] per event, and the refused count. */
function verdicts(reply: Buffer): { refused: bigint; each: [number, number][] } {
  assert.is(reply.readUInt32LE(4) & P.REPLY_F_REFUSED, 0, `not refused: ${reply.toString('latin1', P.REPLY_HEADER_BYTES)}`);
  const n = reply.readUInt32LE(0);
  assert.is(reply.length, P.REPLY_HEADER_BYTES + n * P.VERDICT_BYTES, 'a verdict per event');
  const each = Array.from({ length: n }, (_, i): [number, number] => {
    const at = P.REPLY_HEADER_BYTES + i * P.VERDICT_BYTES;
    return [reply[at + P.VERDICT_ACTION], reply.readUInt32LE(at + P.VERDICT_RULE)];
  });
  return { refused: reply.readBigUInt64LE(8), each };
}

const t = (id: bigint, amount: bigint, more: Partial<Transfer> = {}): Transfer =>
  transfer({ id, debit_account_id: 10n, credit_account_id: 20n, amount, ledger: 1, code: 1, ...more });

const ALLOW: [number, number] = [P.ACTION_ALLOW, 0];
const NONE: [number, number] = [0, 0];

test('check_transfers: money-moving events on a checked ledger are decided; limits and holding rules refuse; the rest get no verdict', async () => {
  const svc = await service();
  const batch = [
    t(1n, 500n),
    t(2n, 1200n), // over payment_max
    t(3n, 900n), // the amount rule, in the hold mask: a transfer cannot be held, so refused
    t(4n, 100n, { flags: TransferFlags.post_pending_transfer, pending_id: 99n }), // settles a pending transfer checked before
    t(5n, 5n, { ledger: 2 }), // ledger 2's rule set does not check transfers (its payment_max of 1 would refuse)
    t(6n, 100n, { credit_account_id: 10n }), // the same account twice: the ledger refuses it
    t(0n, 100n), // id 0: the ledger refuses it
    t(7n, 100n, { flags: TransferFlags.imported, timestamp: 5n }), // history being loaded
  ];
  const v = verdicts(call(svc, request(batch)));
  assert.equal(v.each, [ALLOW, [P.ACTION_REFUSE, P.RULE_PAYMENT_MAX], [P.ACTION_REFUSE, P.RULE_AMOUNT], NONE, NONE, NONE, NONE, NONE]);
  assert.is(v.refused, 2n);
  assert.equal([P.transferRefusal(P.RULE_PAYMENT_MAX), P.transferRefusal(P.RULE_AMOUNT), P.transferRefusal(P.RULE_SANCTIONS)],
    [L.TransferResult.compliance_limit, L.TransferResult.compliance_rule, L.TransferResult.compliance_sanctions]);
  // Three decisions, each naming its transfer; those where a rule (not only a limit) fired raised an alert naming it too.
  const { decisions } = decisionsListReply(call(svc, decisionsListRequest({ after: 0n, from: 0n, to: 0n, limit: 10, state: 0, ledger: 0 })));
  assert.equal(decisions.map((d) => [d.origin, d.transfer, d.payment, d.action]), [
    [P.ORIGIN_TRANSFER, 1n, 0n, P.ACTION_ALLOW], [P.ORIGIN_TRANSFER, 2n, 0n, P.ACTION_REFUSE], [P.ORIGIN_TRANSFER, 3n, 0n, P.ACTION_REFUSE],
  ]);
  const { alerts } = alertsListReply(call(svc, alertsListRequest({ after: 0n, from: 0n, to: 0n, limit: 10, state: 0, ledger: 0 })));
  assert.equal(alerts.map((a) => [a.origin, a.transfer, a.action, a.rules]), [
    [P.ORIGIN_TRANSFER, 2n, P.ACTION_REFUSE, P.RULE_AMOUNT | P.RULE_PAYMENT_MAX | P.RULE_ACCOUNT_DAILY], [P.ORIGIN_TRANSFER, 3n, P.ACTION_REFUSE, P.RULE_AMOUNT],
  ]);
});

test('check_transfers: a retried id that was allowed is allowed again and not counted twice; a refused one is decided anew', async () => {
  const svc = await service();
  assert.equal(verdicts(call(svc, request([t(1n, 700n), t(2n, 1200n)]))).each, [ALLOW, [P.ACTION_REFUSE, P.RULE_PAYMENT_MAX]]);
  // The same batch again (a client that lost the reply): 1 is allowed without a decision, 2 is decided again.
  assert.equal(verdicts(call(svc, request([t(1n, 700n), t(2n, 1200n)]))).each, [ALLOW, [P.ACTION_REFUSE, P.RULE_PAYMENT_MAX]]);
  // 700 counted once: another 700 makes 1,400, within the day's 1,500 (counted twice it would be 2,100 and refused) ...
  assert.equal(verdicts(call(svc, request([t(3n, 700n)]))).each, [ALLOW]);
  // ... and now the day is full: 200 more is over it.
  assert.equal(verdicts(call(svc, request([t(4n, 200n)]))).each, [[P.ACTION_REFUSE, P.RULE_ACCOUNT_DAILY]]);
  const { decisions } = decisionsListReply(call(svc, decisionsListRequest({ after: 0n, from: 0n, to: 0n, limit: 10, state: 0, ledger: 0 })));
  assert.equal(decisions.map((d) => d.transfer), [1n, 2n, 2n, 3n, 4n], 'a decision per decided event, none for the retry of an allowed one');
});

test('check_transfers: a request whose length is not its count\'s is refused whole; the same requests replay to the same bytes', async () => {
  const svc = await service();
  const short = request([t(1n, 1n)], 2);
  const refused = call(svc, short);
  assert.is(refused.readUInt32LE(4) & P.REPLY_F_REFUSED, P.REPLY_F_REFUSED);
  assert.is(refused.readUInt32LE(P.REPLY_REFUSED), P.REFUSED_MALFORMED);
  const requests = [request([t(1n, 500n), t(2n, 900n)]), request([t(1n, 500n), t(3n, 1100n)]), request([t(4n, 999n)])];
  const first = requests.map((r) => call(svc, r));
  const again = await service();
  call(again, short);
  assert.equal(requests.map((r) => call(again, r).toString('hex')), first.map((b) => b.toString('hex')));
});

test.run();
