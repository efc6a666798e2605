// fuzz/seeds.ts: the inputs each target's corpus starts from, written into
// fuzz/corpus/<target>/ by `fuzz/main.ts seed` (the engine keeps and
// minimises what it finds from them; `make test` replays the corpus). Each
// seed is a valid input of the kind the parser sees in service, so that
// mutation starts deep in the parser rather than at its first check.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  AccountFlags, TransferFlags, account, accountFilter, transfer, encodeAccounts, encodeTransfers, encodeLookupAccounts,
  encodeLookupTransfers, encodeGetAccountTransfers, encodeGetAccountBalances, AccountFilterFlags, encodeQueryAccounts,
  encodeQueryTransfers, queryFilter, QueryFilterFlags,
} from '../host/client/ledger.ts';
import { inputOf } from './targets/ledger.ts';
import { imageFixture } from './targets/image.ts';
import { sampleLog } from './targets/log.ts';
import { isoSeeds } from './targets/iso20022.ts';
import { mtSeeds } from './targets/mt103.ts';

const utf8 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'utf8'));
const latin1 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'));

function jsonSeeds(): Uint8Array[] {
  return [
    '[{"id":"1","ledger":1,"code":10,"flags":["history"]},{"id":"2","ledger":1,"code":10,"flags":["debits_must_not_exceed_credits","linked"]}]',
    '[{"id":"100","debit_account_id":"1","credit_account_id":"2","amount":"1050","ledger":1,"code":1},' +
      '{"id":"101","debit_account_id":"1","credit_account_id":"2","amount_decimal":"10.50","ledger":1,"code":1,"flags":["pending"],"timeout":30}]',
    '[{"id":"102","pending_id":"101","debit_account_id":"0","credit_account_id":"0","amount":"0","ledger":1,"code":1,"flags":["post_pending_transfer"]}]',
    '{"ids":["1","2","340282366920938463463374607431768211455"]}',
    '{"timestamp_min":"0","timestamp_max":"0","limit":10,"flags":["debits","credits","reversed"],"code":1,"user_data_128":"0"}',
    '{"a":[1,-0.5,2e10,1E-3,true,false,null],"b":{"c":"\\u00e9\\ud83d\\ude00\\n\\t\\"\\\\\\/"},"d":[]}',
    '[[[[[[[1]]]]]]]',
    '"\u00e9\u4e2d"',
  ].map(utf8);
}

