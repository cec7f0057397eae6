// Typed broker configuration: defaults, then a --config file (config-file.ts reads it), then
// STARLING_* environment variables, then CLI flags (flags win). Every bad value becomes one
// ConfigError naming the flag, variable or file:line; the CLI prints it as one line and exits 2.
import { isIP } from 'node:net';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
// The smallest flow-control window but 0 (four acks' worth); the bus raises a smaller one, we refuse it.
import { MIN_WINDOW_BYTES } from './store/redis/bus-flow.js';
import { LISTENER_FLAGS, isListenerFlag, listenersFromFlags, type ListenerFlagValues } from './listener-flags.js';
import { ConfigError } from './config-error.js';
import { isRedisUrl, parseRedisHosts, REDIS_PORT, redactUrl, redisTargetOf, SENTINEL_PORT, usesRedis } from './config-redis.js';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
/** auto: one compact line per entry on a terminal, JSON otherwise (log.ts). */
export type LogFormat = 'auto' | 'json' | 'pretty';

/** TLS settings of an mqtts or wss listener (file paths; re-read on SIGHUP). */
export interface TlsConfig {
  cert: string;
  key: string;
  /** CA bundle that client certificates must chain to (and, with requireCertificate, be verified against). */
  ca?: string | undefined;
  /** Ask for and verify a client certificate; refuse the TLS handshake without a valid one. */
  requireCertificate?: boolean | undefined;
  /** Use the client certificate's CN as the MQTT username (Mosquitto's use_identity_as_username). */
  useIdentityAsUsername?: boolean | undefined;
  minVersion?: 'TLSv1.2' | 'TLSv1.3' | undefined;
}

/** One more place to accept clients, beside --host/--port (plain MQTT over TCP). */
export interface ListenerConfig {
  protocol: 'mqtt' | 'mqtts' | 'ws' | 'wss';
  host: string;
  port: number;
  /** ws/wss: the HTTP path that upgrades to MQTT (default /mqtt). */
  path?: string | undefined;
  /** mqtts/wss: required. */
  tls?: TlsConfig | undefined;
  /** Expect a PROXY protocol v1 or v2 header first (HAProxy, cloud load balancers): the client's address is the one it carries. */
  proxyProtocol?: boolean | undefined;
  /** Connections this listener holds at most (beyond: closed at once); default: no bound of its own. */
  maxConnections?: number | undefined;
}

