// --listeners and the --tls-* flags: turned into config.listeners (ListenerConfig[]), the one form
// the broker builds listeners from (a config file gives the same list directly). Also the way
// back, listenerFlags(), for whoever has to pass a config on a command line (the test cluster).
import { ConfigError, type ListenerConfig, type TlsConfig } from './config.js';

export interface ListenerFlag {
  flag: string;
  bool: boolean;
  help: string;
}

export const LISTENER_FLAGS: readonly ListenerFlag[] = [
  { flag: 'listeners', bool: false, help: 'more listeners, comma-separated URLs: mqtt|mqtts|ws|wss://host:port[/path][?max-connections=N][&proxy-protocol=1] (ws path default /mqtt; e.g. mqtts://0.0.0.0:8883,wss://0.0.0.0:8081/mqtt)' },
  { flag: 'tls-cert', bool: false, help: 'certificate file (PEM) of every mqtts/wss listener; re-read on SIGHUP' },
  { flag: 'tls-key', bool: false, help: 'its private key file (PEM); re-read on SIGHUP' },
  { flag: 'tls-ca', bool: false, help: 'CA bundle (PEM) client certificates must chain to' },
  { flag: 'tls-require-certificate', bool: true, help: 'refuse a TLS client without a valid certificate (signed by --tls-ca)' },
  { flag: 'tls-use-identity-as-username', bool: true, help: "the client certificate's CN is the MQTT username (no password asked), as Mosquitto's use_identity_as_username" },
  { flag: 'tls-min-version', bool: false, help: 'TLSv1.2|TLSv1.3 (default TLSv1.2)' },
];

const PROTOCOLS: ReadonlySet<string> = new Set(['mqtt', 'mqtts', 'ws', 'wss']);
/** A URL without a port means the scheme's own (ws and wss are "special" schemes: their 80 and 443 are dropped from the URL). */
const DEFAULT_PORTS: Readonly<Record<string, number>> = { mqtt: 1883, mqtts: 8883, ws: 80, wss: 443 };
const MIN_VERSIONS = ['TLSv1.2', 'TLSv1.3'] as const;

/** Raw values by flag name, and where each came from (--flag or STARLING_VAR) for error messages. */
export type ListenerFlagValues = Map<string, { raw: string; source: string }>;

export function isListenerFlag(flag: string): ListenerFlag | undefined {
  return LISTENER_FLAGS.find((f) => f.flag === flag);
}

/** The listeners the flags describe; undefined when none of the flags was given. */
export function listenersFromFlags(values: ListenerFlagValues): ListenerConfig[] | undefined {
  if (values.size === 0) return undefined;
  const urls = values.get('listeners');
  const tls = tlsFromFlags(values);
  const listeners = urls === undefined || urls.raw.trim() === '' ? [] : urls.raw.split(',').map((url) => parseListenerUrl(url.trim(), urls.source));
  const secure = listeners.find((l) => l.protocol === 'mqtts' || l.protocol === 'wss');
  if (secure !== undefined) {
    if (tls === undefined) throw new ConfigError(`${urls!.source}: ${secure.protocol} listeners need --tls-cert and --tls-key`);
    for (const l of listeners) if (l.protocol === 'mqtts' || l.protocol === 'wss') l.tls = tls;
  }
  return listeners;
}

function tlsFromFlags(values: ListenerFlagValues): TlsConfig | undefined {
  const cert = values.get('tls-cert');
  const key = values.get('tls-key');
  if (cert === undefined && key === undefined) {
    const stray = ['tls-ca', 'tls-require-certificate', 'tls-use-identity-as-username', 'tls-min-version'].find((f) => values.has(f));
    if (stray !== undefined) throw new ConfigError(`${values.get(stray)!.source}: needs --tls-cert and --tls-key`);
    return undefined;
  }
  if (cert === undefined) throw new ConfigError(`${key!.source}: needs --tls-cert too`);
  if (key === undefined) throw new ConfigError(`${cert.source}: needs --tls-key too`);
  const tls: TlsConfig = { cert: nonEmpty(cert), key: nonEmpty(key) };
  const ca = values.get('tls-ca');
  if (ca !== undefined) tls.ca = nonEmpty(ca);
  const require = values.get('tls-require-certificate');
  if (require !== undefined) tls.requireCertificate = bool(require);
  const identity = values.get('tls-use-identity-as-username');
  if (identity !== undefined) tls.useIdentityAsUsername = bool(identity);
  const min = values.get('tls-min-version');
  if (min !== undefined) {
    if (!(MIN_VERSIONS as readonly string[]).includes(min.raw)) throw new ConfigError(`${min.source}: '${min.raw}' is not one of ${MIN_VERSIONS.join(', ')}`);
    tls.minVersion = min.raw as (typeof MIN_VERSIONS)[number];
  }
  if ((tls.requireCertificate === true || tls.useIdentityAsUsername === true) && tls.ca === undefined) {
    throw new ConfigError(`${(require ?? identity)!.source}: needs --tls-ca (the CA client certificates are verified against)`);
  }
  return tls;
}

