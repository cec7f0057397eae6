// --listeners and --tls-* (src/listener-flags.ts, read by parseConfig) and the secure-default
// rule for listeners (checkConfig). Fails if: a URL part is dropped or misread (host, port, path,
// max-connections), an mqtts/wss listener starts without a certificate, a bad value does not
// name its flag, a non-loopback listener opens an anonymous broker, or listenerFlags() does not
// give back what it was given (the test cluster passes listeners that way).
import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfig, usage } from '../../src/config.js';
import { listenerFlags } from '../../src/listener-flags.js';

const TLS = ['--tls-cert', '/c.pem', '--tls-key', '/k.pem'];

describe('--listeners and --tls-*', () => {
  it('turns URLs into config.listeners: protocol, host, port, ws path (default /mqtt), max-connections; TLS settings on mqtts/wss', () => {
    const config = parseConfig(['--listeners', 'mqtt://127.0.0.1:1884,mqtts://127.0.0.1:8883?max-connections=5,ws://localhost:8080,wss://[::1]:8081/custom', ...TLS, '--tls-ca=/ca.pem', '--tls-require-certificate', '--tls-use-identity-as-username', '--tls-min-version', 'TLSv1.3'], {});
    const tls = { cert: '/c.pem', key: '/k.pem', ca: '/ca.pem', requireCertificate: true, useIdentityAsUsername: true, minVersion: 'TLSv1.3' };
    expect(config.listeners).toEqual([
      { protocol: 'mqtt', host: '127.0.0.1', port: 1884 },
      { protocol: 'mqtts', host: '127.0.0.1', port: 8883, maxConnections: 5, tls },
      { protocol: 'ws', host: 'localhost', port: 8080, path: '/mqtt' },
      { protocol: 'wss', host: '::1', port: 8081, path: '/custom', tls },
    ]);
  });

  it('reads STARLING_LISTENERS and STARLING_TLS_*; flags win; ports may be 0, or left to the scheme', () => {
    const env = { STARLING_LISTENERS: 'mqtts://127.0.0.1:0', STARLING_TLS_CERT: '/c.pem', STARLING_TLS_KEY: '/k.pem' };
    expect(parseConfig([], env).listeners).toEqual([{ protocol: 'mqtts', host: '127.0.0.1', port: 0, tls: { cert: '/c.pem', key: '/k.pem' } }]);
    expect(parseConfig(['--listeners=ws://127.0.0.1'], env).listeners).toEqual([{ protocol: 'ws', host: '127.0.0.1', port: 80, path: '/mqtt' }]);
    expect(parseConfig(['--listeners=mqtts://127.0.0.1,wss://127.0.0.1'], env).listeners.map((l) => l.port)).toEqual([8883, 443]);
    expect(parseConfig([], {}).listeners).toEqual([]);
  });

  it.each([
    [['--listeners', 'nonsense'], /^--listeners: 'nonsense' is not a listener URL/],
    [['--listeners', 'http://127.0.0.1:80'], /^--listeners: 'http:\/\/127.0.0.1:80' has an unknown protocol 'http'/],
    [['--listeners', 'mqtt://127.0.0.1:1884/path'], /has a path, which only ws and wss listeners use/],
    [['--listeners', 'ws://127.0.0.1:80/mqtt?max-connections=0'], /has a max-connections that is not an integer of 1 or more/],
    [['--listeners', 'ws://127.0.0.1:80/mqtt?backlog=5'], /has an unknown setting 'backlog'/],
    [['--listeners', 'mqtts://127.0.0.1:8883'], /^--listeners: mqtts listeners need --tls-cert and --tls-key$/],
    [['--listeners', 'wss://127.0.0.1:8883', '--tls-cert', '/c.pem'], /^--tls-cert: needs --tls-key too$/],
    [['--tls-ca', '/ca.pem'], /^--tls-ca: needs --tls-cert and --tls-key$/],
    [[...TLS, '--tls-min-version', 'TLSv1.1'], /^--tls-min-version: 'TLSv1.1' is not one of TLSv1.2, TLSv1.3$/],
    [[...TLS, '--tls-require-certificate'], /^--tls-require-certificate: needs --tls-ca/],
    [['--listeners'], /^--listeners: needs a value$/],
  ])('%j → one ConfigError naming the flag', (argv, message) => {
    expect(() => parseConfig(argv, {})).toThrow(ConfigError);
    expect(() => parseConfig(argv, {})).toThrow(message);
  });

  it('secure by default: a non-loopback listener needs users or --allow-anonymous, unless a verified certificate names the user', () => {
    expect(() => parseConfig(['--listeners', 'ws://0.0.0.0:8080'], {})).toThrow(/^listening on ws:\/\/0.0.0.0:8080 needs --password-file/);
    expect(parseConfig(['--listeners', 'ws://0.0.0.0:8080', '--allow-anonymous'], {}).listeners).toHaveLength(1);
    expect(parseConfig(['--listeners', 'ws://0.0.0.0:8080', '--password-file', '/p'], {}).listeners).toHaveLength(1);
    const identity = ['--listeners', 'mqtts://0.0.0.0:8883', ...TLS, '--tls-ca', '/ca.pem', '--tls-require-certificate'];
    expect(() => parseConfig(identity, {})).toThrow(/^listening on mqtts:\/\/0.0.0.0:8883 needs/);
    expect(parseConfig([...identity, '--tls-use-identity-as-username'], {}).listeners).toHaveLength(1);
  });

  it('listenerFlags() gives back the same listeners through parseConfig', () => {
    const argv = ['--listeners', 'mqtts://127.0.0.1:8883?max-connections=5,ws://[::1]:8080/x', ...TLS, '--tls-ca=/ca.pem', '--tls-require-certificate', '--tls-min-version=TLSv1.3'];
    const listeners = parseConfig(argv, {}).listeners;
    expect(parseConfig(listenerFlags(listeners), {}).listeners).toEqual(listeners);
    expect(listenerFlags([])).toEqual([]);
  });

  it('usage lists the listener flags', () => {
    expect(usage()).toMatch(/--listeners <value>/);
    expect(usage()).toMatch(/--tls-require-certificate {2}/);
  });
});