export interface BrokerConfig {
  host: string;
  port: number;
  logLevel: LogLevel;
  logFormat: LogFormat;
  /** New sockets beyond this many open connections are closed at once. */
  maxConnections: number;
  /**
   * Largest packet accepted, in bytes (whole frame). 1 MiB by default: the parser may buffer up
   * to this much per connection before a packet is complete, so the limit bounds what a slow or
   * hostile client can make the broker hold. Raise it for large payloads.
   */
  maxPacketSize: number;
  /** Outgoing QoS 1/2 messages awaiting acknowledgement per client (v5: at most the client's Receive Maximum). */
  maxInflight: number;
  /** QoS 1/2 messages held per client behind the in-flight window or while it is offline. */
  maxQueued: number;
  /** Bytes (payload + topic) of those messages per client; 0 = no byte bound (Mosquitto's max_queued_bytes). */
  maxQueuedBytes: number;
  maxTopicLength: number;
  maxTopicLevels: number;
  /** v5 Topic Alias Maximum announced in CONNACK: aliases a client may set per connection (0: none). */
  maxTopicAlias: number;
  /** Milliseconds a socket may stay open without sending CONNECT. */
  connectTimeoutMs: number;
  /** Longest keep-alive a client may use, seconds (0: no limit); Mosquitto's max_keepalive. */
  maxKeepalive: number;
  /** Longest session expiry a client may ask for, seconds (v3.1.1 persistent sessions too). */
  maxSessionExpiry: number;
  /** v5 Receive Maximum announced: unacknowledged QoS 1/2 PUBLISHes a client may send (0x93 past it). */
  receiveMaximum: number;
  /** Highest QoS a client may publish with (v5 Maximum QoS); subscriptions are granted at most this. */
  maxQos: 0 | 1 | 2;
  /** Whether clients may publish retained messages (v5 Retain Available). */
  retainAvailable: boolean;
  /** Whether subscriptions may use + and # (v5 Wildcard Subscription Available). */
  wildcardSubscriptions: boolean;
  /** Whether $share/… subscriptions are accepted (v5 Shared Subscription Available). */
  sharedSubscriptions: boolean;
  /** Whether SUBSCRIBE may carry a Subscription Identifier (v5 Subscription Identifiers Available). */
  subscriptionIdentifiers: boolean;
  /** v5 Response Information offered to a client that requests it (%c: its client id); undefined: none. */
  responseInformation: string | undefined;
  /** Seconds between $SYS updates; 0 turns them off. */
  sysInterval: number;
  /** undefined: decided by the host (loopback allows anonymous clients). */
  allowAnonymous: boolean | undefined;
  username: string | undefined;
  password: string | undefined;
  /** Mosquitto-style password file (user:hash lines; `starling passwd` writes it); re-read on SIGHUP. */
  passwordFile: string | undefined;
  /** Bytes queued on a subscriber's socket past which QoS 0 messages to it are dropped. */
  maxWriteBuffer: number;
  /** redis:// or rediss:// URL of the shared store (host[:port][/db]); undefined: not one Redis (a Redis Cluster, Sentinel, or in-memory). */
  redis: string | undefined;
  /** Seed nodes of a Redis Cluster holding the shared store: host:port or redis[s]:// URLs, comma-separated (redisTargetOf reads them). */
  redisCluster: string | undefined;
  /** Sentinels that follow the store's master (redisMaster), the same list syntax; credentials in it are the data servers'. */
  redisSentinel: string | undefined;
  /** The name the sentinels know the store's master by (needs redisSentinel). */
  redisMaster: string | undefined;
  /** Password of the sentinels themselves (AUTH on the sentinel connections). */
  redisSentinelPassword: string | undefined;
  /** A QoS 1/2 acknowledgement waits until the store writes behind it are on this many replicas (Redis WAIT); 0: no wait. */
  redisWaitReplicas: number;
  /** Milliseconds that WAIT may take before the acknowledgement is refused. */
  redisWaitTimeoutMs: number;
  /** Milliseconds a node waits for Redis at start before it gives up (exit 1). */
  redisTimeoutMs: number;
  workers: number;
  /** Cluster flow control: entry bytes a node may have unprocessed from another before that one pauses its publishers (0: off). */
  busWindowBytes: number;
  /** Milliseconds a node that is behind may go without acking before its senders stop waiting for it. */
  busStallMs: number;
  /** Bytes of bus frames written to Redis and not yet answered, per worker, past which the publishers sending them are paused. */
  redisPendingBytes: number;
  /** At start, raise Redis' client-output-buffer-limit pubsub to what the bus needs (CONFIG SET) instead of only saying so. */
  redisSetPubsubLimit: boolean;
  /** v5 enhanced authentication methods offered, comma-separated, or "none"; undefined: SCRAM-SHA-256 when there are credentials. */
  authMethods: string | undefined;
  /** Mosquitto acl_file: who may publish, subscribe and receive what (broker/acl/); undefined: everyone everything. Re-read on SIGHUP. */
  aclFile: string | undefined;
  /** Plugin modules (absolute paths), loaded in every worker: their hooks authenticate, authorize and hear events (broker/hooks/). */
  plugins: string[];
  /** Milliseconds a plugin hook may take to answer before it counts as a denial. */
  pluginTimeoutMs: number;
  /** The --host/--port listener expects a PROXY protocol v1 or v2 header first (behind HAProxy or a load balancer); refuses sockets without one. */
  proxyProtocol: boolean;
  /** Listeners beside the main one (--host/--port, plain MQTT): TLS, WebSocket, PROXY protocol. */
  listeners: ListenerConfig[];
  /** The first delay of a failed login's refusal from an address that keeps failing, ms (broker/auth/login-throttle.ts); 0: no delay. */
  authFailDelayMs: number;
  /** The longest such delay, ms. */
  authFailMaxDelayMs: number;
  /** Failed logins are logged once per remote address per this many ms (the first at once). */
  authFailLogIntervalMs: number;
  /** Management HTTP listener (/metrics, /healthz, /readyz) as "host:port" or "port" (loopback); undefined: none. In a cluster the primary serves it. */
  http: string | undefined;
  /** Where users and ACL rules come from: "file" (--password-file, --username, --acl-file) or "redis" (kept in Redis, written by `starling passwd --redis`). */
  auth: 'file' | 'redis';
}

