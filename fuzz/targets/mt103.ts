// fuzz/targets/mt103.ts: the SWIFT MT103 reader of `POST /v1/payments/swift-mt`
// (host/gateway/payments-front.ts mtRequest): readMt103 (host/payments/mt103.ts
// over fin.ts, mt103-fields.ts and mt103-read.ts) and the writer it must agree
// with (mt103-write.ts). The body is decoded as the front end decodes it
// (TextDecoder, UTF-8, fatal: invalid UTF-8 is the front end's refusal and
// never reaches the reader) and read with a fixed receivedAt. The oracle, for
// any bytes that decode:
//   - readMt103 returns a Pacs008 of one transaction or throws MtError with a
//     message; any other exception (a TypeError, a RangeError) is a finding;
//   - an accepted message is written by writeMt103 without an error, and the
//     text read again gives an equal model (isDeepStrictEqual). The one
//     normalisation mt103.ts documents that this has to allow for: the
//     writer emits an input message (block 2 "I"), which has no creation
//     time, so the second read is given the first model's creationDateTime
//     as its receivedAt, as test/unit/mt103.test.ts does.

import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import { MtError, readMt103, writeMt103 } from '../../host/payments/mt103.ts';
import type { Pacs008 } from '../../host/payments/model.ts';
import { expect, type FuzzTarget } from '../target.ts';

// fuzz/targets/ from the source, build/fuzz/ from the fuzz bundle: the repository is two up from both.
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
// What payments-front.ts gives: the arrival time to the second, without a zone.
const RECEIVED_AT = '2025-03-14T10:00:00';
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The public MT103 samples (test/fixtures/swift-mt: two FIN output messages, an RJE file with its ACK). */
export function mtSeeds(root: string = ROOT): Uint8Array[] {
  const dir = join(root, 'test', 'fixtures', 'swift-mt');
  return readdirSync(dir).filter((f) => f.startsWith('mt103_')).sort().map((f) => new Uint8Array(readFileSync(join(dir, f))));
}

/** readMt103 as the front end calls it: the model, or null for a refusal (an MtError, or bytes that are not UTF-8). */
export function checkRead(bytes: Uint8Array): Pacs008 | null {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    return null;
  }
  try {
    const doc = readMt103(text, { receivedAt: RECEIVED_AT });
    expect(doc.kind === 'pacs.008' && doc.transactions.length === 1, `an MT103 read as ${doc.kind} of ${doc.transactions.length} transactions`);
    return doc;
  } catch (e) {
    if (!(e instanceof MtError)) throw e;
    expect(e.message.length > 0 && e.where.length > 0, 'an MtError without its place or message');
    return null;
  }
}

/** Model → MT → model: the writer inverts the reader. */
export function checkRoundTrip(doc: Pacs008): void {
  let text: string;
  try {
    text = writeMt103(doc);
  } catch (e) {
    throw new Error(`writing an MT103 the reader accepted failed: ${(e as Error).message}\n  model: ${JSON.stringify(doc)}`, { cause: e });
  }
  let again: Pacs008;
  try {
    again = readMt103(text, { receivedAt: doc.header.creationDateTime });
  } catch (e) {
    throw new Error(`the reader refuses what the writer wrote: ${(e as Error).message}\n  text: ${JSON.stringify(text)}`, { cause: e });
  }
  expect(isDeepStrictEqual(again, doc), `MT → model → MT → model changed the model:\n  read:  ${JSON.stringify(doc)}\n  again: ${JSON.stringify(again)}`);
}

export const mt103Target: FuzzTarget = {
  name: 'mt103',
  about: 'MT103 bodies: a Pacs008 or an MtError, never another exception; what reads writes back and reads the same',
  sources: ['host/payments/fin.ts', 'host/payments/mt103.ts', 'host/payments/mt103-fields.ts', 'host/payments/mt103-read.ts',
    'host/payments/mt103-write.ts'],
  maxLen: 12288,
  dictionary: ['{1:F01', '{2:I103', '{2:O103', '{3:', '{4:\r\n', '{4:\n', '\r\n-}', '\n-}', '{5:', '{CHK:', '{MAC:', '{PDE:}', '{108:', '{113:',
    '{119:STP}', '{121:', '{433:', '{451:0}', '{177:', '{405:', '}', '{', ':', '\r\n', '\n', '//', '/', ',', 'F01', '0000000000', 'N', 'U',
    ':20:', ':13C:', ':23B:', ':23E:', ':26T:', ':32A:', ':33B:', ':36:', ':50A:', ':50F:', ':50K:', ':51A:', ':52A:', ':52D:', ':53A:',
    ':53B:', ':53D:', ':54A:', ':55A:', ':56A:', ':56C:', ':56D:', ':57A:', ':57B:', ':57C:', ':57D:', ':59:', ':59A:', ':59F:', ':70:',
    ':71A:', ':71F:', ':71G:', ':72:', ':77B:', ':77T:', 'CRED', 'SPAY', 'SPRI', 'SSTD', 'SDVA', 'INTC', 'CORT', 'HOLD', 'PHOB', 'TELB',
    'OUR', 'BEN', 'SHA', '/ROC/', '/ACC/', '/INS/', '/RFB/', '/BNF/', '/SNDTIME/', '/RNCTIME/', '/CLSTIME/', '/ORDERRES/', '/BENEFRES/',
    '1/', '2/', '3/', '4/', '5/', '6/', '7/', '8/', 'NIDN/', 'CUST/', 'ARNU/', '//FW', '//SC', '//CH', '//AT', 'USD', 'EUR', 'JPY',
    '240102', '991231', '800101', '1814,28', '0,', '1,5', '1234567890123,45', 'BBBBUS33XXX', 'NFOOUS33', 'AAAAUSLAXXXX',
    'DE89370400440532013000', 'GB29NWBK60161331926819', '8579f4a4-a547-463e-ae63-e7c6620d59b4', '1356+0000', '?', '&', '\u00e9'],
  check(input) {
    const doc = checkRead(input);
    if (doc !== null) checkRoundTrip(doc);
  },
};
