// The Redis backend against the contract suite on a Redis Cluster (3 masters, 3 replicas): two
// nodes with their own connections, sharded pub/sub between them, isolated by a key prefix.
// Fails if a script or MULTI touches keys of two slots (CROSSSLOT), if the bus publishes
// without SPUBLISH (a node's frames would not reach it), or if ownership relies on one connection's order.
import { createRedisBackend } from '../../src/store/redis/index.js';
import type { Backend } from '../../src/store/types.js';
import { startRedisCluster, type RedisClusterHandle } from '../helpers/redis-cluster.js';
import { backendContract } from './backend-contract.js';

let cluster: Promise<RedisClusterHandle> | undefined;
const prefix = `contract${process.pid}:`;
let nodes = 0;

async function makeNode(): Promise<Backend> {
  // A node timeout of 5 s: on a loaded machine 1 s lets a busy master be failed over by mistake.
  cluster ??= startRedisCluster({ masters: 3, replicasPerMaster: 1, nodeTimeoutMs: 5000 });
  const { seeds } = await cluster;
  return createRedisBackend({ target: { kind: 'cluster', nodes: seeds }, prefix, nodeId: `node-${++nodes}`, ackTimeoutMs: 2000 });
}

backendContract('redis-cluster', makeNode, async () => (await cluster)?.stop(), { makePeer: makeNode });
