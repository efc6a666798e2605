// The cluster's command-line flags (host/cmd/cluster.ts clusterFromArgs) and
// the status's verdict on state hashes (hashesAgree): what `qenex boot
// --cluster` refuses before it connects anywhere, and when `qenex cluster
// status` says the nodes disagree.

import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { clusterFromArgs, hashesAgree } from '../../host/cmd/cluster.ts';
import { CliError } from '../../host/cmd/args.ts';
import type { NodeReport } from '../../host/cluster/protocol.ts';

function refused(values: Record<string, string>, seed = false): string {
  try {
    clusterFromArgs(new Map(Object.entries(values)), seed);
  } catch (e) {
    assert.instance(e, CliError);
    assert.is((e as CliError).exitCode, 2, 'a usage error');
    return (e as Error).message;
  }
  assert.unreachable(`accepted ${JSON.stringify(values)}`);
  return '';
}

test('cluster flags: the URLs split, the node named, every flag that needs --cluster refused without it', () => {
  // Proves: --cluster with --node gives the servers (trimmed, empty ones
  // dropped), the connection name and the files; no --cluster gives null;
  // the other cluster flags alone, a missing or malformed node name and an
  // empty URL list are usage errors naming the flag.
  const f = clusterFromArgs(new Map([['cluster', 'tls://a:4222, tls://b:4222,'], ['node', 'n-1_x'], ['nats-creds', 'n1.nk'], ['nats-ca', 'ca.pem']]), true);
  assert.equal(f, { servers: ['tls://a:4222', 'tls://b:4222'], node: 'n-1_x', name: 'qenex-n-1_x', credsFile: 'n1.nk', caFile: 'ca.pem', seed: true });
  assert.is(clusterFromArgs(new Map()), null);
  assert.match(refused({ node: 'n1' }), '--node needs --cluster');
  assert.match(refused({ 'nats-ca': 'ca.pem' }), '--nats-ca needs --cluster');
  assert.match(refused({}, true), '--seed needs --cluster');
  assert.match(refused({ cluster: 'nats://a:4222' }), '--cluster needs --node');
  assert.match(refused({ cluster: 'nats://a:4222', node: 'n 1' }), '--cluster needs --node');
  assert.match(refused({ cluster: 'nats://a:4222', node: 'x'.repeat(65) }), '--cluster needs --node');
  assert.match(refused({ cluster: ' , ', node: 'n1' }), '--cluster wants NATS URLs');
});

function report(node: string, hashEntries: number, hash: string | null): NodeReport {
  return { node, role: 'follower', term: 1, seq: 1, end: 1, entries: hashEntries, state_hash: hash, hash_entries: hashEntries, image: 'i', message: null, at_ms: 0 };
}

test('hashes agree when every node that hashed the same number of entries got the same hash', () => {
  // Proves: equal hashes at one position agree; different positions are
  // not compared; no hash yet is no disagreement; two hashes at one
  // position that differ are a disagreement, whoever else agrees.
  assert.ok(hashesAgree([report('a', 10, 'h1'), report('b', 10, 'h1'), report('c', 12, 'h2')]));
  assert.ok(hashesAgree([report('a', 10, 'h1'), report('b', 0, null)]));
  assert.ok(hashesAgree([]));
  assert.not.ok(hashesAgree([report('a', 10, 'h1'), report('b', 10, 'h1'), report('c', 10, 'h3')]));
});

test.run();
