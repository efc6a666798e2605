// test/unit/mt103.test.ts: SWIFT MT103 in and out (host/payments/mt103.ts):
// the FIN reader on three public sample messages (test/fixtures/swift-mt,
// one with a network ACK in front), their mapping to the payment model's
// pacs.008 and back to MT, a specific refusal for each kind of bad input,
// and a property: any transfer within MT's limits survives model -> MT ->
// model unchanged.
//
// Run: node --import tsx test/unit/mt103.test.ts

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../support/helpers.ts';
import { MtError, isIban, parseMt103, readMt103, writeMt103, type Mt103 } from '../../host/payments/mt103.ts';
import type { CreditTransfer, Pacs008 } from '../../host/payments/model.ts';

// ---- helpers ----

const FIXTURES = join(ROOT, 'test/fixtures/swift-mt');
const MSG01 = readFileSync(join(FIXTURES, 'mt103_out-ack_msg01.fin'), 'utf8');
const MSG02 = readFileSync(join(FIXTURES, 'mt103_out-ack_msg02.fin'), 'utf8');
const BULK = readFileSync(join(FIXTURES, 'mt103_bulk-with-ack_msg01.rje'), 'utf8');
const SAMPLES: [string, string][] = [['msg01', MSG01], ['msg02', MSG02], ['bulk', BULK]];

/** Runs `body`, expects an MtError whose message matches `message`. */
function refused(body: () => unknown, message: RegExp): void {
  try {
    body();
  } catch (e) {
    if (!(e instanceof MtError)) throw e;
    assert.match(e.message, message);
    return;
  }
  assert.unreachable(`expected an MtError matching ${message}`);
}

/** MSG01 with one piece of text replaced (the replaced text must be there). */
function edited(from: string, to: string, text = MSG01): string {
  assert.ok(text.includes(from), `sample holds ${JSON.stringify(from)}`);
  return text.replace(from, to);
}

function fieldsOf(mt: Mt103): string[] {
  return mt.fields.map((f) => `:${f.tag}:${f.value}`);
}

function only(doc: Pacs008): CreditTransfer {
  assert.is(doc.transactions.length, 1);
  return doc.transactions[0];
}

// ---- the samples ----

test('the samples parse: headers, the sender and receiver as BICs, block 4 field by field', () => {
  // Proves the envelope reader: output block 2 (the MIR names the sender, block 1 the receiver), block 3 and the text block.
  const m1 = parseMt103(MSG01);
  assert.is(m1.application.direction, 'O');
  assert.is(m1.senderBic, 'BBBBUS3NXXX');
  assert.is(m1.receiverBic, 'BICFOOYYXXX');
  assert.is(m1.uetr, '8579f4a4-a547-463e-ae63-e7c6620d59b4');
  assert.equal(m1.user.map((t) => t.tag), ['108', '121']);
  assert.equal(m1.fields.map((f) => f.tag), ['20', '23B', '32A', '50K', '52D', '59', '70', '71A', '72']);
  assert.is(m1.fields[6].value.split('\n')[1], 'UST,2007-  0.00   SEPTEMBER,2007   ', 'trailing spaces are kept');
  assert.is(m1.ack, undefined);
  const m2 = parseMt103(MSG02);
  assert.equal(m2.fields.map((f) => f.tag), ['20', '13C', '23B', '32A', '33B', '50K', '52A', '53A', '57A', '59', '71A']);
  assert.is(m2.uetr, undefined);
});

test('an RJE message with a network ACK in front: the ACK is exposed, the MT103 read', () => {
  // Proves the F21 ACK is read, checked to be an ACK (451:0) for this very message, and kept beside it.
  const mt = parseMt103(BULK);
  assert.ok(mt.ack !== undefined);
  assert.is(mt.ack!.accepted, true);
  assert.equal(mt.ack!.fields, [{ tag: '177', value: '1704260717' }, { tag: '451', value: '0' }]);
  assert.is(mt.ack!.basic.sequence, mt.basic.sequence);
  assert.is(mt.body.reference, '234234233');
  refused(() => parseMt103(edited('{451:0}', '{451:1}{405:H50}', BULK)), /ACK: the network rejected this message \(NAK, 451:1, 405:H50\)/);
  refused(() => parseMt103(edited('{1:F21AAAAUSLAAXXX5195167828}', '{1:F21AAAAUSLAAXXX5195167829}', BULK)), /ACK: the ACK .* is for another message/);
});

