// TLS and mutual TLS on the listener (`qenex boot --tls-cert --tls-key
// [--tls-client-ca]`): both protocols are served over TLS; with a client CA
// a client without a certificate from it is refused at the handshake, the
// server stays up and other clients are served. Certificates are made here
// with the openssl command line (a throw-away CA per run).

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import { join } from 'node:path';
import tls from 'node:tls';
import * as abi from '../../hal/abi.ts';
import { FrameClient } from '../../host/client/frames.ts';
import { makeImage, removeDir, runCli, Server, type TestImage, demoManifest } from '../support/helpers.ts';

let img: TestImage;
let dir = '';
const pem = (name: string): Buffer => readFileSync(join(dir, name));

function openssl(args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A CA, a server certificate for 127.0.0.1 and a client certificate signed by that CA. */
function makeCa(prefix: string): void {
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2',
    '-subj', `/CN=${prefix} test CA`, '-keyout', `${prefix}-ca.key`, '-out', `${prefix}-ca.pem`]);
}
function makeCert(ca: string, name: string, ext: string): void {
  writeFileSync(join(dir, `${name}.ext`), ext);
  openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', `/CN=${name}`,
    '-keyout', `${name}.key`, '-out', `${name}.csr`]);
  openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}-ca.pem`, '-CAkey', `${ca}-ca.key`, '-CAcreateserial',
    '-days', '2', '-extfile', `${name}.ext`, '-out', `${name}.pem`]);
}

test.before(() => {
  img = makeImage('tls', demoManifest());
  dir = img.dir;
  makeCa('good');
  makeCa('other');
  makeCert('good', 'server', 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  makeCert('good', 'client', 'extendedKeyUsage=clientAuth\n');
  makeCert('other', 'stranger', 'extendedKeyUsage=clientAuth\n');
});
test.after(async () => { await Server.killAll(); if (img !== undefined) removeDir(img.dir); });

function boot(name: string, extra: string[]): Server {
  return Server.start(['boot', img.imagePath, '--data', join(dir, name), '--trust', img.pubPath, '--listen', '127.0.0.1:0',
    '--tls-cert', join(dir, 'server.pem'), '--tls-key', join(dir, 'server.key'), ...extra]);
}

function health(port: number, client: { cert?: Buffer; key?: Buffer }): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port, path: '/v1/health', ca: pem('good-ca.pem'), ...client }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

async function echo(port: number, client: { cert?: Buffer; key?: Buffer }): Promise<string> {
  const c = await FrameClient.connectTls('127.0.0.1', port, { ca: pem('good-ca.pem'), ...client });
  const r = await c.request('echo', Buffer.from('over tls'));
  c.close();
  assert.is(r.status, abi.FRAME_OK);
  return r.payload.toString();
}

test('mutual TLS: a client certificate from the CA is served over HTTP and frames; none, or a stranger\'s, is refused', async () => {
  // Proves --tls-client-ca: HTTPS and binary frames work with the client's
  // certificate; without one, or with one from another CA, the handshake or
  // the first read fails and nothing is served; the server keeps serving
  // the good client afterwards; the ready line says "mutual".
  const server = boot('mutual', ['--tls-client-ca', join(dir, 'good-ca.pem')]);
  const ready = await server.waitFor('ready');
  assert.is(ready.tls, 'mutual');
  const { port } = await server.address();
  const good = { cert: pem('client.pem'), key: pem('client.key') };
  assert.is(await health(port, good), 200);
  assert.is(await echo(port, good), 'over tls');
  for (const client of [{}, { cert: pem('stranger.pem'), key: pem('stranger.key') }]) {
    let failed = false;
    try {
      await health(port, client);
    } catch {
      failed = true;
    }
    assert.ok(failed, 'a client without a certificate from the CA is not served');
  }
  assert.is(await health(port, good), 200, 'still serving');
  await server.kill('SIGTERM');
});

test('server TLS: any client that trusts the server is served; plain TCP is not', async () => {
  // Proves --tls-cert/--tls-key alone: HTTPS works without a client
  // certificate, the ready line says "server", and plaintext HTTP on the
  // port gets no HTTP answer (the TLS layer refuses it).
  const server = boot('server', []);
  const ready = await server.waitFor('ready');
  assert.is(ready.tls, 'server');
  const { port } = await server.address();
  assert.is(await health(port, {}), 200);
  assert.is(await echo(port, {}), 'over tls');
  const plain = await new Promise<string>((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port }, () => s.write('GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n'));
    let got = '';
    s.on('data', (d) => { got += d.toString('latin1'); });
    s.on('close', () => resolve(got));
    s.on('error', () => resolve(got));
  });
  assert.not.match(plain, /^HTTP\/1\.1 200/);
  await server.kill('SIGTERM');
});

test('TLS options are checked before boot: missing halves, unreadable files, a key that does not fit', () => {
  // Proves the CLI's refusals: each names what is wrong and exits 2 (usage).
  const base = ['boot', img.imagePath, '--data', join(dir, 'cli'), '--trust', img.pubPath, '--once'];
  const cases: [string[], RegExp][] = [
    [['--tls-cert', join(dir, 'server.pem')], /give both --tls-cert and --tls-key/],
    [['--tls-client-ca', join(dir, 'good-ca.pem')], /--tls-client-ca needs --tls-cert and --tls-key/],
    [['--tls-cert', join(dir, 'missing.pem'), '--tls-key', join(dir, 'server.key')], /--tls-cert .*missing\.pem: ENOENT/],
    [['--tls-cert', join(dir, 'server.ext'), '--tls-key', join(dir, 'server.key')], /not a PEM file/],
    [['--tls-cert', join(dir, 'server.pem'), '--tls-key', join(dir, 'client.key')], /cannot be used/],
  ];
  for (const [extra, pattern] of cases) {
    const r = runCli([...base, ...extra]);
    assert.is(r.code, 2, `${extra.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, pattern);
  }
});

test.run();
