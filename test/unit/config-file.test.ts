// The config file (src/config-file.ts, config-listeners.ts, config-print.ts, config-reload.ts):
// every key of OPTIONS set through a real file, STARLING_* and the flag, and their precedence.
// What would make these fail:
// - a flag added to OPTIONS whose kind has no sample here (samplesFor throws: add one, do not skip);
// - loadConfig applying the layers in another order (file must lose to env, env to flags);
// - an error line without FILE:LINE, or worded differently from the flag's (one rule set);
// - relative paths in the file resolved against the working directory instead of the file's;
// - --bus-window 1..262143 accepted again (it was silently raised to 262144);
// - listeners/plugins lists not checked (unknown key, bad protocol/port, tls missing);
// - --print-config showing a password, or not reading back as the same config;
// - configChanges calling a restart key live or the reverse.
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultConfig, envName, OPTIONS, parseConfig, type BrokerConfig, type Option } from '../../src/config.js';
import { loadConfig, readConfigFile, suggestion } from '../../src/config-file.js';
import { printConfig } from '../../src/config-print.js';
import { configChanges, LIVE_FLAGS } from '../../src/config-reload.js';
import { configFiles, errorOf } from '../helpers/config-files.js';

const { dir, configFile } = configFiles('config');

interface Sample {
  /** As a flag or variable gives it. */
  raw: string;
  /** As written in a YAML file. */
  yaml: string;
  /** The typed value; `base`: the file's directory (relative paths resolve there), undefined: a flag or variable. */
  expected(base?: string): unknown;
}

/** Flags some keys need beside them to pass the rules spanning several keys (checkConfig). */
const COMPANIONS: Record<string, string[]> = {
  username: ['--password', 'p'],
  password: ['--username', 'u'],
  workers: ['--redis', 'redis://127.0.0.1:6379'],
  auth: ['--redis', 'redis://127.0.0.1:6379'],
  'redis-sentinel': ['--redis-master', 'mymaster'],
  'redis-master': ['--redis-sentinel', '127.0.0.1:26379'],
  'redis-sentinel-password': ['--redis-sentinel', '127.0.0.1:26379', '--redis-master', 'mymaster'],
  'redis-wait-replicas': ['--redis', 'redis://127.0.0.1:6379'],
  'auth-methods': ['--username', 'u', '--password', 'p'],
};

/** Two valid values per key, both unlike the default (so each layer shows), from its kind and bounds. */
function samplesFor(option: Option): [Sample, Sample] {
  const plain = (raw: string, value: unknown, yaml = raw): Sample => ({ raw, yaml, expected: () => value });
  const current = (defaultConfig as unknown as Record<string, unknown>)[option.key];
  switch (option.kind) {
    case 'int': {
      const lo = option.minUnlessZero ?? option.min ?? 0;
      const hi = option.max ?? lo + 1_000_000;
      const picks = [lo + 1, hi, lo, hi - 1].filter((n) => n !== current && n >= lo && n <= hi);
      return [plain(String(picks[0]), picks[0]), plain(String(picks[1]), picks[1])];
    }
    case 'seconds-ms':
      return [plain('2.5', 2500), plain('7', 7000)];
    case 'bool':
      return current === true ? [plain('false', false), plain('no', false, 'false')] : [plain('true', true), plain('false', false)];
    case 'level':
      return [plain('debug', 'debug'), plain('warn', 'warn')];
    case 'redis-url':
      return [plain('redis://127.0.0.1:6390/1', 'redis://127.0.0.1:6390/1'), plain('redis://:pw@127.0.0.1:6391', 'redis://:pw@127.0.0.1:6391')];
    case 'redis-hosts':
      return [plain('127.0.0.1:7000,[::1]:7001', '127.0.0.1:7000,[::1]:7001', '"127.0.0.1:7000,[::1]:7001"'), plain('rediss://u:pw@10.0.0.1:7002', 'rediss://u:pw@10.0.0.1:7002')];
    case 'paths':
      return [
        { raw: 'plugins/a.mjs', yaml: '\n  - plugins/a.mjs', expected: (base = process.cwd()) => [resolve(base, 'plugins/a.mjs')] },
        { raw: 'b.mjs,c.mjs', yaml: 'b.mjs,c.mjs', expected: (base = process.cwd()) => [resolve(base, 'b.mjs'), resolve(base, 'c.mjs')] },
      ];
    case 'address':
      return [plain('9100', '9100'), plain('127.0.0.1:9101', '127.0.0.1:9101', '"127.0.0.1:9101"')];
    case 'string': {
      if (option.choices !== undefined) {
        const choices = option.choices.filter((c) => c !== current);
        return [plain(choices[0], choices[0]), plain(choices[1] ?? choices[0], choices[1] ?? choices[0])];
      }
      // A file path: relative to the config file there, kept as given in a flag or variable (the working directory's).
      const path = (raw: string): Sample => ({ raw, yaml: raw, expected: (base) => (base === undefined ? raw : resolve(base, raw)) });
      if (option.file === true) return [path('a.txt'), path('sub/b.txt')];
      if (option.flag === 'host') return [plain('localhost', 'localhost'), plain('127.0.0.2', '127.0.0.2', '"127.0.0.2"')];
      if (option.flag === 'auth-methods') return [plain('SCRAM-SHA-256', 'SCRAM-SHA-256'), plain('none', 'none')];
      return [plain('first value', 'first value', '"first value"'), plain('second', 'second')];
    }
    default:
      // A new kind of option: give it samples here, so it is tested through file, env and flag too.
      throw new Error(`no sample value for --${option.flag} (kind ${String(option.kind)}): add one to samplesFor`);
  }
}