test('msg01 maps to pacs.008: amount, date, UETR, BICs, names, accounts, charge bearer, remittance, instructions', () => {
  // Proves the MT103 -> pacs.008 mapping on concrete values.
  const doc = readMt103(MSG01);
  assert.equal(doc.header, { msgId: '22342343', creationDateTime: '2019-10-14T22:10:00', numberOfTransactions: '1', settlementMethod: 'INDA' });
  const tx = only(doc);
  assert.is(tx.instrId, '22342343');
  assert.is(tx.endToEndId, 'NOTPROVIDED');
  assert.is(tx.uetr, '8579f4a4-a547-463e-ae63-e7c6620d59b4');
  assert.equal(tx.amount, { currency: 'USD', value: '1814.28' });
  assert.is(tx.settlementDate, '2019-10-14');
  assert.is(tx.chargeBearer, 'SHAR');
  assert.is(tx.bankOperationCode, 'CRED');
  assert.equal(tx.instructingAgent, { bic: 'BBBBUS3NXXX' });
  assert.equal(tx.instructedAgent, { bic: 'BICFOOYYXXX' });
  assert.equal(tx.debtor, { name: 'FOO CAPITAL MARKETS LP', address: { lines: ['99 WALL ST STE 9999', 'NEW YORK, NY 10005-3122'] } });
  assert.is(tx.debtorAccount, undefined);
  assert.equal(tx.debtorAgent, { name: 'NORTH FOO BANK', address: { lines: ['999 BROAD FOO RD', 'MELVILLE, NY 11747'] } });
  assert.equal(tx.creditor, { name: 'MERCADOS Y GESTION DE VALORES SA', address: { lines: ['FOOSTREET 65', 'MADRID SPAIN 28010701.18'] } });
  assert.equal(tx.creditorAccount, { other: '00123456789012345678' });
  assert.is(tx.remittance!.length, 4);
  assert.is(tx.remittance![2], ' 1,999.99');
  assert.equal(tx.instructionsForNextAgent, ['/ACC/ 00940060752415000231']);
});

test('msg02 maps to pacs.008: 13C, 33B, BIC agents, 53A as COVE with the reimbursement agent, OUR as DEBT', () => {
  // Proves the institution fields and the settlement method rule.
  const doc = readMt103(MSG02);
  assert.is(doc.header.settlementMethod, 'COVE');
  assert.is(doc.header.creationDateTime, '2019-10-28T13:57:00');
  const tx = only(doc);
  assert.equal(tx.amount, { currency: 'EUR', value: '111222.33' });
  assert.equal(tx.instructedAmount, { currency: 'EUR', value: '111222.33' });
  assert.is(tx.settlementDate, '2019-10-28');
  assert.equal(tx.timeIndications, ['/RNCTIME/1356+0000']);
  assert.equal(tx.debtorAgent, { bic: 'FOODESMM' });
  assert.equal(tx.instructingReimbursementAgent, { bic: 'FOODESMMXXX' });
  assert.equal(tx.creditorAgent, { bic: 'BICFOOYY' });
  assert.equal(tx.creditor, { name: 'FOO DIRECT EUROSTOXX 99' });
  assert.is(tx.chargeBearer, 'DEBT');
  assert.equal(tx.instructingAgent, { bic: 'CCCCUSMMXXX' });
  assert.is(tx.uetr, undefined);
});