function nonEmpty(value: { raw: string; source: string }): string {
  if (value.raw === '') throw new ConfigError(`${value.source}: needs a value`);
  return value.raw;
}

function bool(value: { raw: string; source: string }): boolean {
  if (['1', 'true', 'yes', ''].includes(value.raw)) return true;
  if (['0', 'false', 'no'].includes(value.raw)) return false;
  throw new ConfigError(`${value.source}: '${value.raw}' is not a boolean (true/false)`);
}

/** mqtt|mqtts|ws|wss://host:port[/path][?max-connections=N][&proxy-protocol=1] → a ListenerConfig (without tls). */
export function parseListenerUrl(raw: string, source: string): ListenerConfig {
  const bad = (why: string): ConfigError => new ConfigError(`${source}: '${raw}' ${why} (mqtt|mqtts|ws|wss://host:port[/path][?max-connections=N][&proxy-protocol=1])`);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw bad('is not a listener URL');
  }
  const protocol = url.protocol.slice(0, -1);
  if (!PROTOCOLS.has(protocol)) throw bad(`has an unknown protocol '${protocol}'`);
  // [::1] in a URL is ::1 to listen().
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (host === '') throw bad('has no host');
  if (url.username !== '' || url.password !== '' || url.hash !== '') throw bad('has parts a listener does not use');
  const listener: ListenerConfig = { protocol: protocol as ListenerConfig['protocol'], host, port: url.port === '' ? DEFAULT_PORTS[protocol] : Number(url.port) };
  const web = protocol === 'ws' || protocol === 'wss';
  if (web) listener.path = url.pathname === '' || url.pathname === '/' ? '/mqtt' : url.pathname;
  else if (url.pathname !== '' && url.pathname !== '/') throw bad('has a path, which only ws and wss listeners use');
  for (const [name, value] of url.searchParams) {
    if (name === 'proxy-protocol') {
      if (!['1', 'true', '0', 'false'].includes(value)) throw bad('has a proxy-protocol that is not true/false (or 1/0)');
      listener.proxyProtocol = value === '1' || value === 'true';
      continue;
    }
    if (name !== 'max-connections') throw bad(`has an unknown setting '${name}'`);
    const n = Number(value);
    if (value.trim() === '' || !Number.isInteger(n) || n < 1) throw bad('has a max-connections that is not an integer of 1 or more');
    listener.maxConnections = n;
  }
  return listener;
}

/**
 * Flags that give back `listeners` (the inverse of listenersFromFlags). The flags carry one set of
 * TLS settings: that of the first mqtts/wss listener.
 */
export function listenerFlags(listeners: readonly ListenerConfig[]): string[] {
  if (listeners.length === 0) return [];
  const urls = listeners.map((l) => {
    const host = l.host.includes(':') ? `[${l.host}]` : l.host;
    const path = l.protocol === 'ws' || l.protocol === 'wss' ? (l.path ?? '/mqtt') : '';
    const settings = [...(l.maxConnections !== undefined ? [`max-connections=${l.maxConnections}`] : []), ...(l.proxyProtocol === true ? ['proxy-protocol=1'] : [])];
    const query = settings.length > 0 ? `?${settings.join('&')}` : '';
    return `${l.protocol}://${host}:${l.port}${path}${query}`;
  });
  const out = [`--listeners=${urls.join(',')}`];
  const tls = listeners.find((l) => l.tls !== undefined)?.tls;
  if (tls !== undefined) {
    out.push(`--tls-cert=${tls.cert}`, `--tls-key=${tls.key}`);
    if (tls.ca !== undefined) out.push(`--tls-ca=${tls.ca}`);
    if (tls.requireCertificate === true) out.push('--tls-require-certificate');
    if (tls.useIdentityAsUsername === true) out.push('--tls-use-identity-as-username');
    if (tls.minVersion !== undefined) out.push(`--tls-min-version=${tls.minVersion}`);
  }
  return out;
}