export const defaultConfig: BrokerConfig = {
  host: '127.0.0.1',
  port: 1883,
  logLevel: 'info',
  logFormat: 'auto',
  maxConnections: 100_000,
  maxPacketSize: 1024 * 1024,
  maxInflight: 20,
  maxQueued: 10_000,
  maxQueuedBytes: 16 * 1024 * 1024,
  maxTopicLength: 65_535,
  maxTopicLevels: 200,
  maxTopicAlias: 10,
  connectTimeoutMs: 10_000,
  maxKeepalive: 0,
  maxSessionExpiry: 0xffff_ffff,
  receiveMaximum: 65_535,
  maxQos: 2,
  retainAvailable: true,
  wildcardSubscriptions: true,
  sharedSubscriptions: true,
  subscriptionIdentifiers: true,
  responseInformation: undefined,
  sysInterval: 10,
  allowAnonymous: undefined,
  username: undefined,
  password: undefined,
  passwordFile: undefined,
  maxWriteBuffer: 1024 * 1024,
  redis: undefined,
  redisCluster: undefined,
  redisSentinel: undefined,
  redisMaster: undefined,
  redisSentinelPassword: undefined,
  redisWaitReplicas: 0,
  redisWaitTimeoutMs: 2000,
  redisTimeoutMs: 10_000,
  workers: 1,
  busWindowBytes: 1024 * 1024,
  busStallMs: 1000,
  redisPendingBytes: 16 * 1024 * 1024,
  redisSetPubsubLimit: false,
  authMethods: undefined,
  aclFile: undefined,
  plugins: [],
  pluginTimeoutMs: 5000,
  proxyProtocol: false,
  listeners: [],
  authFailDelayMs: 1000,
  authFailMaxDelayMs: 30_000,
  authFailLogIntervalMs: 60_000,
  auth: 'file',
  http: undefined,
};

/** The enhanced authentication methods the broker has built in (broker/auth/), and --auth-methods' "none". */
export const BUILT_IN_AUTH_METHODS: readonly string[] = ['SCRAM-SHA-256'];
export const AUTH_METHOD_NONE = 'none';

// Its home is config-error.ts (config-redis.ts throws it too); most callers take it from here with the rest.
export { ConfigError } from './config-error.js';

/** 'redis-hosts': a comma-separated list of host:port or redis[s]:// URLs (parseRedisHosts). */
export type Kind = 'string' | 'int' | 'bool' | 'level' | 'seconds-ms' | 'redis-url' | 'redis-hosts' | 'paths' | 'address';

export interface Option {
  flag: string;
  key: keyof BrokerConfig;
  kind: Kind;
  min?: number;
  max?: number;
  /** The values a 'string' option may take. */
  choices?: readonly string[];
  /** 'int': the smallest value but 0 (0: off). */
  minUnlessZero?: number;
  /** A file path: relative in a config file means relative to that file's directory. */
  file?: true;
  /** Masked by --print-config. */
  secret?: true;
  /** 'redis-hosts': the port of a URL entry that names none. */
  defaultPort?: number;
  help: string;
}