test('the RJE sample maps to pacs.008: whole amounts without their comma, 53B account as INDA settlement account', () => {
  // Proves "3700," is "3700" (no digit changed) and :53B:/account is the settlement account, not an agent.
  const doc = readMt103(BULK);
  assert.is(doc.header.settlementMethod, 'INDA');
  assert.equal(doc.header.settlementAccount, { other: '00000000000000' });
  const tx = only(doc);
  assert.equal(tx.amount, { currency: 'USD', value: '3700' });
  assert.equal(tx.instructedAmount, { currency: 'USD', value: '3710' });
  assert.is(tx.settlementDate, '2019-04-25');
  assert.equal(tx.debtorAccount, { other: '0000000000' });
  assert.is(tx.debtor.name, 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA');
  assert.equal(tx.debtorAgent, { bic: 'CCCCNGLA' });
  assert.equal(tx.creditor, { name: 'BBBBBBBBBBBBBBBB' });
  assert.equal(tx.instructingAgent, { bic: 'BBBBUS33XXX' });
  assert.equal(tx.instructedAgent, { bic: 'AAAAUSLAXXX' });
  assert.equal(tx.remittance, ['/RFB/042517477151', 'REFERENCE:1500009007', 'TRANSFER']);
  assert.equal(tx.instructionsForNextAgent, ['/INS/DEUTSCHE BANK TRUST CO.', '//AMERICAS NEW YORK, NY 10015']);
  assert.is(tx.endToEndId, 'NOTPROVIDED');
});

test('MT -> model -> MT gives the same block 4 for every sample, and model -> MT -> model the same model', () => {
  // Proves the writer inverts the reader on real messages (block 4 exactly; headers become an input message).
  for (const [name, text] of SAMPLES) {
    const doc = readMt103(text);
    const out = writeMt103(doc);
    const back = parseMt103(out);
    assert.equal(fieldsOf(back), fieldsOf(parseMt103(text)), name);
    assert.is(back.application.direction, 'I');
    assert.is(back.senderBic, only(doc).instructingAgent!.bic, name);
    assert.is(back.receiverBic, only(doc).instructedAgent!.bic, name);
    assert.equal(readMt103(out, { receivedAt: doc.header.creationDateTime }), doc, name);
  }
  assert.ok(writeMt103(readMt103(MSG01)).includes('{3:{121:8579f4a4-a547-463e-ae63-e7c6620d59b4}}'));
});

test('CRLF and LF line ends read the same', () => {
  // Proves line ends do not change what is read (SWIFT writes CRLF; files often hold LF).
  for (const [name, text] of SAMPLES) {
    assert.equal(readMt103(text.split('\n').join('\r\n')), readMt103(text), name);
  }
});

test('a :70: /ROC/ reference is the end-to-end id; 23E splits into service level, category purpose and instructions', () => {
  // Proves the mapping choices for the end-to-end id and :23E:, and that they write back.
  const text = edited(':23B:CRED\n', ':23B:CRED\n:23E:SDVA\n:23E:INTC\n:23E:PHOB/0049 1234\n')
    .replace(':70:FINDERS FEES-JULY,2007-  10.00, AUG', ':70:/ROC/E2E-REF-7//INV/123');
  const tx = only(readMt103(text));
  assert.is(tx.endToEndId, 'E2E-REF-7');
  assert.is(tx.serviceLevel, 'SDVA');
  assert.is(tx.categoryPurpose, 'INTC');
  assert.equal(tx.instructionsForNextAgent, ['/PHOB/0049 1234', '/ACC/ 00940060752415000231']);
  assert.equal(fieldsOf(parseMt103(writeMt103(readMt103(text)))), fieldsOf(parseMt103(text)));
  refused(() => readMt103(edited(':23B:CRED\n', ':23B:CRED\n:23E:INTC\n:23E:CORT\n')), /:23E:: INTC and CORT both given/);
});

test('50F, 59F, IBANs, clearing codes and charges map to their model fields and back', () => {
  // Proves option F, the IBAN check, //FW clearing codes and 71F/71G on a message built for it.
  const text = edited(':50K:FOO CAPITAL MARKETS LP\n99 WALL ST STE 9999\nNEW YORK, NY 10005-3122\n',
    ':50F:/DE89370400440532013000\n1/A NAME LONGER THAN THIRTY-THREE C\n1/HARS\n2/1 MAIN STREET\n3/DE/BERLIN\n')
    .replace(':52D:NORTH FOO BANK\n999 BROAD FOO RD\nMELVILLE, NY 11747\n', ':52A://FW021000018\nNFOOUS33\n')
    .replace(':59:/00123456789012345678\nMERCADOS Y GESTION DE VALORES SA\nFOOSTREET 65\nMADRID SPAIN 28010701.18\n', ':59F:/ES9121000418450200051332\n1/MERCADOS SA\n3/ES/MADRID\n')
    .replace(':71A:SHA\n', ':71A:BEN\n:71F:USD10,\n:71F:EUR2,5\n:71G:USD1,\n');
  const tx = only(readMt103(text));
  assert.equal(tx.debtor, { name: 'A NAME LONGER THAN THIRTY-THREE CHARS', address: { lines: ['1 MAIN STREET'], country: 'DE', town: 'BERLIN' } });
  assert.equal(tx.debtorAccount, { iban: 'DE89370400440532013000' });
  assert.equal(tx.debtorAgent, { bic: 'NFOOUS33', clearingSystem: 'USABA', memberId: '021000018' });
  assert.equal(tx.creditor, { name: 'MERCADOS SA', address: { country: 'ES', town: 'MADRID' } });
  assert.equal(tx.creditorAccount, { iban: 'ES9121000418450200051332' });
  assert.is(tx.chargeBearer, 'CRED');
  assert.equal(tx.charges, [
    { amount: { currency: 'USD', value: '10' }, agent: { bic: 'BBBBUS3NXXX' } },
    { amount: { currency: 'EUR', value: '2.5' }, agent: { bic: 'BBBBUS3NXXX' } },
    { amount: { currency: 'USD', value: '1' }, agent: { bic: 'BICFOOYYXXX' } },
  ]);
  assert.equal(fieldsOf(parseMt103(writeMt103(readMt103(text)))), fieldsOf(parseMt103(text)));
  assert.ok(isIban('GB82WEST12345698765432') && !isIban('GB82WEST12345698765433') && !isIban('00123456789012345678'));
});

test('an input message (block 2 "I") takes its creation time from the caller', () => {
  // Proves input messages, which carry no date, need receivedAt, and that the sender is then block 1's LT address.
  const text = edited('{2:O1031610191014BBBBUS3NBXXX63382244921910142210N}', '{2:I103BBBBUS3NBXXXN}');
  refused(() => readMt103(text), /block 2: an input message carries no creation time/);
  const doc = readMt103(text, { receivedAt: '2024-05-01T10:00:00Z' });
  assert.is(doc.header.creationDateTime, '2024-05-01T10:00:00Z');
  assert.equal(only(doc).instructingAgent, { bic: 'BICFOOYYXXX' });
  assert.equal(only(doc).instructedAgent, { bic: 'BBBBUS3NXXX' });
});

// ---- refusals ----

test('bad input: each is refused with an error naming what is wrong and where', () => {
  // Proves every check the brief names, one message each (these become HTTP 400s).
  refused(() => parseMt103('hello, world'), /message: not a FIN message/);
  refused(() => parseMt103(edited('{2:O103', '{2:O202')), /block 2: message type 202 is not MT103/);
  refused(() => parseMt103(edited(':32A:191014USD1814,28\n', '')), /:32A:: mandatory field is missing/);
  refused(() => parseMt103(edited(':32A:191014', ':32A:191314')), /:32A: \(line 3\): value date '191314' is not a valid YYMMDD date/);
  refused(() => parseMt103(edited(':32A:191014', ':32A:190230')), /value date '190230'/);
  refused(() => parseMt103(edited('USD1814,28', 'USD1814.28')), /:32A: \(line 3\): amount '1814.28' has no decimal comma/);
  refused(() => parseMt103(edited('USD1814,28', 'USD1234567890123456,')), /:32A: \(line 3\): amount '1234567890123456,' is longer than 15 characters/);
  refused(() => parseMt103(edited('USD1814,28', 'US11814,28')), /:32A: \(line 3\): currency 'US1' is not 3 upper-case letters/);
  refused(() => parseMt103(edited('USD1814,28', 'USD1,814,28')), /is not digits with one decimal comma/);
  refused(() => parseMt103(edited(':71A:SHA', ':71A:XYZ')), /:71A: \(line \d+\): details of charges 'XYZ' is not OUR, BEN or SHA/);
  refused(() => parseMt103(edited('FOO CAPITAL MARKETS LP', 'FOO CAPITAL MARKETS LP & CO')), /:50K: \(block 4 line 4\): character U\+0026 at column 29 is outside the SWIFT character set x/);
  refused(() => parseMt103(edited('FOOSTREET 65', 'FOOSTRAßE 65')), /:59: \(block 4 line 12\): character U\+00DF/);
  refused(() => parseMt103(edited('\n-}', '\n')), /block 4: truncated: the text block does not end with a line holding "-}"/);
  refused(() => parseMt103(MSG01 + ' '.repeat(12 * 1024)), /message: \d+ characters is over the limit of 12288/);
  const bigText = edited(':72:', `:77B:${'/X/'.padEnd(35, 'X')}\n`.repeat(260) + ':72:');
  refused(() => parseMt103(bigText), /block 4: \d+ characters is over SWIFT's limit of 10000/);
  refused(() => parseMt103(edited(':23B:CRED\n', ':23B:CRED\n:32A:191014USD1,\n')), /:32A:: line 4: out of order|:32A:: line 4: duplicate/);
  refused(() => parseMt103(edited(':71A:SHA\n', ':71A:SHA\n:71A:OUR\n')), /:71A:: line \d+: duplicate field; :71A: appears once \(first on line \d+\)/);
  refused(() => parseMt103(edited(':20:22342343\n', ':20:22342343\n:20:X\n')), /:20:: line 2: duplicate field/);
});

test('more refusals: references, order, options, headers', () => {
  // Proves the other format rules: :20:'s slashes and length, field order, unknown and unread fields, block 3.
  refused(() => parseMt103(edited(':20:22342343', ':20:/22342343')), /:20: \(line 1\): sender's reference '\/22342343' must not start or end with '\/'/);
  refused(() => parseMt103(edited(':20:22342343', ':20:2234//2343')), /must not start or end with '\/' nor contain '\/\/'/);
  refused(() => parseMt103(edited(':20:22342343', ':20:12345678901234567')), /:20: \(line 1\): sender's reference must be 1 to 16 characters, not 17/);
  refused(() => parseMt103(edited(':23B:CRED\n:32A:191014USD1814,28\n', ':32A:191014USD1814,28\n:23B:CRED\n')), /:23B:: line 3: out of order; it must come before :32A:/);
  refused(() => parseMt103(edited(':71A:SHA', ':71A:SHA\n:99Z:X')), /:99Z:: line \d+: not a field of MT103/);
  refused(() => parseMt103(edited(':71A:SHA', ':55A:NFOOUS33\n:71A:SHA')), /:55A:: line \d+: field 55A is valid in MT103 but QENEX does not read it/);
  refused(() => parseMt103(edited(':23B:CRED', ':23B:CRDT')), /:23B: \(line 2\): bank operation code 'CRDT'/);
  refused(() => parseMt103(edited(':52D:NORTH FOO BANK', ':52A:NORTH FOO BANK')), /:52A: \(line 7\): .* is not a BIC/);
  refused(() => parseMt103(edited('{121:8579f4a4-a547-463e-ae63-e7c6620d59b4}', '{121:8579F4A4-A547-463E-AE63-E7C6620D59B4}')), /block 3 \{121:\}: .* is not a lower-case UUID version 4/);
  refused(() => parseMt103(edited('{1:F01BICFOOYYAXXX8667486276}', '{1:F01BICFOOYYAXXX866748627}')), /block 1: .* is not a basic header/);
  refused(() => parseMt103(edited(':72:/ACC/', ':72:/ACC/\n-')), /:72:: line \d+: content may not start with '-'/);
  refused(() => parseMt103(MSG01 + MSG02), /message: unexpected text after the message .* send one message per request/);
});

test('mapping refusals: what the model cannot hold is refused, not dropped', () => {
  // Proves :54A:, /C/ /D/ marks, 50F lines 4/-8/ and unknown clearing codes stop the mapping with a named error.
  refused(() => readMt103(edited(':59:', ':54A:NFOOUS33\n:59:')), /:54A:: the receiver's correspondent .* has no place/);
  refused(() => readMt103(edited(':52D:NORTH FOO BANK\n999 BROAD FOO RD\nMELVILLE, NY 11747', ':52A:/D/123\nNFOOUS33')), /:52A:: party identifier '\/D\/123' carries a \/C\/ or \/D\/ mark/);
  refused(() => readMt103(edited(':52D:NORTH FOO BANK\n999 BROAD FOO RD\nMELVILLE, NY 11747', ':52A://XX123\nNFOOUS33')), /:52A:: clearing code '\/\/XX123' is not one QENEX translates/);
  const with50F = edited(':50K:FOO CAPITAL MARKETS LP\n99 WALL ST STE 9999\nNEW YORK, NY 10005-3122', ':50F:/123\n1/FOO\n4/19700101');
  refused(() => readMt103(with50F), /:50a:: line '4\/19700101' .* has no place in the payment model/);
  refused(() => readMt103(edited(':72:/ACC/', ':72:/HOLD/')), /:72:: line 1 '\/HOLD\/ .*' starts with a code that belongs in :23E:/);
});

// ---- writing ----

const BASE: Pacs008 = readMt103(MSG02);

function withTx(change: Partial<CreditTransfer>): Pacs008 {
  return { ...BASE, transactions: [{ ...BASE.transactions[0], ...change }] };
}

test('writing: a name over 35 characters goes to option F in 33-character lines; what MT cannot carry is refused', () => {
  // Proves the writer wraps only where the specification does (option F), and refuses the rest by model path.
  const long = withTx({ debtor: { name: 'X'.repeat(40), address: { lines: ['STREET 1'] } }, debtorAccount: { other: '123' } });
  const text = writeMt103(long);
  assert.ok(text.includes(`:50F:/123\r\n1/${'X'.repeat(33)}\r\n1/XXXXXXX\r\n2/STREET 1\r\n`));
  assert.equal(only(readMt103(text, { receivedAt: BASE.header.creationDateTime })).debtor, long.transactions[0].debtor);
  refused(() => writeMt103(withTx({ debtor: { name: 'X'.repeat(140) }, debtorAccount: { other: '1' } })), /debtor: name, address and country need 5 lines; option F has 4/);
  refused(() => writeMt103(withTx({ debtor: { name: 'X'.repeat(36) } })), /transactions\[0\].debtor: :50F: needs an account or another id/);
  refused(() => writeMt103(withTx({ debtor: { name: 'FOO', lei: '5493001KJTIIGC8Y1R12' } })), /debtor.lei: MT103 has no field for an LEI/);
  refused(() => writeMt103(withTx({ creditor: { name: 'FOO', address: { street: 'MAIN', town: 'X' } } })), /creditor.address: MT carries address lines/);
  refused(() => writeMt103(withTx({ txId: 'T1' })), /transactions\[0\].txId: MT103 has no field for it/);
  refused(() => writeMt103(withTx({ creditorAgent: { bic: 'BICFOOYY', name: 'FOO BANK' } })), /creditorAgent: option A carries a BIC and an identifier only/);
  refused(() => writeMt103(withTx({ amount: { currency: 'EUR', value: '1234567890123456' } })), /amount.value: '1234567890123456' is not a decimal MT's 15d carries/);
  refused(() => writeMt103(withTx({ instrId: 'A-REFERENCE-OF-35-CHARACTERS-XXXXXX' })), /instrId: .* must be 1 to 16 characters/);
  refused(() => writeMt103(withTx({ creditor: { name: 'CAFÉ' } })), /creditor.name: character U\+00C9/);
  refused(() => writeMt103(withTx({ serviceLevel: 'G001' })), /serviceLevel: 'G001' has no MT103 field/);
  refused(() => writeMt103(withTx({ chargeBearer: 'SLEV' })), /chargeBearer: 'SLEV' is not DEBT, CRED or SHAR/);
  refused(() => writeMt103(withTx({ endToEndId: 'E2E', remittance: ['/ROC/OTHER'] })), /endToEndId: 'E2E' differs from the remittance's \/ROC\/OTHER/);
  refused(() => writeMt103({ ...BASE, transactions: [] }), /an MT103 carries exactly one credit transfer, not 0/);
});

test('writing: an end-to-end id becomes a /ROC/ line of :70: and reads back', () => {
  // Proves the end-to-end id survives MT, which has no field of its own for it.
  const doc = withTx({ endToEndId: 'E2E-1' });
  const text = writeMt103(doc);
  assert.ok(text.includes(':70:/ROC/E2E-1\r\n'));
  const tx = only(readMt103(text, { receivedAt: 'T' }));
  assert.is(tx.endToEndId, 'E2E-1');
  assert.equal(tx.remittance, ['/ROC/E2E-1']);
});

// ---- the property ----

const X_CHARS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/-?:().,'+ ".split('');
const SAFE_FIRST = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 abc('.split('');
const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ'.split('');
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'.split('');

const chars = (set: string[], min: number, max: number) => fc.string({ unit: fc.constantFrom(...set), minLength: min, maxLength: max });
/** A line of x that cannot be read as an identifier, a new field or a code: its first character is safe, and it holds no /ROC/. */
const textLine = (max: number) => fc.tuple(fc.constantFrom(...SAFE_FIRST), chars(X_CHARS, 0, max - 1)).map(([a, b]) => a + b).filter((s) => !s.includes('ROC/'));
const bic8 = fc.tuple(chars(UPPER, 6, 6), chars(ALNUM, 2, 2)).map(([a, b]) => a + b);
const bic = fc.oneof(bic8, fc.tuple(bic8, chars(ALNUM, 3, 3)).map(([a, b]) => a + b));
const bic11 = fc.tuple(bic8, chars(ALNUM, 3, 3)).map(([a, b]) => a + b);
const amount = fc.tuple(chars('0123456789'.split(''), 1, 10), fc.option(chars('0123456789'.split(''), 1, 4), { nil: undefined }))
  .map(([whole, fraction]) => (fraction === undefined ? whole : `${whole}.${fraction}`));
const money = fc.record({ currency: chars(UPPER, 3, 3), value: amount });
const date = fc.date({ min: new Date('1980-01-01T00:00:00Z'), max: new Date('2079-12-31T00:00:00Z'), noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10));
const IBANS = ['GB82WEST12345698765432', 'DE89370400440532013000', 'ES9121000418450200051332', 'FR1420041010050500013M02606'];
const account = fc.oneof(fc.constantFrom(...IBANS).map((iban) => ({ iban })), chars(ALNUM, 1, 34).filter((s) => !isIban(s)).map((other) => ({ other })));

/** A customer (debtor or creditor) MT can carry, with its account; option F shapes when `f` allows them. */
function customer(ordering: boolean) {
  const k = fc.record({ name: textLine(35), lines: fc.array(textLine(35), { maxLength: 3 }) }).map(({ name, lines }) => ({ name, ...(lines.length > 0 ? { address: { lines } } : {}) }));
  const f = fc.record({
    name: textLine(66), lines: fc.array(textLine(33), { maxLength: 1 }),
    country: chars(UPPER, 2, 2), town: fc.option(textLine(30), { nil: undefined }),
  }).map(({ name, lines, country, town }) => ({ name, address: { ...(lines.length > 0 ? { lines } : {}), country, ...(town === undefined ? {} : { town }) } }));
  const party = fc.oneof(bic.map((anyBic) => ({ anyBic })), k, f);
  const otherId = fc.tuple(fc.constantFrom('NIDN', 'CUST', 'TXID'), chars(UPPER, 2, 2), chars(ALNUM, 1, 27)).map(([c, cc, id]) => `${c}/${cc}/${id}`);
  return fc.tuple(party, fc.option(account, { nil: undefined }), fc.option(otherId, { nil: undefined })).map(([p, acct, other]) => {
    const isF = 'address' in p && p.address !== undefined && 'country' in p.address;
    // :50F: needs an account or another id, and carries one of them; :59F: carries no other id.
    if (isF && ordering && acct === undefined) return { party: { ...p, otherId: other ?? 'CUST/DE/1' }, account: undefined };
    return { party: p, account: acct };
  });
}

const agentArb = (options: string) => fc.oneof(
  ...[
    options.includes('A') ? bic.map((b) => ({ bic: b })) : undefined,
    options.includes('A') ? fc.tuple(bic, chars('0123456789'.split(''), 9, 9)).map(([b, m]) => ({ bic: b, clearingSystem: 'USABA', memberId: m })) : undefined,
    options.includes('D') ? fc.tuple(textLine(35), fc.array(textLine(35), { maxLength: 3 })).map(([name, lines]) => ({ name, ...(lines.length > 0 ? { address: { lines } } : {}) })) : undefined,
    options.includes('B') ? textLine(35).map((l) => ({ address: { lines: [l] } })) : undefined,
    options.includes('C') ? chars('0123456789'.split(''), 6, 6).map((m) => ({ clearingSystem: 'GBDSC', memberId: m })) : undefined,
  ].filter((a) => a !== undefined),
);

const transferArb = fc.record({
  instrId: fc.tuple(fc.constantFrom(...ALNUM), chars(ALNUM.concat(['-', '.']), 0, 15)).map(([a, b]) => a + b),
  roc: fc.option(chars(ALNUM, 1, 30), { nil: undefined }),
  uetr: fc.option(fc.uuid({ version: 4 }), { nil: undefined }),
  amount: money, instructed: fc.option(money, { nil: undefined }), rate: fc.option(amount.filter((a) => a.length <= 11), { nil: undefined }),
  date, bearer: fc.constantFrom('DEBT', 'CRED', 'SHAR'), operation: fc.constantFrom('CRED', 'SPAY', 'SPRI', 'SSTD', 'CRTS'),
  debtor: customer(true), creditor: customer(false),
  debtorAgent: fc.option(agentArb('AD'), { nil: undefined }), debtorAgentAccount: fc.option(chars(ALNUM, 1, 20).map((other) => ({ other })), { nil: undefined }),
  intermediary: fc.option(agentArb('A'), { nil: undefined }),
  creditorAgent: fc.option(agentArb('ABCD'), { nil: undefined }),
  settlement: fc.oneof(fc.constant(undefined), chars(ALNUM, 1, 20).map((other) => ({ other })), agentArb('ABD')),
  remittance: fc.array(textLine(35), { maxLength: 3 }),
  sendersCharges: fc.array(money, { maxLength: 2 }), receiversCharge: fc.option(money, { nil: undefined }),
  sdva: fc.boolean(), purpose: fc.option(fc.constantFrom('INTC', 'CORT'), { nil: undefined }),
  codes: fc.array(fc.constantFrom('/HOLD/', '/CHQB/', '/PHOB/0049 1234', '/TELI/', '/REPA/X'), { maxLength: 2 }),
  instructions: fc.array(textLine(35), { maxLength: 6 }),
  times: fc.array(fc.constantFrom('/CLSTIME/1200+0100', '/SNDTIME/0000-1330'), { maxLength: 2 }),
  regulatory: fc.array(textLine(35), { maxLength: 3 }),
  typeCode: fc.option(chars(ALNUM, 3, 3), { nil: undefined }),
  sender: bic11, receiver: bic11,
}).filter((t) => t.sender !== t.receiver);

type Generated = typeof transferArb extends fc.Arbitrary<infer T> ? T : never;

/** The Pacs008 a generated transfer stands for, shaped as the reader gives it (no key holds undefined). */
function toDoc(t: Generated): Pacs008 {
  const tx: CreditTransfer = {
    instrId: t.instrId, endToEndId: t.roc ?? 'NOTPROVIDED', amount: t.amount, settlementDate: t.date, chargeBearer: t.bearer,
    bankOperationCode: t.operation, debtor: t.debtor.party, creditor: t.creditor.party,
    instructingAgent: { bic: t.sender }, instructedAgent: { bic: t.receiver },
  };
  const set = <K extends keyof CreditTransfer>(key: K, value: CreditTransfer[K] | undefined) => { if (value !== undefined) tx[key] = value; };
  set('uetr', t.uetr);
  set('instructedAmount', t.instructed);
  set('exchangeRate', t.rate);
  set('timeIndications', t.times.length > 0 ? t.times : undefined);
  set('purpose', t.typeCode);
  set('debtorAccount', t.debtor.account);
  set('creditorAccount', t.creditor.account);
  set('debtorAgent', t.debtorAgent);
  set('debtorAgentAccount', t.debtorAgent !== undefined && !('memberId' in t.debtorAgent) ? t.debtorAgentAccount : undefined);
  set('intermediaryAgent1', t.intermediary);
  set('creditorAgent', t.creditorAgent);
  const remittance = t.roc === undefined ? t.remittance : [`/ROC/${t.roc}`, ...t.remittance];
  set('remittance', remittance.length > 0 ? remittance : undefined);
  const charges = [...t.sendersCharges.map((amount) => ({ amount, agent: { bic: t.sender } })),
    ...(t.receiversCharge === undefined ? [] : [{ amount: t.receiversCharge, agent: { bic: t.receiver } }])];
  set('charges', charges.length > 0 ? charges : undefined);
  set('serviceLevel', t.sdva ? 'SDVA' : undefined);
  set('categoryPurpose', t.purpose);
  const instructions = [...t.codes, ...t.instructions];
  set('instructionsForNextAgent', instructions.length > 0 ? instructions : undefined);
  set('regulatoryReporting', t.regulatory.length > 0 ? t.regulatory : undefined);
  const header: Pacs008['header'] = { msgId: t.instrId, creationDateTime: '2024-01-02T03:04:05Z', numberOfTransactions: '1', settlementMethod: 'INDA' };
  if (t.settlement !== undefined && 'other' in t.settlement) header.settlementAccount = t.settlement;
  else if (t.settlement !== undefined) {
    header.settlementMethod = 'COVE';
    tx.instructingReimbursementAgent = t.settlement;
  }
  // A plain copy: fast-check's records have no prototype, and the reader's objects do.
  return JSON.parse(JSON.stringify({ kind: 'pacs.008', header, transactions: [tx] })) as Pacs008;
}

test('property: model -> MT -> model is the identity on transfers within MT\'s limits', () => {
  // Proves the writer and reader are inverse on everything MT carries: parties in options A, K/no letter and F,
  // every institution option, settlement methods, charges, 23E codes, remittance with /ROC/, narratives.
  fc.assert(fc.property(transferArb, (t) => {
    const doc = toDoc(t);
    const text = writeMt103(doc);
    assert.equal(readMt103(text, { receivedAt: doc.header.creationDateTime }), doc);
  }), { numRuns: 500 });
});

test('property: mangled samples are refused with an MtError or read, written and read back the same; hostile input is quick', () => {
  // Proves the reader has no crash paths on hostile input (cuts, insertions, replacements anywhere in a sample), and
  // that whatever it accepts the writer can write: reader and writer agree on every rule, not only on the samples.
  // Whole fields and line starts too, so mangled messages that still read cover every option, not only the samples'.
  const snippets = [':20:X', ':23E:SDVA', ':23E:HOLD/X', ':26T:ABC', ':36:1,5', ':56A:NFOOUS33', ':57B:/123\nLONDON', ':57C://SC123456', ':57D:BANK\nSTREET',
    ':59F:/123\n1/NAME\n3/GB/LONDON', ':50F:NIDN/DE/1\n1/N\n2/A\n3/DE', ':71F:USD1,', ':71G:EUR2,', ':77B:/ORDERRES/BE//X', ':53D:NAME', ':50A:/1\nNFOOUS33',
    ':13C:/SNDTIME/1000+0100', '//', '/ROC/AB', '1/', '3/DE'].map((s) => `\n${s}`);
  const edit = fc.record({
    sample: fc.constantFrom(MSG01, MSG02, BULK), at: fc.nat(700), cut: fc.nat(60),
    insert: fc.oneof(fc.string({ unit: fc.constantFrom(...'{}:-\r\n/,.0123456789ABZaz ?&'.split('')), maxLength: 12 }), fc.constantFrom(...snippets)),
  });
  fc.assert(fc.property(edit, ({ sample, at, cut, insert }) => {
    const text = sample.slice(0, at) + insert + sample.slice(at + cut);
    let doc: Pacs008;
    try {
      doc = readMt103(text, { receivedAt: 'T' });
    } catch (e) {
      if (!(e instanceof MtError)) throw e;
      return;
    }
    // What reads also writes, and reads back the same (the creation time aside: an input message has none).
    const again = readMt103(writeMt103(doc), { receivedAt: doc.header.creationDateTime });
    assert.equal(again, doc);
  }), { numRuns: 20_000 });
  const started = performance.now();
  for (const junk of ['{1:' + 'A'.repeat(12_000), '{'.repeat(12_000), `${MSG01.slice(0, 200)}${':20:X\n'.repeat(2000)}`]) {
    refused(() => parseMt103(junk), /./);
  }
  assert.ok(performance.now() - started < 500, 'hostile inputs are refused in linear time');
});

test.run();
