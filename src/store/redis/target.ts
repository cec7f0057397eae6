// Where the shared store lives: one Redis (--redis URL), a Redis Cluster (--redis-cluster
// host:port,…) or a master followed through Sentinel (--redis-sentinel host:port,…
// --redis-master NAME). Every Redis connection Starling makes is built from one of these
// (connection.ts), so the rest of the code never asks which kind it runs on, except where
// the engines differ (sharded pub/sub on a cluster: pubsub.ts).
import { redactUrl } from '../../config-redis.js';

export interface HostPort {
  host: string;
  port: number;
}

/** Credentials and TLS shared by every server of a cluster or a sentinel-managed set. */
export interface RedisAuthOptions {
  username?: string;
  password?: string;
  /** rediss:// given: connect with TLS. */
  tls?: boolean;
}

export type RedisTarget =
  | { kind: 'single'; url: string }
  | ({ kind: 'cluster'; nodes: HostPort[] } & RedisAuthOptions)
  | ({ kind: 'sentinel'; sentinels: HostPort[]; masterName: string; sentinelPassword?: string } & RedisAuthOptions);

/** One line for logs: no password. */
export function describeTarget(target: RedisTarget): string {
  const list = (hosts: readonly HostPort[]): string => hosts.map((h) => `${h.host}:${h.port}`).join(',');
  switch (target.kind) {
    case 'single':
      return redactUrl(target.url);
    case 'cluster':
      return `Redis Cluster ${list(target.nodes)}`;
    case 'sentinel':
      return `master '${target.masterName}' of Sentinel ${list(target.sentinels)}`;
  }
}