export const LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** Every flag, its key, kind and bounds: the one table flags, STARLING_* variables and config-file keys are read by. */
export const OPTIONS: readonly Option[] = [
  { flag: 'host', key: 'host', kind: 'string', help: 'address to listen on (default 127.0.0.1)' },
  { flag: 'port', key: 'port', kind: 'int', min: 0, max: 65_535, help: 'TCP port (default 1883)' },
  { flag: 'proxy-protocol', key: 'proxyProtocol', kind: 'bool', help: 'clients of --host/--port come through a proxy sending a PROXY protocol v1/v2 header (HAProxy send-proxy): their address is the one it names; a socket without one is closed' },
  { flag: 'log-level', key: 'logLevel', kind: 'level', help: `${LEVELS.join('|')} (default info)` },
  { flag: 'log-format', key: 'logFormat', kind: 'string', choices: ['auto', 'json', 'pretty'], help: 'auto|json|pretty: one compact line per entry, or JSON lines; auto: compact on a terminal (default)' },
  { flag: 'max-connections', key: 'maxConnections', kind: 'int', min: 1, help: 'open connections (default 100000)' },
  { flag: 'max-packet-size', key: 'maxPacketSize', kind: 'int', min: 64, max: 268_435_460, help: 'bytes per packet (default 1048576)' },
  { flag: 'max-inflight', key: 'maxInflight', kind: 'int', min: 1, max: 65_535, help: 'unacknowledged QoS 1/2 messages per client (default 20)' },
  { flag: 'max-queued', key: 'maxQueued', kind: 'int', min: 0, help: 'queued QoS 1/2 messages per client (default 10000)' },
  { flag: 'max-queued-bytes', key: 'maxQueuedBytes', kind: 'int', min: 0, help: 'bytes (payload + topic) of queued messages per client, 0 = no bound (default 16777216)' },
  { flag: 'max-topic-length', key: 'maxTopicLength', kind: 'int', min: 1, max: 65_535, help: 'characters per topic (default 65535)' },
  { flag: 'max-topic-levels', key: 'maxTopicLevels', kind: 'int', min: 1, help: 'levels per topic (default 200)' },
  { flag: 'max-topic-alias', key: 'maxTopicAlias', kind: 'int', min: 0, max: 65_535, help: 'v5 topic aliases a client may set, 0 = none (default 10)' },
  { flag: 'connect-timeout', key: 'connectTimeoutMs', kind: 'seconds-ms', help: 'seconds to wait for CONNECT (default 10)' },
  { flag: 'max-keepalive', key: 'maxKeepalive', kind: 'int', min: 0, max: 65_535, help: 'longest keep-alive a client may use, seconds; v5 clients are told, v3 clients asking more (or 0) are refused; 0 = no limit (default)' },
  { flag: 'max-session-expiry', key: 'maxSessionExpiry', kind: 'int', min: 0, max: 0xffff_ffff, help: 'longest session expiry, seconds, v3.1.1 persistent sessions included (default 4294967295: never)' },
  { flag: 'receive-maximum', key: 'receiveMaximum', kind: 'int', min: 1, max: 65_535, help: 'v5: unacknowledged QoS 1/2 PUBLISHes a client may send before it is disconnected (0x93) (default 65535)' },
  { flag: 'max-qos', key: 'maxQos', kind: 'int', min: 0, max: 2, help: 'highest QoS clients may publish with and be granted (default 2)' },
  { flag: 'retain-available', key: 'retainAvailable', kind: 'bool', help: 'accept retained messages (default true; =false refuses them)' },
  { flag: 'wildcard-subscriptions', key: 'wildcardSubscriptions', kind: 'bool', help: 'accept filters with + and # (default true)' },
  { flag: 'shared-subscriptions', key: 'sharedSubscriptions', kind: 'bool', help: 'accept $share/ subscriptions (default true)' },
  { flag: 'subscription-identifiers', key: 'subscriptionIdentifiers', kind: 'bool', help: 'accept v5 Subscription Identifiers (default true)' },
  { flag: 'response-information', key: 'responseInformation', kind: 'string', help: 'v5 Response Information for clients that request it; %c is replaced by the client id (default: none)' },
  { flag: 'sys-interval', key: 'sysInterval', kind: 'int', min: 0, max: 2_147_483, help: 'seconds between $SYS updates, 0 = off (default 10)' },
  { flag: 'allow-anonymous', key: 'allowAnonymous', kind: 'bool', help: 'accept clients without a username' },
  { flag: 'username', key: 'username', kind: 'string', help: 'the one accepted username' },
  { flag: 'password', key: 'password', kind: 'string', secret: true, help: 'its password (visible to other users in ps: prefer STARLING_PASSWORD or --password-file)' },
  { flag: 'password-file', key: 'passwordFile', kind: 'string', file: true, help: 'file of user:hash lines (Mosquitto password_file; written by starling passwd), re-read on SIGHUP' },
  { flag: 'max-write-buffer', key: 'maxWriteBuffer', kind: 'int', min: 1024, help: 'bytes queued per socket before QoS 0 is dropped (default 1048576)' },
  { flag: 'redis', key: 'redis', kind: 'redis-url', help: 'redis[s]://[user:password@]host[:port][/db] of the shared store (cluster mode)' },
  { flag: 'redis-cluster', key: 'redisCluster', kind: 'redis-hosts', defaultPort: REDIS_PORT, help: 'seed nodes of a Redis Cluster as the shared store: host:port,… or redis[s]://[user:password@]host[:port],… (credentials and TLS from the entries)' },
  { flag: 'redis-sentinel', key: 'redisSentinel', kind: 'redis-hosts', defaultPort: SENTINEL_PORT, help: "sentinels following the store's master, same syntax (credentials and TLS: the data servers'); needs --redis-master" },
  { flag: 'redis-master', key: 'redisMaster', kind: 'string', help: 'name of the master the --redis-sentinel sentinels follow' },
  { flag: 'redis-sentinel-password', key: 'redisSentinelPassword', kind: 'string', secret: true, help: 'password of the sentinels themselves (visible in ps: prefer STARLING_REDIS_SENTINEL_PASSWORD)' },
  { flag: 'redis-wait-replicas', key: 'redisWaitReplicas', kind: 'int', min: 0, max: 16, help: 'a QoS 1/2 acknowledgement waits until the store writes behind it are on this many replicas (Redis WAIT), 0 = no wait (default 0)' },
  { flag: 'redis-wait-timeout', key: 'redisWaitTimeoutMs', kind: 'seconds-ms', max: 2_147_483, help: 'seconds WAIT may take before the acknowledgement is refused (default 2)' },
  { flag: 'redis-timeout', key: 'redisTimeoutMs', kind: 'seconds-ms', help: 'seconds to wait for Redis at start before exiting 1 (default 10)' },
  { flag: 'workers', key: 'workers', kind: 'int', min: 1, max: 1024, help: 'worker processes (needs --redis, --redis-cluster or --redis-sentinel when > 1)' },
  { flag: 'bus-window', key: 'busWindowBytes', kind: 'int', min: 0, minUnlessZero: MIN_WINDOW_BYTES, help: 'cluster flow control: bytes one node may have unprocessed from another, 0 = off (default 1048576, at least 262144)' },
  { flag: 'bus-stall', key: 'busStallMs', kind: 'seconds-ms', help: 'seconds a node that is behind may go without acking before it is not waited for (default 1)' },
  { flag: 'redis-pending-bytes', key: 'redisPendingBytes', kind: 'int', min: 1024 * 1024, help: 'bytes a worker may have written to Redis and not yet answered before it stops reading the publishers concerned (default 16777216, at least 1048576)' },
  { flag: 'redis-set-pubsub-limit', key: 'redisSetPubsubLimit', kind: 'bool', help: "at start, raise Redis' client-output-buffer-limit pubsub to what the bus needs (CONFIG SET; default: only log it)" },
  { flag: 'auth-methods', key: 'authMethods', kind: 'string', help: 'v5 enhanced authentication methods offered, comma-separated (SCRAM-SHA-256), or none (default: SCRAM-SHA-256 when there are users)' },
  { flag: 'acl-file', key: 'aclFile', kind: 'string', file: true, help: "Mosquitto acl_file: topic/pattern/user rules for publish, subscribe and delivery; re-read on SIGHUP (default: none, all allowed)" },
  { flag: 'plugins', key: 'plugins', kind: 'paths', help: 'plugin modules, comma-separated, loaded in every worker: hooks that authenticate, authorize and hear events (docs/plugins.md)' },
  { flag: 'plugin-timeout', key: 'pluginTimeoutMs', kind: 'seconds-ms', max: 2_147_483, help: 'seconds a plugin hook may take before it counts as a denial (default 5)' },
  { flag: 'auth-fail-delay', key: 'authFailDelayMs', kind: 'seconds-ms', min: 0, max: 2_147_483, help: 'seconds a failed login from an address that failed 3 times already waits for its refusal, doubling with each further failure; 0 = no delay (default 1)' },
  { flag: 'auth-fail-max-delay', key: 'authFailMaxDelayMs', kind: 'seconds-ms', min: 0, max: 2_147_483, help: 'longest such delay, seconds (default 30)' },
  { flag: 'auth-fail-log-interval', key: 'authFailLogIntervalMs', kind: 'seconds-ms', min: 1, max: 2_147_483, help: 'failed logins are logged once per address per this many seconds, the first at once (default 60)' },
  { flag: 'auth', key: 'auth', kind: 'string', choices: ['file', 'redis'], help: 'file|redis: users and ACL from --password-file/--acl-file (default), or kept in Redis (needs --redis, --redis-cluster or --redis-sentinel; edited with starling passwd --redis, seen by every node within a second)' },
  { flag: 'http', key: 'http', kind: 'address', help: 'management HTTP listener [host:]port for /metrics (Prometheus), /healthz, /readyz; host defaults to 127.0.0.1; no auth (default: off)' },
];