function flagArgs(option: Option, raw: string): string[] {
  return [`--${option.flag}=${raw}`];
}

describe('every key through the file, STARLING_* and the flag', () => {
  it('every option has samples (a new kind without one fails here)', () => {
    for (const option of OPTIONS) expect(() => samplesFor(option), option.flag).not.toThrow();
  });

  describe.each(OPTIONS.map((o) => [o.flag, o] as const))('%s', (_flag, option) => {
    const [a, b] = samplesFor(option);
    const companions = COMPANIONS[option.flag] ?? [];
    const get = (config: BrokerConfig): unknown => config[option.key];
    const fileWith = (s: Sample): string => configFile(`# set by the test\n${option.flag}: ${s.yaml}\n`);

    it('through the file (paths relative to the file)', () => {
      const path = fileWith(a);
      expect(get(loadConfig(['--config', path, ...companions], {}))).toEqual(a.expected(join(path, '..')));
      const other = fileWith(b);
      expect(get(loadConfig(companions, { STARLING_CONFIG: other }))).toEqual(b.expected(join(other, '..')));
    });

    it(`through ${envName(option.flag)}`, () => {
      expect(get(loadConfig(companions, { [envName(option.flag)]: a.raw }))).toEqual(a.expected());
    });

    it('through the flag', () => {
      expect(get(loadConfig([...flagArgs(option, b.raw), ...companions], {}))).toEqual(b.expected());
    });

    it('flag > env > file > default', () => {
      const path = fileWith(a);
      const base = join(path, '..');
      const env = { [envName(option.flag)]: b.raw };
      expect(get(loadConfig(['--config', path, ...companions], {}))).toEqual(a.expected(base));
      expect(get(loadConfig(['--config', path, ...companions], env))).toEqual(b.expected());
      expect(get(loadConfig(['--config', path, ...flagArgs(option, a.raw), ...companions], env))).toEqual(a.expected());
      // (--username and --password, --redis-sentinel and --redis-master cannot stand alone: their defaults are checked in config*.test.ts.)
      if (!['username', 'password', 'redis-sentinel', 'redis-master'].includes(option.flag)) expect(get(loadConfig(companions, {}))).toEqual(option.flag === 'workers' ? expect.any(Number) : (defaultConfig as unknown as Record<string, unknown>)[option.key]);
    });
  });
});

