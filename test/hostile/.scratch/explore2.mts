import { boot, request, RawConn, parseResponses, sleep } from '../support.ts';
import { Server } from '../../support/helpers.ts';
const b = await boot('explore2', { keys: { admin: ['--role', 'admin'], auditor: ['--role', 'auditor'] } });
const base = `http://127.0.0.1:${b.port}`;
const H = { authorization: `Bearer ${b.keys.admin}`, 'content-type': 'application/json' };
let r = await fetch(base + '/v1/accounts', { method: 'POST', headers: H, body: JSON.stringify([{ id: '1', ledger: 1, code: 1 }, { id: '2', ledger: 1, code: 1 }]) });
console.log('accounts', r.status, await r.text());
const res = await fetch(base + '/v1/events', { headers: { authorization: `Bearer ${b.keys.auditor}` } });
console.log('events', res.status);
let text = '';
let ended = false;
(async () => { const dec = new TextDecoder(); try { for await (const c of res.body!) text += dec.decode(c, { stream: true }); } catch (e) { text += `\n[err ${e}]`; } ended = true; })();
r = await fetch(base + '/v1/transfers', { method: 'POST', headers: H, body: JSON.stringify([{ id: '10', debit_account_id: '1', credit_account_id: '2', amount: '1', ledger: 1, code: 1 }]) });
console.log('t10', r.status);
await sleep(200);
// pipeline revoke + transfer on one raw socket
const c = await RawConn.open(b.port, { localAddress: '127.0.0.4' });
const body = JSON.stringify([{ id: '11', debit_account_id: '1', credit_account_id: '2', amount: '1', ledger: 1, code: 1 }]);
c.socket.write(`DELETE /v1/keys/${b.keyIds.auditor} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${b.keys.admin}\r\n\r\n`
 + `POST /v1/transfers HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${b.keys.admin}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
await c.until(() => parseResponses(c.data()).length >= 2, 'two');
console.log(parseResponses(c.data()).map(x => [x.status, x.body.toString()]));
await sleep(500);
console.log('ended', ended, 'stream text:\n' + text);
await Server.killAll();
