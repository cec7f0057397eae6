// Where the shared store is: --redis, --redis-cluster or --redis-sentinel with --redis-master, read
// into a RedisTarget (redisTargetOf); the checks across those flags; --redis-wait-replicas and
// --redis-wait-timeout; their config-file keys and STARLING_* variables; --print-config masking.
import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { defaultConfig, parseConfig, usage, type BrokerConfig } from '../../src/config.js';
import { parseRedisHosts, redisTargetOf, usesRedis } from '../../src/config-redis.js';
import { loadConfig } from '../../src/config-file.js';
import { printConfig } from '../../src/config-print.js';
import { describeTarget } from '../../src/store/redis/target.js';
import { configFiles, errorOf } from '../helpers/config-files.js';

const { configFile } = configFiles('redis-target');

const target = (argv: string[], env: NodeJS.ProcessEnv = {}) => redisTargetOf(parseConfig(argv, env));

describe('redisTargetOf: each form into its RedisTarget', () => {
  it('nothing: embedded, no target, usesRedis false, config.redis undefined', () => {
    const config = parseConfig([], {});
    expect(redisTargetOf(config)).toBeUndefined();
    expect(usesRedis(config)).toBe(false);
    expect(usesRedis(defaultConfig)).toBe(false);
  });

  it('--redis URL: single, the URL as given; config.redis keeps it', () => {
    const config = parseConfig(['--redis', 'rediss://u:pw@h.example:6380/2'], {});
    expect(config.redis).toBe('rediss://u:pw@h.example:6380/2');
    expect(redisTargetOf(config)).toEqual({ kind: 'single', url: 'rediss://u:pw@h.example:6380/2' });
    expect(usesRedis(config)).toBe(true);
  });

  it('--redis-cluster host:port list: the nodes in order, no credentials, no TLS; config.redis stays undefined', () => {
    const config = parseConfig(['--redis-cluster', '10.0.0.1:7000, node-2.example:7001,[::1]:7002'], {});
    expect(config.redis).toBeUndefined();
    expect(config.redisCluster).toBe('10.0.0.1:7000, node-2.example:7001,[::1]:7002');
    expect(usesRedis(config)).toBe(true);
    expect(redisTargetOf(config)).toEqual({
      kind: 'cluster',
      nodes: [
        { host: '10.0.0.1', port: 7000 },
        { host: 'node-2.example', port: 7001 },
        { host: '::1', port: 7002 },
      ],
    });
  });

  it('--redis-cluster URLs: credentials (percent-decoded) and TLS from the entries; a URL without a port is 6379', () => {
    expect(target(['--redis-cluster', 'rediss://alice:p%40ss@a:7000,rediss://alice:p%40ss@b'])).toEqual({
      kind: 'cluster',
      nodes: [
        { host: 'a', port: 7000 },
        { host: 'b', port: 6379 },
      ],
      username: 'alice',
      password: 'p@ss',
      tls: true,
    });
    // Plain entries and URLs without credentials give nothing: the one that does decides.
    expect(target(['--redis-cluster', 'a:7000,redis://:secret@b:7001,redis://c:7002'])).toEqual({
      kind: 'cluster',
      nodes: [
        { host: 'a', port: 7000 },
        { host: 'b', port: 7001 },
        { host: 'c', port: 7002 },
      ],
      password: 'secret',
    });
    expect(target(['--redis-cluster', 'redis://bob@[fe80::1]:7000'])).toEqual({ kind: 'cluster', nodes: [{ host: 'fe80::1', port: 7000 }], username: 'bob' });
    expect(target(['--redis-cluster', 'a:1,rediss://b:2'])).toEqual({
      kind: 'cluster',
      nodes: [
        { host: 'a', port: 1 },
        { host: 'b', port: 2 },
      ],
      tls: true,
    });
  });

  it('--redis-sentinel with --redis-master: sentinels (a URL without a port is 26379), master name, the data servers\' credentials, the sentinels\' password', () => {
    expect(target(['--redis-sentinel', 's1:26379,s2:26380', '--redis-master', 'mymaster'])).toEqual({
      kind: 'sentinel',
      sentinels: [
        { host: 's1', port: 26379 },
        { host: 's2', port: 26380 },
      ],
      masterName: 'mymaster',
    });
    expect(target(['--redis-sentinel', 'rediss://app:datapw@s1,rediss://app:datapw@s2:26400', '--redis-master', 'store', '--redis-sentinel-password', 'sentpw'])).toEqual({
      kind: 'sentinel',
      sentinels: [
        { host: 's1', port: 26379 },
        { host: 's2', port: 26400 },
      ],
      masterName: 'store',
      sentinelPassword: 'sentpw',
      username: 'app',
      password: 'datapw',
      tls: true,
    });
  });

  it('describeTarget names each without a password', () => {
    expect(describeTarget(target(['--redis', 'redis://u:pw@h:6379'])!)).toBe('redis://u:***@h:6379');
    expect(describeTarget(target(['--redis-cluster', 'redis://:pw@a:7000,b:7001'])!)).toBe('Redis Cluster a:7000,b:7001');
    expect(describeTarget(target(['--redis-sentinel', 's1:26379', '--redis-master', 'm'])!)).toBe("master 'm' of Sentinel s1:26379");
  });

  it('parseRedisHosts on its own: the default port is the caller\'s', () => {
    expect(parseRedisHosts('redis://h', '--x', 1234)).toEqual({ hosts: [{ host: 'h', port: 1234 }] });
    expect(parseRedisHosts('h:5', '--x', 1234)).toEqual({ hosts: [{ host: 'h', port: 5 }] });
  });
});