/** Values each kind refuses, as a flag would give them. */
function badValues(option: Option): string[] {
  switch (option.kind) {
    case 'int':
      return ['abc', '1.5', String((option.max ?? Number.MAX_SAFE_INTEGER) + 1), ...(option.min !== undefined && option.min > 0 ? [String(option.min - 1)] : [])];
    case 'seconds-ms':
      return ['soon', '-1'];
    case 'bool':
      return ['maybe'];
    case 'level':
      return ['loud'];
    case 'redis-url':
      return ['http://h:6379', 'redis://u:secret@'];
    case 'redis-hosts':
      return ['', 'h', 'h:0', 'a:1,,b:2', 'redis://u:secret@h:1/2', 'redis://a:1,rediss://b:2'];
    case 'string':
      return option.choices !== undefined ? ['nope', ''] : [''];
    case 'paths':
      return ['a,,b'];
    case 'address':
      return ['nope', '127.0.0.1:99999'];
    default:
      throw new Error(`no bad values for --${option.flag} (kind ${String(option.kind)}): add them to badValues`);
  }
}

describe('a bad value gives one line: FILE:LINE: key: what the flag would say', () => {
  const cases = OPTIONS.flatMap((o) => badValues(o).map((raw) => [o.flag, raw, o] as const));
  it.each(cases)('%s: %j', (flag, raw, option) => {
    const path = configFile(`# line 1\n\n${flag}: ${JSON.stringify(raw)}\n`);
    const fromFlag = errorOf(() => parseConfig([`--${flag}=${raw}`], {}));
    const fromFile = errorOf(() => loadConfig(['--config', path], {}));
    expect(fromFile).toBe(fromFlag.replace(`--${flag}`, `${path}:3: ${flag}`));
    expect(fromFile.split('\n')).toHaveLength(1);
    void option;
  });

  it('exact lines for a few', () => {
    const path = configFile('max-inflight: abc\n');
    expect(errorOf(() => loadConfig(['--config', path], {}))).toBe(`${path}:1: max-inflight: 'abc' is not an integer in 1..65535`);
    const bus = configFile('\nbus-window: 1000\n');
    expect(errorOf(() => loadConfig(['--config', bus], {}))).toBe(`${bus}:2: bus-window: '1000' is not 0 (off) or an integer in 262144 or more`);
    expect(errorOf(() => parseConfig(['--bus-window', '262143'], {}))).toBe("--bus-window: '262143' is not 0 (off) or an integer in 262144 or more");
    expect(parseConfig(['--bus-window', '0'], {}).busWindowBytes).toBe(0);
    expect(parseConfig(['--bus-window', '262144'], {}).busWindowBytes).toBe(262_144);
    const empty = configFile('port:\n');
    expect(errorOf(() => loadConfig(['--config', empty], {}))).toBe(`${empty}:1: port: needs a value`);
    const list = configFile('port:\n  - 1\n');
    expect(errorOf(() => loadConfig(['--config', list], {}))).toBe(`${list}:2: port: expected a single value, not a list or mapping`);
  });

  it('an unknown key names its line and the closest known key', () => {
    const path = configFile('port: 1884\nmax-inflite: 3\n');
    expect(errorOf(() => loadConfig(['--config', path], {}))).toBe(`${path}:2: unknown key 'max-inflite' (did you mean 'max-inflight'?)`);
    const far = configFile('colour: blue\n');
    expect(errorOf(() => loadConfig(['--config', far], {}))).toBe(`${far}:1: unknown key 'colour'`);
    expect(suggestion('listeners')).toBe(" (did you mean 'listeners'?)");
  });

  it('a YAML syntax error, a duplicate key, a file that is not a mapping, a missing file: one line each', () => {
    const bad = configFile('port: 1884\nhost: [127.0.0.1\n');
    expect(errorOf(() => loadConfig(['--config', bad], {}))).toMatch(new RegExp(`^${bad}:2: not valid YAML: [^\\n]+$`));
    const tab = configFile('port: 1\n\thost: x\nsys-interval: 0\n');
    expect(errorOf(() => loadConfig(['--config', tab], {}))).toMatch(new RegExp(`^${tab}:2: not valid YAML: Tabs`));
    const dup = configFile('port: 1\nport: 2\n');
    expect(errorOf(() => loadConfig(['--config', dup], {}))).toMatch(new RegExp(`^${dup}:2: not valid YAML: .*[Uu]nique`));
    const scalar = configFile('just words\n');
    expect(errorOf(() => loadConfig(['--config', scalar], {}))).toBe(`${scalar}:1: expected key: value lines (a YAML mapping)`);
    expect(errorOf(() => loadConfig(['--config', join(dir, 'none.yaml')], {}))).toBe(`--config: ${join(dir, 'none.yaml')}: no such file`);
    expect(errorOf(() => loadConfig(['--config'], {}))).toBe('--config: needs a value');
  });

  it('an empty file is no settings; --config wins over STARLING_CONFIG', () => {
    expect(loadConfig(['--config', configFile('# nothing yet\n')], {})).toEqual(defaultConfig);
    const a = configFile('port: 1001\n');
    const b = configFile('port: 1002\n');
    expect(loadConfig([`--config=${a}`], { STARLING_CONFIG: b }).port).toBe(1001);
    expect(loadConfig([], { STARLING_CONFIG: b }).port).toBe(1002);
  });
});

