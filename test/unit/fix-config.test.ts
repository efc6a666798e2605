// test/unit/fix-config.test.ts: the FIX acceptor's configuration
// (host/fix/config.ts). Proves:
//   - the boot flags are taken out of a command line (--fix-session and
//     --fix-option repeatable, --name value and --name=value), the rest left
//     for the shared parser;
//   - defaults, every option by name, and the manifest's "fix" object with
//     the flags overriding it (listen, sessions replaced, options one by one);
//   - unknown option names, bad values, a session twice, sessions without a
//     listener (and the reverse), half a TLS pair, inverted heartbeat bounds
//     and a malformed manifest object are refused with a message that says which;
//   - allowed_sources: IPs and CIDR blocks, IPv4-mapped addresses, any source
//     when not given;
//   - the Logon's LO_* flags from the options.
//
// Run: node test/run.mjs test/unit/fix-config.test.ts

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as P from '../../services/fix/protocol.ts';
import {
  FixConfigError, checkFixManifest, fixConfig, logonOptionFlags, parseSources, sourceAllowed, takeFixFlags, type FixFlags,
} from '../../host/fix/config.ts';

const flags = (f: Partial<FixFlags>): FixFlags => ({ sessions: [], options: [], ...f });
const refused = (fn: () => unknown, why: RegExp): void => {
  assert.throws(fn, (e: unknown) => e instanceof FixConfigError && why.test(e.message));
};

test('the FIX flags come out of the command line; the rest stays, in order', () => {
  const { rest, flags: f } = takeFixFlags(['image.qxi', '--data', 'd', '--fix-listen', '127.0.0.1:9878', '--fix-session=QENEX:CLIENT1',
    '--fix-session', 'QENEX:CLIENT2', '--fix-option', 'keys=true', '--fix-option=validate=false', '--once']);
  assert.equal(rest, ['image.qxi', '--data', 'd', '--once']);
  assert.equal(f, { listen: '127.0.0.1:9878', sessions: ['QENEX:CLIENT1', 'QENEX:CLIENT2'], options: ['keys=true', 'validate=false'] });
  refused(() => takeFixFlags(['--fix-session']), /needs a value/);
  refused(() => takeFixFlags(['--fix-listen', 'a:1', '--fix-listen', 'b:2']), /twice/);
  assert.equal(takeFixFlags(['--', '--fix-session', 'x']).rest, ['--', '--fix-session', 'x'], 'after -- nothing is a flag');
});

test('defaults, and every option by name', () => {
  const c = fixConfig(undefined, flags({ listen: '[::1]:9878', sessions: ['QENEX:CLIENT1'] }))!;
  assert.equal(c.listen, { host: '::1', port: 9878 });
  assert.equal(c.sessions, [{ ours: 'QENEX', theirs: 'CLIENT1' }]);
  assert.equal(c.options, { resetOnLogon: false, resetOnLogout: false, resetOnDisconnect: false, maxLatencyS: 120, heartbeatMinS: 1, heartbeatMaxS: 300,
    validate: true, allowedSources: '', keys: false });
  assert.is(c.sources, null);
  const all = fixConfig(undefined, flags({ listen: '0.0.0.0:1', sessions: ['A:B'], options: ['reset_on_logon=true', 'reset_on_logout=true',
    'reset_on_disconnect=true', 'max_latency_s=0', 'heartbeat_min_s=5', 'heartbeat_max_s=60', 'validate=false', 'allowed_sources=10.0.0.0/8',
    'tls_cert=c.pem', 'tls_key=k.pem', 'tls_client_ca=ca.pem', 'keys=true'] }))!;
  assert.equal(all.options, { resetOnLogon: true, resetOnLogout: true, resetOnDisconnect: true, maxLatencyS: 0, heartbeatMinS: 5, heartbeatMaxS: 60,
    validate: false, allowedSources: '10.0.0.0/8', tlsCert: 'c.pem', tlsKey: 'k.pem', tlsClientCa: 'ca.pem', keys: true });
  assert.is(logonOptionFlags(all.options), P.LO_RESET_ON_LOGON | P.LO_RESET_ON_LOGOUT | P.LO_RESET_ON_DISCONNECT);
  assert.is(fixConfig(undefined, flags({})), null, 'no listener, no sessions: no acceptor');
});

