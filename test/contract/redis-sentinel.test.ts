// The Redis backend against the contract suite on a master found through Sentinel (one master,
// one replica, three sentinels), with --redis-wait-replicas 1: every flush waits for WAIT.
// Fails if connections cannot be made from a sentinel target, or if WAIT is sent where it
// blocks the flush (a wrong replica count never comes back and flush rejects).
import { createRedisBackend } from '../../src/store/redis/index.js';
import type { Backend } from '../../src/store/types.js';
import { startRedisSentinel, type RedisSentinelHandle } from '../helpers/redis-sentinel.js';
import { backendContract } from './backend-contract.js';

let sentinel: Promise<RedisSentinelHandle> | undefined;
const prefix = `contract${process.pid}:`;
let nodes = 0;

async function makeNode(): Promise<Backend> {
  sentinel ??= startRedisSentinel();
  const set = await sentinel;
  return createRedisBackend({
    target: { kind: 'sentinel', sentinels: set.sentinels, masterName: set.masterName },
    prefix,
    nodeId: `node-${++nodes}`,
    ackTimeoutMs: 2000,
    waitReplicas: { replicas: 1, timeoutMs: 2000 },
  });
}

backendContract('redis-sentinel', makeNode, async () => (await sentinel)?.stop(), { makePeer: makeNode });