// Fails if the file has no key for --listeners (as a URL list) or the --tls-* flags, if their paths
// are not relative to the file, if a flag or variable does not win over them key by key, or if
// tls-* keys beside a listeners: list (which carries its own tls:) are silently ignored.
describe('the --listeners and --tls-* flags as file keys', () => {
  it('listeners as a URL list with tls-* keys: TLS files relative to the file; STARLING_TLS_KEY wins over the file', () => {
    const path = configFile(['listeners: mqtts://127.0.0.1:8883,ws://127.0.0.1:8080/mqtt', 'tls-cert: tls/cert.pem', 'tls-key: tls/key.pem', 'tls-min-version: TLSv1.3', ''].join('\n'));
    const base = join(path, '..');
    const config = loadConfig(['--config', path], { STARLING_TLS_KEY: '/etc/other.key' });
    expect(config.listeners).toEqual([
      { protocol: 'mqtts', host: '127.0.0.1', port: 8883, tls: { cert: join(base, 'tls/cert.pem'), key: '/etc/other.key', minVersion: 'TLSv1.3' } },
      { protocol: 'ws', host: '127.0.0.1', port: 8080, path: '/mqtt' },
    ]);
    // A flag's URL list replaces the file's; the file's tls-* still apply to it.
    const flagged = loadConfig(['--config', path, '--listeners', 'wss://127.0.0.1:8443/mqtt'], {});
    expect(flagged.listeners).toEqual([{ protocol: 'wss', host: '127.0.0.1', port: 8443, path: '/mqtt', tls: { cert: join(base, 'tls/cert.pem'), key: join(base, 'tls/key.pem'), minVersion: 'TLSv1.3' } }]);
  });

  it('bad values name the file, line and key; tls-* beside a listeners: list is refused', () => {
    const bad = configFile(['listeners: mqtts://127.0.0.1:8883', 'tls-cert: c.pem', 'tls-key: k.pem', 'tls-min-version: SSLv3', ''].join('\n'));
    expect(() => loadConfig(['--config', bad], {})).toThrow(new RegExp(`^${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:4: tls-min-version: 'SSLv3' is not one of TLSv1.2, TLSv1.3$`));
    const mixed = configFile(['listeners:', '  - protocol: ws', '    port: 8080', 'tls-cert: c.pem', ''].join('\n'));
    expect(() => loadConfig(['--config', mixed], {})).toThrow(/:4: tls-cert: with a listeners: list, give each mqtts\/wss listener its own tls: mapping$/);
    const typo = configFile('tls-crt: c.pem\n');
    expect(() => loadConfig(['--config', typo], {})).toThrow(/:1: unknown key 'tls-crt' \(did you mean 'tls-cert'\?\)$/);
  });
});