export function usage(): string {
  const all = [...OPTIONS.map((o) => ({ flag: o.flag, bool: o.kind === 'bool', help: o.help })), ...LISTENER_FLAGS];
  // A flag longer than the column still gets a space before its text.
  const lines = all.map((o) => `  --${o.flag}${o.bool ? '' : ' <value>'} `.padEnd(34) + o.help);
  return [
    'usage: starling [options]',
    '       starling bench [bench options]',
    '       starling passwd [-c | -D] FILE USER | -b FILE USER PASSWORD | -U FILE',
    '       starling passwd --redis URL [-D] USER | -b USER PASSWORD | --acl-file FILE | --acl-clear | --acl-show',
    '',
    'options (each also read from STARLING_<NAME>, e.g. STARLING_MAX_INFLIGHT, and from a',
    '--config file as <name>: value, e.g. max-inflight: 20; flags win over the environment,',
    'which wins over the file):',
    ...lines,
    '  --config <file>                 YAML file of options (also STARLING_CONFIG); SIGHUP re-reads it',
    '  --print-config                  print the merged options as YAML, secrets masked, and exit',
    '  --version                       print the version and exit',
    '  --help                          print this text',
  ].join('\n');
}

export function envName(flag: string): string {
  return `STARLING_${flag.toUpperCase().replace(/-/g, '_')}`;
}

