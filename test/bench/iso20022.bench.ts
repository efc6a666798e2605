// test/bench/iso20022.bench.ts: what the ISO 20022 front end's reader and
// writer (host/payments/iso20022.ts) cost per message, on one core:
//   read   bytes of a sample pacs.008 → model (readIsoMessage: UTF-8
//          decode, XML parse into a tree, envelope split, mapping), for the
//          CBPR+ sample (3.7 KB, SWIFT envelope with AppHdr) and the FedNow
//          one (8 KB, mostly its licence comment);
//   parse  the XML layer alone on the CBPR+ sample (parseXml), so the share
//          of the mapping shows;
//   write  a one-transaction pacs.008 model → UTF-8 bytes, bare Document
//          and in a SWIFT envelope with its AppHdr.
// Each figure is the best of ROUNDS timed loops of LOOP_MS after a warm-up,
// so a JIT tier-up or a GC pause of the shared machine does not set it.
// Run alone: node --import tsx test/bench/run.ts iso20022

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readIsoMessage, writeIsoMessage } from '../../host/payments/iso20022.ts';
import type { Pacs008 } from '../../host/payments/model.ts';
import { parseXml } from '../../host/payments/xml.ts';
import { ROOT, round, type Bench, type FigureSpec, type Figures } from './support.ts';

const CBPR = join(ROOT, 'test/fixtures/iso20022/cbprplus_c.105.1.1_pacs.008_AtoB.xml');
const FEDNOW = join(ROOT, 'test/fixtures/iso20022/fednow_pacs.008_sample-participant-to-fednow-message.xml');
const LOOP_MS = 1_000;
const ROUNDS = 3;
const WARMUP = 2_000;

const FIGURES: FigureSpec[] = [
  { key: 'read_cbpr_pacs008_per_s', row: 'read pacs.008, CBPR+ sample (envelope + AppHdr)', col: 'messages/s' },
  { key: 'read_fednow_pacs008_per_s', row: 'read pacs.008, FedNow sample', col: 'messages/s' },
  { key: 'parse_cbpr_pacs008_per_s', row: 'parse XML only, CBPR+ sample', col: 'messages/s' },
  { key: 'write_pacs008_per_s', row: 'write pacs.008, 1 transaction, bare Document', col: 'messages/s' },
  { key: 'write_pacs008_envelope_per_s', row: 'write pacs.008, 1 transaction, envelope + AppHdr', col: 'messages/s' },
];

/** Best rate of `fn` over ROUNDS loops of LOOP_MS, after WARMUP calls. */
function rate(fn: () => unknown): number {
  for (let i = 0; i < WARMUP; i++) fn();
  let best = 0;
  for (let r = 0; r < ROUNDS; r++) {
    const started = performance.now();
    let n = 0;
    while (performance.now() - started < LOOP_MS) {
      for (let i = 0; i < 100; i++) fn();
      n += 100;
    }
    best = Math.max(best, n / ((performance.now() - started) / 1000));
  }
  return best;
}

const bench: Bench = {
  name: 'iso20022',
  title: 'Payments: ISO 20022 read and write (one core)',
  figures: FIGURES,
  requires: [CBPR, FEDNOW],
  async run() {
    const cbpr = readFileSync(CBPR);
    const fednow = readFileSync(FEDNOW);
    const { appHeader, message } = readIsoMessage(cbpr);
    const pacs008 = message as Pacs008;
    if (pacs008.transactions.length !== 1) throw new Error('the CBPR+ sample should hold one transaction');
    const figures: Figures = {
      read_cbpr_pacs008_per_s: round(rate(() => readIsoMessage(cbpr))),
      read_fednow_pacs008_per_s: round(rate(() => readIsoMessage(fednow))),
      parse_cbpr_pacs008_per_s: round(rate(() => parseXml(cbpr))),
      write_pacs008_per_s: round(rate(() => writeIsoMessage(pacs008))),
      write_pacs008_envelope_per_s: round(rate(() => writeIsoMessage(pacs008, { appHeader }))),
    };
    return {
      figures,
      params: { loop_ms: LOOP_MS, rounds: ROUNDS, cbpr_bytes: cbpr.length, fednow_bytes: fednow.length, written_bytes: writeIsoMessage(pacs008).length },
      notes: ['best of the rounds; one core, no I/O'],
    };
  },
};

export default bench;