describe('listeners and plugins lists', () => {
  it('reads listeners (kebab-case keys, TLS paths relative to the file, host defaulting to --host)', () => {
    const path = configFile(
      [
        'listeners:',
        '  - protocol: mqtts',
        '    port: 8883',
        '    proxy-protocol: true',
        '    max-connections: 500',
        '    tls:',
        '      cert: tls/cert.pem',
        '      key: /etc/starling/key.pem',
        '      ca: ca.pem',
        '      require-certificate: true',
        '      use-identity-as-username: true',
        '      min-version: TLSv1.3',
        '  - protocol: ws',
        '    host: 0.0.0.0',
        '    port: 8080',
        '    path: /mqtt',
        '',
      ].join('\n'),
    );
    const base = join(path, '..');
    // A ws listener on 0.0.0.0 is off loopback: the secure default wants users or --allow-anonymous.
    const config = loadConfig(['--config', path, '--host', 'localhost', '--allow-anonymous'], {});
    expect(config.listeners).toEqual([
      { protocol: 'mqtts', host: 'localhost', port: 8883, proxyProtocol: true, maxConnections: 500, tls: { cert: join(base, 'tls/cert.pem'), key: '/etc/starling/key.pem', ca: join(base, 'ca.pem'), requireCertificate: true, useIdentityAsUsername: true, minVersion: 'TLSv1.3' } },
      { protocol: 'ws', host: '0.0.0.0', port: 8080, path: '/mqtt' },
    ]);
  });

  it.each([
    // A scalar is the --listeners flag's URL list (the tls-* keys beside it).
    ['listeners: 3', 1, "listeners: '3' is not a listener URL (mqtt|mqtts|ws|wss://host:port[/path][?max-connections=N][&proxy-protocol=1])"],
    ['listeners: {a: 1}', 1, 'listeners: expected a list of mappings (- protocol: mqtts ...)'],
    ['listeners:\n  - protocol: mqtt\n    port: 1884\n    colour: red', 4, "listeners: unknown key 'colour' (keys: protocol, host, port, path, tls, proxy-protocol, max-connections)"],
    ['listeners:\n  - protocol: http\n    port: 80', 2, "listeners: protocol: 'http' is not one of mqtt, mqtts, ws, wss"],
    ['listeners:\n  - protocol: mqtt\n    port: 70000', 3, "listeners: port: '70000' is not an integer in 0..65535"],
    ['listeners:\n  - protocol: mqtt\n    port: x', 3, "listeners: port: 'x' is not an integer in 0..65535"],
    ['listeners:\n  - protocol: mqtt', 2, 'listeners: port is missing'],
    ['listeners:\n  - port: 1', 2, 'listeners: protocol is missing (one of mqtt, mqtts, ws, wss)'],
    ['listeners:\n  - protocol: mqtts\n    port: 8883', 2, 'listeners: a mqtts listener needs tls: (cert and key)'],
    ['listeners:\n  - protocol: mqtt\n    port: 1\n    tls: {cert: a, key: b}', 4, 'listeners: tls: only mqtts and wss listeners take tls'],
    ['listeners:\n  - protocol: wss\n    port: 1\n    tls:\n      cert: a', 5, 'listeners: tls: needs cert and key'],
    ['listeners:\n  - protocol: wss\n    port: 1\n    tls:\n      cert: a\n      key: b\n      pin: c', 7, "tls: unknown key 'pin' (keys: cert, key, ca, require-certificate, use-identity-as-username, min-version)"],
    ['listeners:\n  - protocol: wss\n    port: 1\n    tls:\n      cert: a\n      key: b\n      min-version: TLSv1.0', 7, "listeners: tls: min-version: 'TLSv1.0' is not one of TLSv1.2, TLSv1.3"],
    ['listeners:\n  - protocol: mqtt\n    port: 1\n    path: /mqtt', 4, 'listeners: path: only ws and wss listeners have a path'],
    ['listeners:\n  - protocol: ws\n    port: 1\n    proxy-protocol: sometimes', 4, "listeners: proxy-protocol: 'sometimes' is not a boolean (true/false)"],
  ])('%j → line %i: %s', (text, line, message) => {
    const path = configFile(`${text}\n`);
    expect(errorOf(() => loadConfig(['--config', path], {}))).toBe(`${path}:${line}: ${message}`);
  });

  it('plugins: a YAML list or a comma-separated string, relative to the file; flags resolve against the working directory', () => {
    const path = configFile('plugins:\n  - a.mjs\n  - /abs/b.mjs\n');
    expect(loadConfig(['--config', path], {}).plugins).toEqual([join(path, '..', 'a.mjs'), '/abs/b.mjs']);
    const bad = configFile('plugins:\n  - a.mjs\n  - {x: 1}\n');
    expect(errorOf(() => loadConfig(['--config', bad], {}))).toBe(`${bad}:2: plugins: expected a list of module paths`);
    expect(loadConfig(['--plugins', 'a.mjs'], {}).plugins).toEqual([resolve('a.mjs')]);
  });
});