/** One raw value (flag, variable, or a config-file scalar as text) to its typed value; `source` starts the error line. */
export function convert(option: Option, raw: string, source: string): unknown {
  switch (option.kind) {
    case 'string':
      if (raw === '') throw new ConfigError(`${source}: needs a value`);
      if (option.choices !== undefined && !option.choices.includes(raw)) throw new ConfigError(`${source}: '${raw}' is not one of ${option.choices.join(', ')}`);
      return raw;
    case 'paths': {
      const paths = raw.split(',').map((p) => p.trim());
      if (paths.some((p) => p === '')) throw new ConfigError(`${source}: '${raw}' is not a comma-separated list of module paths`);
      // Absolute now: a cluster worker resolves them the same way whatever it imports from.
      return paths.map((p) => resolve(p));
    }
    case 'address':
      parseAddress(raw, source);
      return raw;
    case 'redis-hosts':
      if (raw.trim() === '') throw new ConfigError(`${source}: needs a value`);
      parseRedisHosts(raw, source, option.defaultPort ?? REDIS_PORT);
      return raw;
    case 'redis-url':
      if (!isRedisUrl(raw)) throw new ConfigError(`${source}: '${redactUrl(raw)}' is not a Redis URL (redis://[user:password@]host[:port][/db], or rediss:// for TLS)`);
      return raw;
    case 'level':
      if (!(LEVELS as readonly string[]).includes(raw)) throw new ConfigError(`${source}: '${raw}' is not one of ${LEVELS.join(', ')}`);
      return raw;
    case 'bool':
      if (['1', 'true', 'yes', ''].includes(raw)) return true;
      if (['0', 'false', 'no'].includes(raw)) return false;
      throw new ConfigError(`${source}: '${raw}' is not a boolean (true/false)`);
    case 'int':
    case 'seconds-ms': {
      const seconds = option.kind === 'seconds-ms';
      const n = Number(raw);
      const ok = raw.trim() !== '' && Number.isFinite(n) && (seconds || Number.isInteger(n));
      if (!ok || n < (option.min ?? (seconds ? 0.001 : 0)) || n > (option.max ?? Number.MAX_SAFE_INTEGER)) {
        const range = `${option.min ?? (seconds ? '>0' : 0)}${option.max !== undefined ? `..${option.max}` : ' or more'}`;
        throw new ConfigError(`${source}: '${raw}' is not ${seconds ? 'a number of seconds' : 'an integer'} in ${range}`);
      }
      // A value the code below would otherwise raise silently (--bus-window 1000) is refused instead.
      if (option.minUnlessZero !== undefined && n !== 0 && n < option.minUnlessZero) {
        throw new ConfigError(`${source}: '${raw}' is not 0 (off) or an integer in ${option.minUnlessZero} or more`);
      }
      return seconds ? Math.round(n * 1000) : n;
    }
  }
}