describe('refusals: one line naming the flag', () => {
  it.each([
    [['--redis', 'redis://h:6379', '--redis-cluster', 'a:7000'], '--redis and --redis-cluster exclude each other: give one way to reach the store'],
    [['--redis', 'redis://h:6379', '--redis-sentinel', 's:26379', '--redis-master', 'm'], '--redis and --redis-sentinel exclude each other: give one way to reach the store'],
    [['--redis-cluster', 'a:7000', '--redis-sentinel', 's:26379', '--redis-master', 'm'], '--redis-cluster and --redis-sentinel exclude each other: give one way to reach the store'],
    [['--redis', 'redis://h', '--redis-cluster', 'a:7000', '--redis-sentinel', 's:26379', '--redis-master', 'm'], '--redis, --redis-cluster and --redis-sentinel exclude each other: give one way to reach the store'],
    [['--redis-sentinel', 's:26379'], '--redis-sentinel needs --redis-master (the name of the master the sentinels follow)'],
    [['--redis-master', 'm'], '--redis-master needs --redis-sentinel (the sentinels that follow that master)'],
    [['--redis', 'redis://h', '--redis-master', 'm'], '--redis-master needs --redis-sentinel (the sentinels that follow that master)'],
    [['--redis-cluster', 'a:7000', '--redis-sentinel-password', 'x'], '--redis-sentinel-password needs --redis-sentinel'],
    [['--redis-wait-replicas', '1'], '--redis-wait-replicas 1 needs --redis, --redis-cluster or --redis-sentinel (the replicas of the store)'],
    [['--redis-wait-replicas', '17', '--redis', 'redis://h'], "--redis-wait-replicas: '17' is not an integer in 0..16"],
    [['--redis-wait-replicas', '-1', '--redis', 'redis://h'], "--redis-wait-replicas: '-1' is not an integer in 0..16"],
    [['--redis-wait-timeout', '0'], "--redis-wait-timeout: '0' is not a number of seconds in >0..2147483"],
    [['--workers', '3'], '--workers 3 needs --redis, --redis-cluster or --redis-sentinel: without Redis the workers could not share sessions and subscriptions'],
    [['--auth', 'redis'], '--auth redis needs --redis, --redis-cluster or --redis-sentinel (the users and ACL rules are kept there)'],
  ])('%j', (argv, message) => {
    expect(errorOf(() => parseConfig(argv, {}))).toBe(message);
  });

  it.each([
    ['--redis-cluster', 'a:7000,b', "--redis-cluster: 'b' is not host:port or redis[s]://[user:password@]host[:port]"],
    ['--redis-cluster', 'a:7000,,b:7001', "--redis-cluster: '' is not host:port or redis[s]://[user:password@]host[:port]"],
    ['--redis-cluster', 'a:0', "--redis-cluster: 'a:0' is not host:port or redis[s]://[user:password@]host[:port]"],
    ['--redis-cluster', 'a:65536', "--redis-cluster: 'a:65536' is not host:port or redis[s]://[user:password@]host[:port]"],
    ['--redis-cluster', 'a:port', "--redis-cluster: 'a:port' is not host:port or redis[s]://[user:password@]host[:port]"],
    ['--redis-cluster', '::1:7000', "--redis-cluster: '::1:7000' is not host:port or redis[s]://[user:password@]host[:port]"],
    ['--redis-cluster', 'http://a:7000', "--redis-cluster: 'http://a:7000' is not host:port or redis[s]://[user:password@]host[:port]"],
    ['--redis-cluster', 'redis://u:hunter2@a:7000/1', "--redis-cluster: 'redis://u:***@a:7000/1' is not host:port or redis[s]://[user:password@]host[:port]"],
    ['--redis-cluster', 'redis://a:7000?x=1', "--redis-cluster: 'redis://a:7000?x=1' is not host:port or redis[s]://[user:password@]host[:port]"],
    ['--redis-cluster', 'redis://a:0', "--redis-cluster: 'redis://a:0' is not host:port or redis[s]://[user:password@]host[:port]"],
    ['--redis-cluster', 'redis://', "--redis-cluster: 'redis://' is not host:port or redis[s]://[user:password@]host[:port]"],
    ['--redis-cluster', '', '--redis-cluster: needs a value'],
    ['--redis-sentinel', 's1:26379,s2', "--redis-sentinel: 's2' is not host:port or redis[s]://[user:password@]host[:port]"],
    ['--redis-cluster', 'redis://u:one@a:1,redis://u:two@b:2', "--redis-cluster: 'redis://u:***@a:1' and 'redis://u:***@b:2' give different credentials (every server takes the same)"],
    ['--redis-cluster', 'redis://u:pw@a:1,redis://v:pw@b:2', "--redis-cluster: 'redis://u:***@a:1' and 'redis://v:***@b:2' give different credentials (every server takes the same)"],
    ['--redis-sentinel', 'redis://a:1,rediss://b:2', "--redis-sentinel: 'redis://a:1' and 'rediss://b:2' disagree on TLS (redis:// or rediss://)"],
  ])('%s %j', (flag, value, message) => {
    const extra = flag === '--redis-sentinel' ? ['--redis-master', 'm'] : [];
    expect(errorOf(() => parseConfig([`${flag}=${value}`, ...extra], {}))).toBe(message);
  });

  it('a malformed entry through a variable or the file names the variable or file:line', () => {
    expect(errorOf(() => parseConfig([], { STARLING_REDIS_CLUSTER: 'a:7000,nope' }))).toBe("STARLING_REDIS_CLUSTER: 'nope' is not host:port or redis[s]://[user:password@]host[:port]");
    const path = configFile('# the store\n\nredis-sentinel: s1:26379,s2:x\nredis-master: m\n');
    expect(errorOf(() => loadConfig(['--config', path], {}))).toBe(`${path}:3: redis-sentinel: 's2:x' is not host:port or redis[s]://[user:password@]host[:port]`);
  });

  it('accepted: a Redis Cluster or Sentinel with --redis-wait-replicas, --auth redis and --workers', () => {
    const cluster = parseConfig(['--redis-cluster', 'a:7000', '--redis-wait-replicas', '2', '--auth', 'redis', '--workers', '3'], {});
    expect([cluster.redisWaitReplicas, cluster.auth, cluster.workers]).toEqual([2, 'redis', 3]);
    const sentinel = parseConfig(['--redis-sentinel', 's:26379', '--redis-master', 'm', '--redis-wait-replicas', '16'], {});
    expect(sentinel.redisWaitReplicas).toBe(16);
    expect(parseConfig(['--redis', 'redis://h', '--redis-wait-replicas', '1'], {}).redisWaitReplicas).toBe(1);
    // 0 (the default) needs no store.
    expect(parseConfig(['--redis-wait-replicas', '0'], {}).redisWaitReplicas).toBe(0);
  });

  it('redisTargetOf on a config built by hand gives the same refusals', () => {
    const both: BrokerConfig = { ...defaultConfig, redis: 'redis://h', redisCluster: 'a:1' };
    expect(errorOf(() => redisTargetOf(both))).toBe('--redis and --redis-cluster exclude each other: give one way to reach the store');
    expect(errorOf(() => redisTargetOf({ ...defaultConfig, redisSentinel: 's:1' }))).toBe('--redis-sentinel needs --redis-master (the name of the master the sentinels follow)');
    expect(errorOf(() => redisTargetOf({ ...defaultConfig, redisCluster: 'x' }))).toBe("--redis-cluster: 'x' is not host:port or redis[s]://[user:password@]host[:port]");
  });
});