describe('--print-config', () => {
  it('masks secrets and reads back as the same config', () => {
    const path = configFile('username: admin\npassword: hunter2\nredis: redis://u:s3cret@127.0.0.1:6379/2\nworkers: 2\nconnect-timeout: 0.5\nplugins: [x.mjs]\nlisteners:\n  - {protocol: ws, port: 8080, path: /mqtt}\n');
    const config = loadConfig(['--config', path], {});
    const printed = printConfig(config);
    expect(printed).not.toContain('hunter2');
    expect(printed).not.toContain('s3cret');
    expect(printed).toContain('password: "***"');
    expect(printed).toContain('redis: redis://u:***@127.0.0.1:6379/2');
    const again = loadConfig(['--config', configFile(printed.replace('"***"', 'hunter2').replace('u:***@', 'u:s3cret@'))], {});
    expect(again).toEqual(config);
    // The defaults too: every key printed reads back.
    expect(loadConfig(['--config', configFile(printConfig(defaultConfig))], {})).toEqual(defaultConfig);
  });
});

describe('SIGHUP: what applies live and what needs a restart', () => {
  it('splits the changed keys', () => {
    const next: BrokerConfig = { ...defaultConfig, logLevel: 'debug', maxQueued: 5, port: 1999, listeners: [{ protocol: 'mqtt', host: 'h', port: 1 }] };
    expect(configChanges(defaultConfig, next)).toEqual({ live: ['log-level', 'max-queued'], restart: ['port', 'listeners'] });
    expect(configChanges(defaultConfig, { ...defaultConfig })).toEqual({ live: [], restart: [] });
    for (const flag of LIVE_FLAGS) expect(OPTIONS.some((o) => o.flag === flag), flag).toBe(true);
  });

  it('readConfigFile reads the file alone (what SIGHUP re-reads)', () => {
    const path = configFile('log-level: warn\n');
    expect(readConfigFile(path).values).toEqual({ logLevel: 'warn' });
  });
});

describe('applyConfig on a running broker', () => {
  it('sets the logger level and the limits the broker reads next; keeps restart keys as they were', async () => {
    const { startBroker } = await import('../../src/index.js');
    const { applyConfig } = await import('../../src/config-reload.js');
    const { silentLogger } = await import('../../src/log.js');
    const log = silentLogger();
    log.level = 'info';
    const running = await startBroker({ port: 0, sysInterval: 0 }, undefined, { logger: log });
    try {
      const start: BrokerConfig = { ...defaultConfig, port: 0, sysInterval: 0 };
      const next: BrokerConfig = { ...start, logLevel: 'debug', maxQueued: 3, maxQueuedBytes: 4096, maxWriteBuffer: 2048, connectTimeoutMs: 1500, maxInflight: 5, maxKeepalive: 30, port: 1999 };
      const now = applyConfig(start, next, running.broker, [log], log);
      expect(log.level).toBe('debug');
      expect(running.broker.queueLimits).toEqual({ messages: 3, bytes: 4096 });
      expect(running.broker.maxWriteBuffer).toBe(2048);
      expect(running.broker.config).toMatchObject({ connectTimeoutMs: 1500, maxInflight: 5, maxKeepalive: 30, port: 0 });
      expect(now).toEqual({ ...next, port: 0 });
    } finally {
      await running.close();
    }
  });
});
