// The `listeners:` list of a config file: each entry a mapping (protocol, host, port, path, tls,
// proxy-protocol, max-connections), keys kebab-case like the flags. Every error is one
// ConfigError naming FILE:LINE and the key. TLS file paths are relative to the config file.
import { resolve } from 'node:path';
import { isMap, isScalar, isSeq, type Node, type Pair, type YAMLMap } from 'yaml';
import { ConfigError, type ListenerConfig, type TlsConfig } from './config.js';
import type { Place } from './config-file.js';

/** A listener as the file gives it: without a host it takes the main --host (loadConfig). */
export type FileListener = Omit<ListenerConfig, 'host'> & { host?: string | undefined };

export const LISTENER_PROTOCOLS: readonly ListenerConfig['protocol'][] = ['mqtt', 'mqtts', 'ws', 'wss'];
const TLS_VERSIONS: readonly string[] = ['TLSv1.2', 'TLSv1.3'];
const LISTENER_KEYS: readonly string[] = ['protocol', 'host', 'port', 'path', 'tls', 'proxy-protocol', 'max-connections'];
const TLS_KEYS: readonly string[] = ['cert', 'key', 'ca', 'require-certificate', 'use-identity-as-username', 'min-version'];

export function readListeners(node: Node | null, place: Place, base: string): FileListener[] {
  if (!isSeq(node)) throw new ConfigError(`${place.file}:${place.lineOf(node)}: listeners: expected a list of mappings (- protocol: mqtts ...)`);
  return node.items.map((item) => readListener(item as Node | null, place, base));
}

function readListener(node: Node | null, place: Place, base: string): FileListener {
  const fields = mapping(node, place, 'listeners', LISTENER_KEYS);
  const at = fields.at;
  const protocol = fields.text('protocol');
  if (protocol === undefined) throw new ConfigError(`${place.file}:${place.lineOf(node)}: listeners: protocol is missing (one of ${LISTENER_PROTOCOLS.join(', ')})`);
  if (!(LISTENER_PROTOCOLS as readonly string[]).includes(protocol)) throw new ConfigError(`${at('protocol')}: '${protocol}' is not one of ${LISTENER_PROTOCOLS.join(', ')}`);
  const port = fields.integer('port', 0, 65_535);
  if (port === undefined) throw new ConfigError(`${place.file}:${place.lineOf(node)}: listeners: port is missing`);
  const listener: FileListener = { protocol: protocol as ListenerConfig['protocol'], port };
  const host = fields.text('host');
  if (host !== undefined) listener.host = host;
  const path = fields.text('path');
  if (path !== undefined) {
    if (protocol !== 'ws' && protocol !== 'wss') throw new ConfigError(`${at('path')}: only ws and wss listeners have a path`);
    if (!path.startsWith('/')) throw new ConfigError(`${at('path')}: '${path}' does not start with /`);
    listener.path = path;
  }
  const proxyProtocol = fields.boolean('proxy-protocol');
  if (proxyProtocol !== undefined) listener.proxyProtocol = proxyProtocol;
  const maxConnections = fields.integer('max-connections', 1, Number.MAX_SAFE_INTEGER);
  if (maxConnections !== undefined) listener.maxConnections = maxConnections;
  const tls = fields.get('tls');
  const secure = protocol === 'mqtts' || protocol === 'wss';
  if (tls !== undefined && !secure) throw new ConfigError(`${at('tls')}: only mqtts and wss listeners take tls`);
  if (tls === undefined && secure) throw new ConfigError(`${place.file}:${place.lineOf(node)}: listeners: a ${protocol} listener needs tls: (cert and key)`);
  if (tls !== undefined) listener.tls = readTls(tls.value, place, base);
  return listener;
}

function readTls(node: Node | null, place: Place, base: string): TlsConfig {
  const fields = mapping(node, place, 'tls', TLS_KEYS);
  const file = (key: string): string | undefined => {
    const value = fields.text(key);
    return value === undefined ? undefined : resolve(base, value);
  };
  const cert = file('cert');
  const key = file('key');
  if (cert === undefined || key === undefined) throw new ConfigError(`${place.file}:${place.lineOf(node)}: listeners: tls: needs cert and key`);
  const tls: TlsConfig = { cert, key };
  const ca = file('ca');
  if (ca !== undefined) tls.ca = ca;
  const require = fields.boolean('require-certificate');
  if (require !== undefined) tls.requireCertificate = require;
  const identity = fields.boolean('use-identity-as-username');
  if (identity !== undefined) tls.useIdentityAsUsername = identity;
  const minVersion = fields.text('min-version');
  if (minVersion !== undefined) {
    if (!TLS_VERSIONS.includes(minVersion)) throw new ConfigError(`${fields.at('min-version')}: '${minVersion}' is not one of ${TLS_VERSIONS.join(', ')}`);
    tls.minVersion = minVersion as TlsConfig['minVersion'];
  }
  return tls;
}

/** A YAML mapping's pairs by key, with typed readers that throw FILE:LINE errors; unknown keys refused. */
function mapping(node: Node | null, place: Place, what: string, known: readonly string[]) {
  if (!isMap(node)) throw new ConfigError(`${place.file}:${place.lineOf(node)}: ${what}: expected a mapping (key: value lines)`);
  const pairs = new Map<string, Pair<Node, Node | null>>();
  for (const pair of (node as YAMLMap).items as Pair<Node, Node | null>[]) {
    const key = isScalar(pair.key) ? String(pair.key.value) : '';
    if (!known.includes(key)) throw new ConfigError(`${place.file}:${place.lineOf(pair.key)}: ${what}: unknown key '${key}' (keys: ${known.join(', ')})`);
    pairs.set(key, pair);
  }
  const prefix = what === 'tls' ? 'listeners: tls' : what;
  const at = (key: string): string => `${place.file}:${place.lineOf(pairs.get(key)?.value ?? pairs.get(key)?.key)}: ${prefix}: ${key}`;
  const scalar = (key: string): unknown => {
    const pair = pairs.get(key);
    if (pair === undefined) return undefined;
    if (!isScalar(pair.value) || pair.value.value === null) throw new ConfigError(`${at(key)}: needs a single value`);
    return pair.value.value;
  };
  return {
    get: (key: string) => pairs.get(key),
    at,
    text(key: string): string | undefined {
      const value = scalar(key);
      if (value === undefined) return undefined;
      if (typeof value !== 'string' || value === '') throw new ConfigError(`${at(key)}: '${String(value)}' is not a text value`);
      return value;
    },
    integer(key: string, min: number, max: number): number | undefined {
      const value = scalar(key);
      if (value === undefined) return undefined;
      if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
        throw new ConfigError(`${at(key)}: '${String(value)}' is not an integer in ${min}..${max}`);
      }
      return value;
    },
    boolean(key: string): boolean | undefined {
      const value = scalar(key);
      if (value === undefined) return undefined;
      if (typeof value !== 'boolean') throw new ConfigError(`${at(key)}: '${String(value)}' is not a boolean (true/false)`);
      return value;
    },
  };
}
