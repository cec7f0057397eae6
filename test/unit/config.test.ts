import { describe, expect, it } from 'vitest';
import { anonymousAllowed, ConfigError, defaultConfig, HelpRequested, parseAddress, parseConfig } from '../../src/config.js';

describe('parseConfig', () => {
  it('returns the defaults with no flags and no env', () => {
    expect(parseConfig([], {})).toEqual(defaultConfig);
  });

  it('reads STARLING_* env vars and lets flags win', () => {
    const config = parseConfig(['--port', '1999', '--max-inflight=7'], { STARLING_PORT: '1888', STARLING_MAX_QUEUED: '50', STARLING_LOG_LEVEL: 'warn' });
    expect(config).toMatchObject({ port: 1999, maxInflight: 7, maxQueued: 50, logLevel: 'warn' });
  });

  it('--max-topic-alias / STARLING_MAX_TOPIC_ALIAS: 10 by default, 0 allowed (no aliases), at most 65535', () => {
    expect(defaultConfig.maxTopicAlias).toBe(10);
    expect(parseConfig(['--max-topic-alias', '0'], {}).maxTopicAlias).toBe(0);
    expect(parseConfig([], { STARLING_MAX_TOPIC_ALIAS: '300' }).maxTopicAlias).toBe(300);
    expect(() => parseConfig(['--max-topic-alias', '65536'], {})).toThrow(/--max-topic-alias: '65536' is not an integer in 0..65535/);
  });

  it('--redis-pending-bytes / STARLING_REDIS_PENDING_BYTES: 16 MiB by default, at least 1 MiB; --redis-set-pubsub-limit off by default', () => {
    expect(defaultConfig.redisPendingBytes).toBe(16 * 1024 * 1024);
    expect(defaultConfig.redisSetPubsubLimit).toBe(false);
    expect(parseConfig([], { STARLING_REDIS_PENDING_BYTES: '33554432' }).redisPendingBytes).toBe(32 * 1024 * 1024);
    expect(parseConfig(['--redis-set-pubsub-limit'], {}).redisSetPubsubLimit).toBe(true);
    expect(() => parseConfig(['--redis-pending-bytes', '1000'], {})).toThrow(/^--redis-pending-bytes: '1000' is not an integer in 1048576 or more$/);
  });

  it('--proxy-protocol / STARLING_PROXY_PROTOCOL: off by default, a boolean', () => {
    expect(defaultConfig.proxyProtocol).toBe(false);
    expect(parseConfig(['--proxy-protocol'], {}).proxyProtocol).toBe(true);
    expect(parseConfig([], { STARLING_PROXY_PROTOCOL: 'true' }).proxyProtocol).toBe(true);
    expect(parseConfig(['--proxy-protocol=false'], { STARLING_PROXY_PROTOCOL: '1' }).proxyProtocol).toBe(false);
    expect(() => parseConfig([], { STARLING_PROXY_PROTOCOL: 'v2' })).toThrow(/STARLING_PROXY_PROTOCOL: 'v2' is not a boolean/);
  });

  it('converts --connect-timeout seconds to milliseconds', () => {
    expect(parseConfig(['--connect-timeout', '0.5'], {}).connectTimeoutMs).toBe(500);
  });

  it.each([
    [['--port', 'x'], {}, /--port: 'x' is not an integer/],
    [['--port', '70000'], {}, /--port/],
    [['--max-inflight', '0'], {}, /--max-inflight/],
    [[], { STARLING_MAX_PACKET_SIZE: '-1' }, /STARLING_MAX_PACKET_SIZE/],
    [['--log-level', 'loud'], {}, /--log-level: 'loud' is not one of/],
    [['--nope'], {}, /unknown option --nope/],
    [['--port'], {}, /--port: needs a value/],
    [['stray'], {}, /unexpected argument 'stray'/],
    [['--username', 'u'], {}, /--username and --password must be given together/],
  ])('%j %j → one error naming the flag or variable', (argv, env, message) => {
    expect(() => parseConfig(argv, env)).toThrow(ConfigError);
    expect(() => parseConfig(argv, env)).toThrow(message);
  });

  it('refuses --workers > 1 without --redis', () => {
    expect(() => parseConfig(['--workers', '2'], {})).toThrow(
      '--workers 2 needs --redis, --redis-cluster or --redis-sentinel: without Redis the workers could not share sessions and subscriptions',
    );
    expect(parseConfig(['--workers', '2', '--redis', 'redis://127.0.0.1:6379'], {}).workers).toBe(2);
  });

  it('accepts redis:// and rediss:// URLs with host[:port][/db] and refuses anything else, naming the flag or variable', () => {
    for (const url of ['redis://127.0.0.1', 'redis://h:6379', 'redis://h:6379/2', 'rediss://user:pw@h.example:6380/0', 'redis://:pw@[::1]:6379']) {
      expect(parseConfig(['--redis', url, '--workers', '1'], {}).redis).toBe(url);
    }
    for (const url of ['notaurl', 'redis://', 'http://h:6379', 'redis:h', 'redis://h:0', 'redis://h:70000', 'redis://h/x', 'redis://h?db=1', 'redis://h#x']) {
      expect(() => parseConfig(['--redis', url], {}), url).toThrow(/^--redis: '.*' is not a Redis URL/);
    }
    expect(() => parseConfig([], { STARLING_REDIS: 'redis://u:secret@' })).toThrow("STARLING_REDIS: 'redis://u:***@' is not a Redis URL");
  });

  it('--redis-timeout / STARLING_REDIS_TIMEOUT: seconds, default 10', () => {
    expect(defaultConfig.redisTimeoutMs).toBe(10_000);
    expect(parseConfig(['--redis-timeout', '1.5'], {}).redisTimeoutMs).toBe(1500);
    expect(parseConfig([], { STARLING_REDIS_TIMEOUT: '3' }).redisTimeoutMs).toBe(3000);
    expect(() => parseConfig(['--redis-timeout', '0'], {})).toThrow('--redis-timeout');
  });

  it('refuses to listen off loopback without credentials or --allow-anonymous', () => {
    expect(() => parseConfig(['--host', '0.0.0.0'], {})).toThrow(/--allow-anonymous/);
    expect(parseConfig(['--host', '0.0.0.0', '--allow-anonymous'], {}).allowAnonymous).toBe(true);
    expect(parseConfig(['--host', '0.0.0.0', '--username', 'u', '--password', 'p'], {}).username).toBe('u');
  });

  it('allows anonymous clients on loopback, and not once a user is configured', () => {
    expect(anonymousAllowed(parseConfig([], {}))).toBe(true);
    expect(anonymousAllowed(parseConfig(['--username', 'u', '--password', 'p'], {}))).toBe(false);
    expect(anonymousAllowed(parseConfig(['--username', 'u', '--password', 'p', '--allow-anonymous'], {}))).toBe(true);
  });

  // Fails if --sys-interval has no upper bound: past 2^31-1 ms the $SYS timer overflows and fires
  // every millisecond (TimeoutOverflowWarning) instead of the value being refused.
  it('refuses a --sys-interval a timer cannot hold, naming the flag', () => {
    expect(() => parseConfig(['--sys-interval', '99999999'], {})).toThrow(/--sys-interval/);
    expect(parseConfig(['--sys-interval', '2147483'], {}).sysInterval).toBe(2_147_483);
  });

  // Fails if the queue defaults go back to what lost messages of a healthy subscriber's burst (1000).
  it('queue defaults: 10,000 messages and 16 MiB per client; --max-queued-bytes 0 means no byte bound', () => {
    expect(defaultConfig.maxQueued).toBe(10_000);
    expect(defaultConfig.maxQueuedBytes).toBe(16 * 1024 * 1024);
    expect(parseConfig(['--max-queued-bytes', '0'], {}).maxQueuedBytes).toBe(0);
    expect(() => parseConfig(['--max-queued-bytes', '-1'], {})).toThrow(/--max-queued-bytes/);
  });

  it('MQTT 5 capability settings: everything offered by default, each turned off or capped by its flag or variable', () => {
    expect(defaultConfig).toMatchObject({ maxKeepalive: 0, maxSessionExpiry: 0xffff_ffff, receiveMaximum: 65_535, maxQos: 2, retainAvailable: true, wildcardSubscriptions: true, sharedSubscriptions: true, subscriptionIdentifiers: true, responseInformation: undefined });
    const config = parseConfig(['--max-keepalive', '60', '--max-qos=1', '--retain-available=false', '--wildcard-subscriptions=no', '--shared-subscriptions=0', '--response-information', 'r/%c'], { STARLING_MAX_SESSION_EXPIRY: '3600', STARLING_RECEIVE_MAXIMUM: '10', STARLING_SUBSCRIPTION_IDENTIFIERS: 'false' });
    expect(config).toMatchObject({ maxKeepalive: 60, maxSessionExpiry: 3600, receiveMaximum: 10, maxQos: 1, retainAvailable: false, wildcardSubscriptions: false, sharedSubscriptions: false, subscriptionIdentifiers: false, responseInformation: 'r/%c' });
    expect(() => parseConfig(['--max-qos', '3'], {})).toThrow(/^--max-qos: '3' is not an integer in 0..2$/);
    expect(() => parseConfig(['--receive-maximum', '0'], {})).toThrow(/^--receive-maximum: '0' is not an integer in 1..65535$/);
    expect(() => parseConfig(['--max-keepalive', '65536'], {})).toThrow(/^--max-keepalive: /);
    expect(() => parseConfig([], { STARLING_MAX_SESSION_EXPIRY: '4294967296' })).toThrow(/^STARLING_MAX_SESSION_EXPIRY: /);
    expect(() => parseConfig(['--retain-available=maybe'], {})).toThrow(/^--retain-available: 'maybe' is not a boolean/);
  });

  // Fails if the failed-login flags lose their defaults, their seconds-to-ms conversion, 0 (off) or
  // the check that the cap is not below the first delay.
  it('--auth-fail-delay / --auth-fail-max-delay / --auth-fail-log-interval: seconds, 1 / 30 / 60 by default, 0 turns the delay off', () => {
    expect(defaultConfig).toMatchObject({ authFailDelayMs: 1000, authFailMaxDelayMs: 30_000, authFailLogIntervalMs: 60_000 });
    expect(parseConfig(['--auth-fail-delay', '0.25', '--auth-fail-max-delay=2'], { STARLING_AUTH_FAIL_LOG_INTERVAL: '5' })).toMatchObject({ authFailDelayMs: 250, authFailMaxDelayMs: 2000, authFailLogIntervalMs: 5000 });
    expect(parseConfig(['--auth-fail-delay', '0', '--auth-fail-max-delay', '0'], {}).authFailDelayMs).toBe(0);
    expect(() => parseConfig(['--auth-fail-delay', '5', '--auth-fail-max-delay', '2'], {})).toThrow(/--auth-fail-max-delay 2 is below --auth-fail-delay 5/);
    expect(() => parseConfig(['--auth-fail-delay', '3000000'], {})).toThrow(/^--auth-fail-delay: '3000000' is not a number of seconds in 0..2147483$/);
    expect(() => parseConfig(['--auth-fail-log-interval', '0'], {})).toThrow(ConfigError);
  });

  // Fails if --auth redis starts without --redis (no users anywhere: every login refused), mixes with
  // the file flags (two sources of users), or does not count as having users (off loopback it
  // would need --allow-anonymous, and anonymous clients would be let in on loopback).
  it('--auth / STARLING_AUTH: file by default; redis needs --redis, excludes the file flags, and counts as users', () => {
    const redis = ['--redis', 'redis://127.0.0.1:6379', '--workers', '1'];
    expect(defaultConfig.auth).toBe('file');
    expect(parseConfig([...redis, '--auth', 'redis'], {}).auth).toBe('redis');
    expect(parseConfig(redis, { STARLING_AUTH: 'redis' }).auth).toBe('redis');
    expect(() => parseConfig(['--auth', 'ldap'], {})).toThrow(/^--auth: 'ldap' is not one of file, redis$/);
    expect(() => parseConfig(['--auth', 'redis'], {})).toThrow(/^--auth redis needs --redis, --redis-cluster or --redis-sentinel \(the users and ACL rules are kept there\)$/);
    for (const file of [['--password-file', '/x'], ['--username', 'u', '--password', 'p'], ['--acl-file', '/x']]) {
      expect(() => parseConfig([...redis, '--auth', 'redis', ...file], {})).toThrow(/^--auth redis excludes --password-file, --username\/--password and --acl-file/);
    }
    const config = parseConfig([...redis, '--auth', 'redis', '--host', '0.0.0.0'], {});
    expect(anonymousAllowed(config)).toBe(false);
    expect(parseConfig([...redis, '--auth', 'redis', '--auth-methods', 'SCRAM-SHA-256'], {}).authMethods).toBe('SCRAM-SHA-256');
  });

  it('--http / STARLING_HTTP: off by default; [host:]port, loopback when only a port is given; anything else refused, naming the flag', () => {
    expect(parseConfig([], {}).http).toBeUndefined();
    expect(parseConfig(['--http', '9100'], {}).http).toBe('9100');
    expect(parseConfig([], { STARLING_HTTP: '0.0.0.0:9100' }).http).toBe('0.0.0.0:9100');
    expect(parseAddress('9100')).toEqual({ host: '127.0.0.1', port: 9100 });
    expect(parseAddress('[::1]:0')).toEqual({ host: '::1', port: 0 });
    expect(parseAddress('metrics.local:9100')).toEqual({ host: 'metrics.local', port: 9100 });
    for (const bad of ['', 'x', '9100:host', '70000', '::1:9100', 'host:']) expect(() => parseConfig([`--http=${bad}`], {})).toThrow(/--http/);
  });

  it('--help asks for the usage text', () => {
    expect(() => parseConfig(['--help'], {})).toThrow(HelpRequested);
  });
});