describe('defaults, variables and config-file keys', () => {
  it('defaults: no cluster or sentinel, wait for 0 replicas, 2 s', () => {
    expect(defaultConfig).toMatchObject({ redis: undefined, redisCluster: undefined, redisSentinel: undefined, redisMaster: undefined, redisSentinelPassword: undefined, redisWaitReplicas: 0, redisWaitTimeoutMs: 2000 });
  });

  it('a Redis Cluster or Sentinel without --workers: one worker per core, as with --redis', () => {
    expect(parseConfig(['--redis-cluster', 'a:7000'], {}).workers).toBe(availableParallelism());
    expect(parseConfig(['--redis-sentinel', 's:26379', '--redis-master', 'm'], {}).workers).toBe(availableParallelism());
    expect(parseConfig(['--redis-cluster', 'a:7000', '--workers', '1'], {}).workers).toBe(1);
  });

  it('STARLING_* variables', () => {
    const config = parseConfig([], {
      STARLING_REDIS_SENTINEL: 's1:26379,s2:26379',
      STARLING_REDIS_MASTER: 'mymaster',
      STARLING_REDIS_SENTINEL_PASSWORD: 'sp',
      STARLING_REDIS_WAIT_REPLICAS: '1',
      STARLING_REDIS_WAIT_TIMEOUT: '0.25',
    });
    expect(config).toMatchObject({ redisSentinel: 's1:26379,s2:26379', redisMaster: 'mymaster', redisSentinelPassword: 'sp', redisWaitReplicas: 1, redisWaitTimeoutMs: 250 });
    expect(redisTargetOf(config)).toEqual({
      kind: 'sentinel',
      sentinels: [
        { host: 's1', port: 26379 },
        { host: 's2', port: 26379 },
      ],
      masterName: 'mymaster',
      sentinelPassword: 'sp',
    });
    expect(redisTargetOf(parseConfig([], { STARLING_REDIS_CLUSTER: 'redis://u:p@a:7000' }))).toEqual({ kind: 'cluster', nodes: [{ host: 'a', port: 7000 }], username: 'u', password: 'p' });
  });

  it('config-file keys; a flag wins over the file', () => {
    const path = configFile('redis-cluster: "redis://:pw@10.0.0.1:7000,10.0.0.2:7000"\nredis-wait-replicas: 2\nredis-wait-timeout: 0.5\n');
    const config = loadConfig(['--config', path], {});
    expect(config).toMatchObject({ redisCluster: 'redis://:pw@10.0.0.1:7000,10.0.0.2:7000', redisWaitReplicas: 2, redisWaitTimeoutMs: 500 });
    expect(redisTargetOf(config)).toEqual({
      kind: 'cluster',
      nodes: [
        { host: '10.0.0.1', port: 7000 },
        { host: '10.0.0.2', port: 7000 },
      ],
      password: 'pw',
    });
    expect(loadConfig(['--config', path, '--redis-wait-replicas', '0'], {}).redisWaitReplicas).toBe(0);
    const sentinel = configFile('redis-sentinel: s:26379\nredis-master: store\nredis-sentinel-password: sp\n');
    expect(redisTargetOf(loadConfig(['--config', sentinel], {}))).toEqual({ kind: 'sentinel', sentinels: [{ host: 's', port: 26379 }], masterName: 'store', sentinelPassword: 'sp' });
    // The file's store and a flag's: two ways, refused.
    expect(errorOf(() => loadConfig(['--config', path, '--redis', 'redis://h'], {}))).toBe('--redis and --redis-cluster exclude each other: give one way to reach the store');
  });
});