function httpSeeds(): Uint8Array[] {
  const body = '[{"id":"100","debit_account_id":"1","credit_account_id":"2","amount":"5","ledger":1,"code":1}]';
  return [
    'GET /v1/health HTTP/1.1\r\nHost: h\r\n\r\n',
    `POST /v1/transfers HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer qx_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
    'POST /v1/accounts/lookup HTTP/1.1\r\nHost: h\r\nContent-Length: 14\r\n\r\n{"ids":["1"]}\nGET /v1/accounts/1/transfers?limit=5&flags=debits,credits HTTP/1.1\r\nHost: h\r\n\r\n',
    'POST /v1/transfers HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n[{"id\r\n0\r\n\r\n',
    'HEAD /v1/ready HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n',
    'OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n',
    'POST /v1/accounts HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n[]',
    'GET http://h/v1/events?types=transfer HTTP/1.1\r\nHost: h\r\nAccept: text/event-stream\r\nLast-Event-ID: 5\r\n\r\n',
    'GET /v1/health HTTP/1.0\r\n\r\n',
    'GET /metrics HTTP/1.1\r\nHost: h\r\nAuthorization: Bearer x\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n',
  ].map(latin1);
}

function manifestSeeds(root: string): Uint8Array[] {
  return ['images/bank/manifest.json', 'images/demo/manifest.json'].map((p) => new Uint8Array(readFileSync(join(root, p))));
}

function imageSeeds(): Uint8Array[] {
  return [imageFixture().signed];
}

function ledgerSeeds(): Uint8Array[] {
  const accounts = encodeAccounts([
    account({ id: 1n, ledger: 1, code: 1 }),
    account({ id: 2n, ledger: 1, code: 1, flags: AccountFlags.history }),
    account({ id: 3n, ledger: 1, code: 1, flags: AccountFlags.debits_must_not_exceed_credits }),
    account({ id: 4n, ledger: 1, code: 1, flags: AccountFlags.linked }),
    account({ id: 5n, ledger: 1, code: 1 }),
  ]);
  const transfers = encodeTransfers([
    transfer({ id: 100n, debit_account_id: 1n, credit_account_id: 2n, amount: 10n, ledger: 1, code: 1 }),
    transfer({ id: 101n, debit_account_id: 2n, credit_account_id: 1n, amount: 3n, ledger: 1, code: 1, flags: TransferFlags.linked }),
    transfer({ id: 102n, debit_account_id: 1n, credit_account_id: 3n, amount: 4n, ledger: 1, code: 1 }),
    transfer({ id: 103n, debit_account_id: 1n, credit_account_id: 2n, amount: 7n, ledger: 1, code: 1, flags: TransferFlags.pending, timeout: 1 }),
    transfer({ id: 104n, debit_account_id: 3n, credit_account_id: 2n, amount: 1n, ledger: 1, code: 1, flags: TransferFlags.balancing_debit }),
  ]);
  const twoPhase = encodeTransfers([
    transfer({ id: 105n, pending_id: 103n, amount: 5n, ledger: 1, code: 1, flags: TransferFlags.post_pending_transfer }),
    transfer({ id: 106n, debit_account_id: 2n, credit_account_id: 1n, amount: 2n, ledger: 1, code: 1, flags: TransferFlags.pending }),
    transfer({ id: 107n, pending_id: 106n, ledger: 1, code: 1, flags: TransferFlags.void_pending_transfer }),
  ]);
  const filter = accountFilter({ account_id: 2n, limit: 10, flags: AccountFilterFlags.debits | AccountFilterFlags.credits });
  return [
    inputOf([accounts, transfers, twoPhase, encodeLookupAccounts([1n, 2n, 9n]), encodeLookupTransfers([100n, 103n]),
      encodeGetAccountTransfers(filter), encodeGetAccountBalances(filter)]),
    inputOf([accounts, encodeTransfers([transfer({
      id: 200n, debit_account_id: 1n, credit_account_id: 5n, amount: 1n, ledger: 1, code: 1, flags: TransferFlags.closing_debit | TransferFlags.pending,
    })])]),
    inputOf([encodeAccounts([account({ id: 7n, ledger: 2, code: 3, flags: AccountFlags.imported, timestamp: 5n })])]),
    // The queries, with a scope (applied inside the scan) after the filter.
    inputOf([accounts, transfers, encodeQueryAccounts(queryFilter({ ledger: 1, limit: 3, flags: QueryFilterFlags.reversed })),
      scopedQuery(encodeQueryTransfers(queryFilter({ code: 1, limit: 2 })), 1)]),
  ];
}

/** A query limited to one ledger (the u16 scope count at +2, the u32 ledger after the filter), as the gateway's reads arrive. */
function scopedQuery(request: Uint8Array, ledger: number): Uint8Array {
  const out = Buffer.alloc(request.length + 4);
  out.set(request);
  out.writeUInt16LE(1, 2);
  out.writeUInt32LE(ledger, request.length);
  return out;
}

/** A binary frame: length, request id, flags, service name, payload. */
function frame(id: number, flags: number, name: string, payload: Uint8Array): Uint8Array {
  const n = Buffer.from(name, 'latin1');
  const body = Buffer.alloc(8 + n.length + payload.length);
  body.writeUInt32LE(id, 0);
  body.writeUInt16LE(flags, 4);
  body[6] = n.length;
  n.copy(body, 8);
  body.set(payload, 8 + n.length);
  const len = Buffer.alloc(4);
  len.writeUInt32LE(body.length, 0);
  return Buffer.concat([len, body]);
}

function frameSeeds(): Uint8Array[] {
  const key = latin1('qx_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA');
  const accounts = encodeAccounts([account({ id: 1n, ledger: 1, code: 1 })]);
  const lookup = encodeLookupAccounts([1n]);
  return [
    Buffer.concat([frame(1, 1, '', key), frame(2, 0, 'gateway', accounts), frame(3, 0, 'gateway', lookup), frame(4, 0, 'ledger', lookup)]),
    Buffer.concat([frame(9, 0, 'gateway', encodeGetAccountBalances(accountFilter({ account_id: 1n }))), frame(9, 0, 'gateway', lookup), frame(5, 1, 'x', key)]),
    Buffer.concat([frame(7, 0, 'gateway', Uint8Array.of(9)), Uint8Array.of(0, 0, 1, 0, 7, 0, 0, 0)]),
    Uint8Array.of(3, 0, 0, 0, 1, 2, 3),
  ];
}

/** Seeds by target name. */
export function seeds(root: string): Record<string, Uint8Array[]> {
  return { json: jsonSeeds(), http: httpSeeds(), frames: frameSeeds(), image: imageSeeds(), manifest: manifestSeeds(root),
    log: [sampleLog(1), sampleLog(5), sampleLog(12)], ledger: ledgerSeeds(), iso20022: isoSeeds(root), mt103: mtSeeds(root) };
}
