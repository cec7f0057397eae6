// Where the shared store is: --redis URL, or the --redis-cluster / --redis-sentinel host lists
// (with --redis-master), read into one RedisTarget. Apart from config.ts so that the Redis code
// (store/redis/, passwd/) can check and redact URLs without the whole option table.
import { ConfigError } from './config-error.js';
import type { BrokerConfig } from './config.js';
import type { HostPort, RedisAuthOptions, RedisTarget } from './store/redis/target.js';

/** The port of a Redis server, and of a sentinel, when a URL entry names none. */
export const REDIS_PORT = 6379;
export const SENTINEL_PORT = 26_379;

/** redis:// or rediss://, a host, an optional port 1..65535 and database number; no query or fragment. */
export function isRedisUrl(raw: string): boolean {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return false;
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') return false;
  if (url.hostname === '' || url.search !== '' || url.hash !== '') return false;
  if (!/^(\/\d*)?$/.test(url.pathname)) return false;
  return url.port === '' || Number(url.port) >= 1;
}

/** The hosts of a --redis-cluster or --redis-sentinel list, and the credentials and TLS its entries give. */
export interface RedisHosts extends RedisAuthOptions {
  hosts: HostPort[];
}

const HOST_PORT = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):(\d{1,5})$/;

/**
 * "host:port,redis://user:pw@host:port,…": each entry host:port ([v6]:port) or a redis:// or
 * rediss:// URL (no /db, query or fragment; `defaultPort` when it names none). Credentials and TLS
 * come from the URL entries; entries that give them must give the same. Throws one ConfigError
 * starting with `source` and naming the bad entry (its password masked).
 */
export function parseRedisHosts(raw: string, source: string, defaultPort: number): RedisHosts {
  const hosts: HostPort[] = [];
  let auth: { entry: string; username: string; password: string } | undefined;
  let tls: { entry: string; tls: boolean } | undefined;
  for (const part of raw.split(',')) {
    const entry = part.trim();
    const bad = (): ConfigError => new ConfigError(`${source}: '${redactUrl(entry)}' is not host:port or redis[s]://[user:password@]host[:port]`);
    const plain = HOST_PORT.exec(entry);
    if (plain !== null) {
      const port = Number(plain[2]);
      if (port < 1 || port > 65_535) throw bad();
      hosts.push({ host: plain[1].replace(/^\[|\]$/g, ''), port });
      continue;
    }
    if (!/^rediss?:\/\//i.test(entry)) throw bad();
    let url: URL;
    try {
      url = new URL(entry);
    } catch {
      throw bad();
    }
    if (url.hostname === '' || url.search !== '' || url.hash !== '' || !/^\/?$/.test(url.pathname) || url.port === '0') throw bad();
    hosts.push({ host: url.hostname.replace(/^\[|\]$/g, ''), port: url.port === '' ? defaultPort : Number(url.port) });
    const entryTls = url.protocol === 'rediss:';
    if (tls !== undefined && tls.tls !== entryTls) throw new ConfigError(`${source}: '${redactUrl(tls.entry)}' and '${redactUrl(entry)}' disagree on TLS (redis:// or rediss://)`);
    tls ??= { entry, tls: entryTls };
    if (url.username === '' && url.password === '') continue;
    const username = decodeURIComponent(url.username);
    const password = decodeURIComponent(url.password);
    if (auth !== undefined && (auth.username !== username || auth.password !== password)) {
      throw new ConfigError(`${source}: '${redactUrl(auth.entry)}' and '${redactUrl(entry)}' give different credentials (every server takes the same)`);
    }
    auth ??= { entry, username, password };
  }
  return {
    hosts,
    ...(auth !== undefined && auth.username !== '' ? { username: auth.username } : {}),
    ...(auth !== undefined && auth.password !== '' ? { password: auth.password } : {}),
    ...(tls?.tls === true ? { tls: true } : {}),
  };
}

/** A --redis-cluster or --redis-sentinel list with each entry's password masked (--print-config). */
export function redactHosts(raw: string): string {
  return raw
    .split(',')
    .map((entry) => redactUrl(entry.trim()))
    .join(',');
}

/** The flags naming where the shared store is, among those given. */
function storeFlagsGiven(config: BrokerConfig): string[] {
  const given: [string, string | undefined][] = [
    ['--redis', config.redis],
    ['--redis-cluster', config.redisCluster],
    ['--redis-sentinel', config.redisSentinel],
  ];
  return given.filter(([, value]) => value !== undefined).map(([flag]) => flag);
}

/** Whether the store is in Redis (--redis, --redis-cluster or --redis-sentinel): cluster mode. */
export function usesRedis(config: BrokerConfig): boolean {
  return storeFlagsGiven(config).length > 0;
}

/**
 * Where the shared store is, from --redis, --redis-cluster or --redis-sentinel with --redis-master;
 * undefined: embedded (in-memory, no Redis). Throws the ConfigError checkConfig gives for a config
 * that names more than one, or half of Sentinel's pair.
 */
export function redisTargetOf(config: BrokerConfig): RedisTarget | undefined {
  const given = storeFlagsGiven(config);
  if (given.length > 1) throw new ConfigError(`${given.slice(0, -1).join(', ')} and ${given[given.length - 1]} exclude each other: give one way to reach the store`);
  if (config.redisSentinel === undefined) {
    if (config.redisMaster !== undefined) throw new ConfigError('--redis-master needs --redis-sentinel (the sentinels that follow that master)');
    if (config.redisSentinelPassword !== undefined) throw new ConfigError('--redis-sentinel-password needs --redis-sentinel');
  }
  if (config.redis !== undefined) return { kind: 'single', url: config.redis };
  if (config.redisCluster !== undefined) {
    const { hosts, ...auth } = parseRedisHosts(config.redisCluster, '--redis-cluster', REDIS_PORT);
    return { kind: 'cluster', nodes: hosts, ...auth };
  }
  if (config.redisSentinel !== undefined) {
    if (config.redisMaster === undefined) throw new ConfigError('--redis-sentinel needs --redis-master (the name of the master the sentinels follow)');
    const { hosts, ...auth } = parseRedisHosts(config.redisSentinel, '--redis-sentinel', SENTINEL_PORT);
    return {
      kind: 'sentinel',
      sentinels: hosts,
      masterName: config.redisMaster,
      ...(config.redisSentinelPassword !== undefined ? { sentinelPassword: config.redisSentinelPassword } : {}),
      ...auth,
    };
  }
  return undefined;
}

/** The URL without its password, for logs and error messages. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^@/]*)@/, (_all, auth: string) => `//${auth.includes(':') ? `${auth.slice(0, auth.indexOf(':'))}:***` : '***'}@`);
}