/** "[host:]port" (an IPv6 host in brackets) as host and port; the host defaults to loopback. */
export function parseAddress(raw: string, source = 'address'): { host: string; port: number } {
  const match = /^(?:(\[[^\]]+\]|[^:[\]]+):)?(\d{1,5})$/.exec(raw.trim());
  const port = match === null ? NaN : Number(match[2]);
  if (match === null || port > 65_535) throw new ConfigError(`${source}: '${raw}' is not [host:]port (e.g. 9100, 127.0.0.1:9100, [::1]:9100)`);
  const host = match[1] === undefined ? '127.0.0.1' : match[1].replace(/^\[|\]$/g, '');
  return { host, port };
}

/** Thrown for --help: the caller prints usage() and exits 0. */
export class HelpRequested extends Error {}

/** Flags that are not options: read by loadConfig (config-file.ts) and the CLI, skipped here. */
const META_FLAGS: ReadonlyMap<string, 'value' | 'bool'> = new Map([
  ['config', 'value'],
  ['print-config', 'bool'],
]);

/**
 * Builds the config from argv (without node and script), env and `file`, the values a config
 * file set (loadConfig in config-file.ts reads it). Throws ConfigError or HelpRequested.
 */
export function parseConfig(argv: readonly string[], env: NodeJS.ProcessEnv = process.env, file: Partial<BrokerConfig> = {}, fileListenerFlags?: ListenerFlagValues): BrokerConfig {
  const config: Record<string, unknown> = { ...defaultConfig, ...file };
  // --listeners and --tls-* build config.listeners together, once all are read (listener-flags.ts);
  // the file's listeners URL list and tls-* keys first, then STARLING_* and flags, key by key.
  const listenerValues: ListenerFlagValues = new Map(fileListenerFlags);
  for (const option of OPTIONS) {
    const name = envName(option.flag);
    const raw = env[name];
    if (raw !== undefined) config[option.key] = convert(option, raw, name);
  }
  for (const { flag } of LISTENER_FLAGS) {
    const raw = env[envName(flag)];
    if (raw !== undefined) listenerValues.set(flag, { raw, source: envName(flag) });
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') throw new HelpRequested();
    if (!arg.startsWith('--')) throw new ConfigError(`unexpected argument '${arg}' (see --help)`);
    const eq = arg.indexOf('=');
    const flag = arg.slice(2, eq === -1 ? undefined : eq);
    if (META_FLAGS.has(flag)) {
      if (META_FLAGS.get(flag) === 'value' && eq === -1) i++;
      continue;
    }
    const listenerFlag = isListenerFlag(flag);
    if (listenerFlag !== undefined) {
      const raw = eq !== -1 ? arg.slice(eq + 1) : listenerFlag.bool ? 'true' : argv[++i];
      if (raw === undefined) throw new ConfigError(`--${flag}: needs a value`);
      listenerValues.set(flag, { raw, source: `--${flag}` });
      continue;
    }
    const option = OPTIONS.find((o) => o.flag === flag);
    if (option === undefined) throw new ConfigError(`unknown option --${flag} (see --help)`);
    let raw: string;
    if (eq !== -1) raw = arg.slice(eq + 1);
    else if (option.kind === 'bool') raw = 'true';
    else {
      if (i + 1 >= argv.length) throw new ConfigError(`--${flag}: needs a value`);
      raw = argv[++i];
    }
    config[option.key] = convert(option, raw, `--${flag}`);
  }
  // With Redis and no explicit --workers / STARLING_WORKERS: one worker per core.
  const workersGiven = file.workers !== undefined || env[envName('workers')] !== undefined || argv.some((a) => a === '--workers' || a.startsWith('--workers='));
  if (usesRedis(config as unknown as BrokerConfig) && !workersGiven) config.workers = availableParallelism();
  config.listeners = listenersFromFlags(listenerValues) ?? config.listeners;
  const result = config as unknown as BrokerConfig;
  checkConfig(result);
  return result;
}

export function isLoopback(host: string): boolean {
  if (host === 'localhost' || host === '::1') return true;
  return isIP(host) === 4 && host.startsWith('127.');
}

