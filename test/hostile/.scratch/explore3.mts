import { boot, request, RawConn, metricsText, sleep } from '../support.ts';
import { Server } from '../../support/helpers.ts';
import net from 'node:net';
const b = await boot('explore3', { keys: { admin: ['--role', 'admin'] }, env: { QENEX_NET_REQUEST_TIMEOUT_MS: '3000' } });
const N = Number(process.argv[2] ?? 1100);
const t0 = Date.now();
const socks: { s: net.Socket; connected: boolean; closed: boolean; ended: boolean; err?: string; closedAt?: number }[] = [];
for (let i = 0; i < N; i++) {
  if (i % 200 === 0) await new Promise(r => setImmediate(r));
  const s = net.connect({ host: '127.0.0.1', port: b.port, allowHalfOpen: i % 2 === 0 });
  const e = { s, connected: false, closed: false, ended: false } as any;
  s.on('connect', () => { e.connected = true; });
  s.on('end', () => { e.ended = true; });
  s.on('error', (x: any) => { e.err = x.code; });
  s.on('close', () => { e.closed = true; e.closedAt = Date.now() - t0; });
  socks.push(e);
}
console.log('created', Date.now()-t0);
const count = () => ({ connected: socks.filter(x => x.connected).length, open: socks.filter(x => x.connected && !x.closed).length, closed: socks.filter(x => x.closed).length, ended: socks.filter(x => x.ended).length });
for (let i = 0; i < 40; i++) { await sleep(100); const c = count(); if (i % 5 === 0) console.log(Date.now() - t0, c); }
console.log(Date.now() - t0, count());
const errs: Record<string, number> = {};
for (const x of socks) errs[x.err ?? 'none'] = (errs[x.err ?? 'none'] ?? 0) + 1;
console.log(errs);
const m = await metricsText(b.port, b.keys.admin);
console.log(m.split('\n').filter(l => l.startsWith('qenex_net')).join('\n'));
// write a byte on half-open ones still not closed
const still = socks.filter(x => !x.closed);
console.log('still open', still.length, 'halfopen-ended', still.filter(x => x.ended).length);
await sleep(2500);
console.log('metrics conns', (await metricsText(b.port, b.keys.admin)).split('\n').filter(l=>l.startsWith('qenex_net_connections ')));
for (const x of still) x.s.write('x');
await sleep(300);
console.log('after write', count());
for (const x of still) if (!x.closed) x.s.write('y');
await sleep(300);
console.log('after write2', count());
const e2: Record<string, number> = {};
for (const x of socks) e2[x.err ?? 'none'] = (e2[x.err ?? 'none'] ?? 0) + 1;
console.log(e2);
await Server.killAll();