test('the manifest "fix" object, the flags overriding it', () => {
  const manifest = { listen: '127.0.0.1:9000', sessions: [{ sender: 'QENEX', target: 'C1' }, { sender: 'QENEX', target: 'C2' }], options: { keys: true, max_latency_s: 30 } };
  const m = fixConfig(manifest, flags({}))!;
  assert.equal([m.listen.port, m.sessions.length, m.options.keys, m.options.maxLatencyS], [9000, 2, true, 30]);
  const o = fixConfig(manifest, flags({ listen: '127.0.0.1:9001', sessions: ['QENEX:C3'], options: ['keys=false'] }))!;
  assert.equal([o.listen.port, o.sessions, o.options.keys, o.options.maxLatencyS], [9001, [{ ours: 'QENEX', theirs: 'C3' }], false, 30]);
  checkFixManifest(manifest);
  checkFixManifest({ sessions: [{ sender: 'A', target: 'B' }] });
  refused(() => checkFixManifest({ listen: 9000 }), /fix\.listen/);
  refused(() => checkFixManifest({ port: 1 }), /fix\.port: unknown field/);
  refused(() => checkFixManifest({ sessions: [{ sender: 'A' }] }), /fix\.sessions\[0\]/);
  refused(() => checkFixManifest({ options: { nope: 1 } }), /unknown FIX option "nope"/);
});

test('refused: unknown names, bad values, duplicates, a missing listener or session, half a TLS pair, inverted heartbeats', () => {
  const l = '127.0.0.1:9878';
  const s = ['QENEX:CLIENT1'];
  refused(() => fixConfig(undefined, flags({ listen: l, sessions: s, options: ['colour=blue'] })), /unknown FIX option "colour"/);
  refused(() => fixConfig(undefined, flags({ listen: l, sessions: s, options: ['keys=yes'] })), /keys: true or false/);
  refused(() => fixConfig(undefined, flags({ listen: l, sessions: s, options: ['max_latency_s=-1'] })), /max_latency_s: whole seconds/);
  refused(() => fixConfig(undefined, flags({ listen: l, sessions: s, options: ['keys'] })), /name=value/);
  refused(() => fixConfig(undefined, flags({ listen: l, sessions: s, options: ['allowed_sources=10.0.0.0/33'] })), /prefix length/);
  refused(() => fixConfig(undefined, flags({ listen: l, sessions: s, options: ['allowed_sources=example.com'] })), /not an IP address/);
  refused(() => fixConfig(undefined, flags({ listen: l, sessions: s, options: ['tls_cert=c.pem'] })), /both tls_cert and tls_key/);
  refused(() => fixConfig(undefined, flags({ listen: l, sessions: s, options: ['tls_client_ca=ca.pem'] })), /tls_client_ca needs/);
  refused(() => fixConfig(undefined, flags({ listen: l, sessions: s, options: ['heartbeat_min_s=60', 'heartbeat_max_s=30'] })), /heartbeat_min_s/);
  refused(() => fixConfig(undefined, flags({ listen: l, sessions: ['QENEX:C1', 'QENEX:C1'] })), /given twice/);
  refused(() => fixConfig(undefined, flags({ listen: l, sessions: ['QENEX'] })), /<OurCompID>:<TheirCompID>/);
  refused(() => fixConfig(undefined, flags({ listen: l, sessions: ['QENEX:C=1'] })), /<OurCompID>:<TheirCompID>/);
  refused(() => fixConfig(undefined, flags({ listen: l, sessions: [`QENEX:${'x'.repeat(P.ID_MAX + 1)}`] })), new RegExp(`1 to ${P.ID_MAX}`));
  refused(() => fixConfig(undefined, flags({ sessions: s })), /without --fix-listen/);
  refused(() => fixConfig(undefined, flags({ listen: l })), /without a session/);
  refused(() => fixConfig(undefined, flags({ listen: 'nohost', sessions: s })), /host:port/);
  refused(() => fixConfig(undefined, flags({ listen: l, sessions: Array.from({ length: P.SESSIONS_MAX + 1 }, (_, i) => `Q:C${i}`) })), /at most/);
});

test('allowed_sources: addresses and CIDR blocks, IPv4-mapped addresses, any source when not given', () => {
  const list = parseSources('10.1.0.0/16, 192.168.1.7, ::1, fd00::/8');
  for (const a of ['10.1.2.3', '::ffff:10.1.200.1', '192.168.1.7', '::1', 'fd12::5']) assert.ok(sourceAllowed(list, a), a);
  for (const a of ['10.2.0.1', '192.168.1.8', '::2', undefined, '']) assert.not.ok(sourceAllowed(list, a), String(a));
  assert.ok(sourceAllowed(parseSources(''), '203.0.113.9'));
});

test.run();