/** Rules spanning several fields. */
export function checkConfig(config: BrokerConfig, plugins?: { authenticate: boolean }): void {
  if ((config.username === undefined) !== (config.password === undefined)) {
    throw new ConfigError('--username and --password must be given together');
  }
  if (config.passwordFile !== undefined && config.username !== undefined) {
    throw new ConfigError('--password-file and --username/--password exclude each other (add the user to the file: starling passwd FILE USER)');
  }
  if (config.auth !== 'file' && config.auth !== 'redis') throw new ConfigError(`--auth: '${String(config.auth)}' is not one of file, redis`);
  // One way to the store, Sentinel's flags together, every entry well formed.
  redisTargetOf(config);
  const redis = usesRedis(config);
  if (config.redisWaitReplicas > 0 && !redis) {
    throw new ConfigError(`--redis-wait-replicas ${config.redisWaitReplicas} needs --redis, --redis-cluster or --redis-sentinel (the replicas of the store)`);
  }
  if (config.auth === 'redis') {
    if (!redis) throw new ConfigError('--auth redis needs --redis, --redis-cluster or --redis-sentinel (the users and ACL rules are kept there)');
    if (config.passwordFile !== undefined || config.username !== undefined || config.aclFile !== undefined) {
      throw new ConfigError('--auth redis excludes --password-file, --username/--password and --acl-file (users and rules are kept in Redis: starling passwd --redis)');
    }
  }
  if (config.http !== undefined) parseAddress(config.http, '--http');
  const users = hasUsers(config);
  if (config.workers > 1 && !redis) {
    throw new ConfigError(`--workers ${config.workers} needs --redis, --redis-cluster or --redis-sentinel: without Redis the workers could not share sessions and subscriptions`);
  }
  for (const name of config.authMethods?.split(',').map((n) => n.trim()) ?? []) {
    if (name === AUTH_METHOD_NONE) continue;
    if (!BUILT_IN_AUTH_METHODS.includes(name)) throw new ConfigError(`--auth-methods: '${name}' is not one of ${[...BUILT_IN_AUTH_METHODS, AUTH_METHOD_NONE].join(', ')}`);
    if (!users) throw new ConfigError(`--auth-methods ${name} needs --username/--password, --password-file or --auth redis (its users)`);
  }
  if (config.authFailDelayMs > 0 && config.authFailMaxDelayMs < config.authFailDelayMs) {
    throw new ConfigError(`--auth-fail-max-delay ${config.authFailMaxDelayMs / 1000} is below --auth-fail-delay ${config.authFailDelayMs / 1000}`);
  }
  // Secure by default, like Mosquitto 2: off loopback we refuse to start open to anyone unless asked.
  // A plugin may authenticate: known once it is loaded (startBroker asks again, with `plugins`).
  const pluginsMayAuthenticate = plugins === undefined ? config.plugins.length > 0 : plugins.authenticate;
  const open = !users && config.allowAnonymous !== true && !pluginsMayAuthenticate;
  if (open && !isLoopback(config.host)) {
    throw new ConfigError(`listening on ${config.host} needs --password-file, --username/--password, --auth redis, --allow-anonymous or a plugin with an authenticate hook`);
  }
  // The same for every other listener, where a verified client certificate that names the user counts as credentials.
  const exposed = config.listeners.find((l) => !isLoopback(l.host) && !(l.tls?.requireCertificate === true && l.tls.useIdentityAsUsername === true));
  if (open && exposed !== undefined) {
    throw new ConfigError(
      `listening on ${exposed.protocol}://${exposed.host}:${exposed.port} needs --password-file, --username/--password, --auth redis, --allow-anonymous, a plugin with an authenticate hook, or --tls-require-certificate with --tls-use-identity-as-username`,
    );
  }
  for (const l of config.listeners) {
    if ((l.protocol === 'mqtts' || l.protocol === 'wss') && (l.tls?.cert === undefined || l.tls.key === undefined)) {
      throw new ConfigError(`listener ${l.protocol}://${l.host}:${l.port} needs --tls-cert and --tls-key`);
    }
  }
}

/** Whether clients without a username may connect. */
export function anonymousAllowed(config: BrokerConfig): boolean {
  if (config.allowAnonymous !== undefined) return config.allowAnonymous;
  return !hasUsers(config);
}

/** Whether users are configured (a password file, the --username/--password pair, or users in Redis). */
export function hasUsers(config: BrokerConfig): boolean {
  return config.username !== undefined || config.passwordFile !== undefined || config.auth === 'redis';
}
