// Builds a started RedisBus from a URL: two connections of its own (commands without an
// offline queue, so publishes fail fast while Redis is away; and a subscriber), then start().
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { RedisBus } from './bus.js';
import type { BusFlowOptions } from './bus-flow.js';
import type { MessageCodec } from './node-frames.js';
import type { BusKeys } from './route-sync.js';
import { redisKeys } from './keys.js';

export interface ConnectBusOptions {
  url: string;
  prefix: string;
  nodeId: string;
  logger: Logger;
  codec: MessageCodec;
  ackTimeoutMs?: number;
  heartbeatMs?: number;
  nodeTtlMs?: number;
  flow?: BusFlowOptions;
}

/** Key and channel names of the bus: the ones in keys.ts (every key in one place). */
export function busKeys(prefix: string): BusKeys {
  return redisKeys(prefix);
}

function waitReady(redis: Redis): Promise<void> {
  if (redis.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onReady = () => (redis.off('end', onEnd), resolve());
    const onEnd = () => (redis.off('ready', onReady), reject(new Error('Redis connection ended before it was ready')));
    redis.once('ready', onReady);
    redis.once('end', onEnd);
  });
}

export async function connectBus(options: ConnectBusOptions): Promise<RedisBus> {
  const common = {
    connectionName: `starling:${options.nodeId}`,
    // Keep retrying for ever, quickly: a worker outlives a Redis restart.
    retryStrategy: (times: number) => Math.min(50 * times, 500),
    maxRetriesPerRequest: null,
  };
  const redis = new Redis(options.url, { ...common, enableOfflineQueue: false, enableAutoPipelining: true });
  const subscriber = new Redis(options.url, { ...common, autoResubscribe: true });
  // Errors surface through rejected commands and the bus's own outage log; keep ioredis quiet.
  redis.on('error', () => {});
  subscriber.on('error', () => {});
  try {
    await Promise.all([waitReady(redis), waitReady(subscriber)]);
    const bus = new RedisBus({ ...options, keys: busKeys(options.prefix), redis, subscriber });
    await bus.start();
    return bus;
  } catch (err) {
    redis.disconnect();
    subscriber.disconnect();
    throw err;
  }
}
