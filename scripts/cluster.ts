// scripts/cluster.ts: `make cluster`. Three NATS servers (JetStream, TLS, an
// NKey per node; test/support/nats-cluster.ts) and three QENEX nodes of the
// bank image on loopback (test/support/cluster.ts): n1 seeds the cluster
// with a log holding an operator key, n2 and n3 join and follow. Prints the
// nodes' addresses, the key and the `qenex cluster status` command, then
// serves until Ctrl-C, which stops everything and removes the directories.
// A throw-away cluster to look at, not a deployment (docs/cluster.md says how
// one is run).

import { QenexCluster } from '../test/support/cluster.ts';
import { bankManifestUnlimited } from '../test/support/helpers.ts';

const c = await QenexCluster.start('make-cluster', bankManifestUnlimited());
const status = ['node', 'dist/qenex.js', 'cluster', 'status', '--cluster', c.nats.urls.join(','),
  '--nats-creds', c.nats.credsFile('client'), '--nats-ca', c.nats.caFile].join(' ');
console.log(JSON.stringify({ event: 'cluster_up', nodes: c.addresses(), leader: c.addresses()[await c.leader()], key: c.key, status }, null, 2));
console.log('Ctrl-C stops the cluster. Try: kill -9 the leader (its pid is in `ps`), then call another node with the same key.');
const stop = async () => {
  await c.stop();
  process.exit(0);
};
process.once('SIGINT', () => void stop());
process.once('SIGTERM', () => void stop());
setInterval(() => {}, 1 << 30);
