// The Redis backend against the contract suite: two nodes (two backends, each with its own
// connections and node id) on one private redis-server, isolated by a unique key prefix.
import { createRedisBackend } from '../../src/store/redis/index.js';
import type { Backend } from '../../src/store/types.js';
import { startRedisServer, type RedisServerHandle } from '../helpers/redis-server.js';
import { backendContract } from './backend-contract.js';

let server: RedisServerHandle | undefined;
const prefix = `contract${process.pid}:`;
let nodes = 0;

async function makeNode(): Promise<Backend> {
  server ??= await startRedisServer();
  return createRedisBackend({ target: server.url, prefix, nodeId: `node-${++nodes}`, ackTimeoutMs: 2000 });
}

backendContract('redis', makeNode, async () => server?.stop(), { makePeer: makeNode });
