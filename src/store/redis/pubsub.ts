// Pub/sub on the store's connections. On one Redis (or a Sentinel-managed one) the bus uses
// PUBLISH/SUBSCRIBE. On a Redis Cluster it uses sharded pub/sub (SPUBLISH/SSUBSCRIBE, Redis 7):
// a channel lives on the shard that owns its slot, so each node's channel is served by one
// shard and bus traffic grows with the number of shards; classic PUBLISH would be broadcast to
// every server of the cluster. ioredis keeps one subscriber connection per master and
// re-subscribes when slots move or a replica is promoted. The receiver count of an SPUBLISH is
// that shard's subscribers of the channel: the same "0 means nobody heard it" the bus relies on.
import calculateSlot from 'cluster-key-slot';
import type { ChainableCommander, Cluster, Redis } from 'ioredis';
import { isCluster, type RedisConn } from './connection.js';

export type FrameHandler = (channel: Buffer, data: Buffer) => void;

/** PUBLISH, or SPUBLISH on a cluster: resolves with the number of receivers. */
export function publish(conn: RedisConn, channel: string, data: Buffer | string): Promise<number> {
  return (isCluster(conn) ? conn.spublish(channel, data) : conn.publish(channel, data)) as Promise<number>;
}

/** Adds the publish to a MULTI (on a cluster, the channel must share the MULTI's slot). */
export function publishIn(multi: ChainableCommander, sharded: boolean, channel: string, data: Buffer | string): ChainableCommander {
  return sharded ? multi.spublish(channel, data) : multi.publish(channel, data);
}

/** The channels subscribed through subscribe() on each cluster subscriber (onResubscribed). */
const subscribedChannels = new WeakMap<Cluster, Set<string>>();

export function subscribe(subscriber: RedisConn, ...channels: string[]): Promise<unknown> {
  if (!isCluster(subscriber)) return subscriber.subscribe(...channels);
  let known = subscribedChannels.get(subscriber);
  if (known === undefined) subscribedChannels.set(subscriber, (known = new Set()));
  for (const channel of channels) known.add(channel);
  return subscriber.ssubscribe(...channels);
}

/**
 * Calls handler when the subscriber's subscriptions were made again: one Redis, its reconnect
 * ('ready'); a Redis Cluster, a shard subscriber connection replaced or a subscribed channel's
 * slot now served by another master. ioredis says 'subscribersReady' after every change it sees
 * in the slot map, and the map read from different servers lists a shard's replicas in a
 * different order: after a failover that was a full resync a second on every node, for nothing.
 */
export function onResubscribed(subscriber: RedisConn, handler: () => void): void {
  if (!isCluster(subscriber)) {
    subscriber.on('ready', handler);
    return;
  }
  const masters = (): string => {
    let where = '';
    for (const channel of subscribedChannels.get(subscriber) ?? []) where += `${channel}@${subscriber.slots[calculateSlot(channel)]?.[0] ?? '?'} `;
    return where;
  };
  let seen = masters();
  let replaced = false;
  const mark = (): void => void (replaced = true);
  subscriber.on('+subscriber', mark);
  subscriber.on('-subscriber', mark);
  subscriber.on('subscribersReady', () => {
    const now = masters();
    if (!replaced && now === seen) return;
    replaced = false;
    seen = now;
    handler();
  });
}

/** Every frame arriving on subscriber's channels. */
export function onFrame(subscriber: RedisConn, handler: FrameHandler): void {
  subscriber.on(isCluster(subscriber) ? 'smessageBuffer' : 'messageBuffer', handler);
}

/** How many connections subscribe to channel (on a cluster: asked of the master that owns its slot). */
export async function listeners(conn: RedisConn, channel: string): Promise<number> {
  if (!isCluster(conn)) {
    const [, count] = (await conn.pubsub('NUMSUB', channel)) as [string, number];
    return Number(count);
  }
  const ask = async (): Promise<number> => {
    const [, count] = (await masterOf(conn, channel).call('PUBSUB', 'SHARDNUMSUB', channel)) as [string, number];
    return Number(count);
  };
  try {
    return await ask();
  } catch {
    // The slot map may be stale (a failover, a reshard): refresh it and ask the master it names now.
    await new Promise<void>((resolve) => conn.refreshSlotsCache(() => resolve()));
    return ask();
  }
}

/** The connection to the master serving key's slot (commands ioredis cannot route by key). */
export function masterOf(cluster: Cluster, key: string): Redis {
  const nodeKey = cluster.slots[calculateSlot(key)]?.[0];
  const node = cluster.nodes('master').find((n) => `${n.options.host}:${n.options.port}` === nodeKey);
  if (node === undefined) throw new Error(`no master known for the slot of ${key}`);
  return node;
}
