import { boot, logEntryCount, rssBytes, request, mib, RawConn, parseResponses, sleep } from '../support.ts';
import { Server } from '../../support/helpers.ts';
const b = await boot('explore', { keys: { admin: ['--role', 'admin'] } });
console.log('ready', b.ready, 'rss', mib(rssBytes(b.server.child.pid!)), 'entries', logEntryCount(b.logPath));
const doc = await request(b.port, { path: '/v1/openapi.json' });
console.log('openapi bytes', doc.body.length);
await sleep(2000);
console.log('after 2s entries', logEntryCount(b.logPath), 'rss', mib(rssBytes(b.server.child.pid!)));
// attack 1 single
const c = await RawConn.open(b.port);
const t0 = Date.now();
c.socket.write('GET /v1/health HTTP/1.1\r\nX:' + ' '.repeat(16000) + '\x7f\r\n\r\n');
await c.until(() => c.closed, 'closed');
console.log('attack1', Date.now() - t0, 'ms', parseResponses(c.data()).map(r => [r.status, r.body.toString()]));
// lowercase get
const d = await RawConn.open(b.port);
d.socket.write('get /v1/health HTTP/1.1\r\nHost: x\r\n\r\n');
await d.until(() => d.closed || d.received > 0, 'x');
await new Promise(r => setTimeout(r, 200));
console.log('lower', d.data().toString(), d.closed);
await Server.killAll();