describe('--print-config and --help', () => {
  it('masks the passwords in the entries and the sentinels\' password, prints seconds, and reads back', () => {
    const config = parseConfig(
      ['--redis-sentinel', 'rediss://app:datapw@s1:26379,rediss://app:datapw@s2:26379', '--redis-master', 'm', '--redis-sentinel-password', 'sentpw', '--redis-wait-replicas', '1', '--redis-wait-timeout', '1.5'],
      {},
    );
    const printed = printConfig(config);
    expect(printed).not.toContain('datapw');
    expect(printed).not.toContain('sentpw');
    expect(printed).toContain('redis-sentinel: rediss://app:***@s1:26379,rediss://app:***@s2:26379\n');
    expect(printed).toContain('redis-sentinel-password: "***"\n');
    expect(printed).toContain('redis-master: m\n');
    expect(printed).toContain('redis-wait-replicas: 1\n');
    expect(printed).toContain('redis-wait-timeout: 1.5\n');
    const again = loadConfig(['--config', configFile(printed.replaceAll('app:***@', 'app:datapw@').replace('"***"', 'sentpw'))], {});
    expect(again).toEqual(config);
    const cluster = printConfig(parseConfig(['--redis-cluster', 'a:7000,redis://:pw@b:7001'], {}));
    expect(cluster).toContain('redis-cluster: a:7000,redis://:***@b:7001\n');
    expect(cluster).not.toContain('pw@');
  });

  it('--help lists the new flags', () => {
    const lines = usage().split('\n');
    const line = (flag: string) => lines.find((l) => l.startsWith(`  --${flag} <value>`));
    expect(line('redis-cluster')).toContain('seed nodes of a Redis Cluster');
    expect(line('redis-sentinel')).toContain('needs --redis-master');
    expect(line('redis-master')).toContain('--redis-sentinel');
    expect(line('redis-sentinel-password')).toContain('<value> password of the sentinels themselves (visible in ps: prefer STARLING_REDIS_SENTINEL_PASSWORD)');
    expect(line('redis-wait-replicas')).toContain('(default 0)');
    expect(line('redis-wait-timeout')).toContain('(default 2)');
  });
});
