// Two hosts on one Redis Cluster (3 masters, 3 replicas) act as one broker: subscribe on one,
// publish on the other, retained, takeover with one will, persistent resume, a dead host
// recovered (the tests: two-hosts-suite.ts). Fails if cross-host frames do not travel by
// SPUBLISH to the shard of the node's channel, or a session's keys are not in one slot.
import { startRedisCluster } from '../../helpers/redis-cluster.js';
import { twoHostsSuite } from './two-hosts-suite.js';

twoHostsSuite(async () => {
  const cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 1, nodeTimeoutMs: 5000 });
  return { hostOptions: { redisCluster: cluster }, stop: () => cluster.stop() };
});
