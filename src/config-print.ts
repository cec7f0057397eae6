// `starling --print-config`: the merged config as a config file would say it (keys as flags,
// seconds as seconds), secrets masked: options marked secret (the passwords), and the password in
// a Redis URL (--redis, and each entry of --redis-cluster and --redis-sentinel). File paths are not secrets (a TLS key's path is shown).
import { stringify } from 'yaml';
import { OPTIONS, type BrokerConfig, type ListenerConfig } from './config.js';
import { redactHosts, redactUrl } from './config-redis.js';

export const MASK = '***';

export function printConfig(config: BrokerConfig): string {
  const out: Record<string, unknown> = {};
  for (const option of OPTIONS) {
    const value = (config as unknown as Record<string, unknown>)[option.key];
    if (value === undefined) continue;
    if (option.secret === true) out[option.flag] = MASK;
    else if (option.kind === 'redis-url') out[option.flag] = redactUrl(String(value));
    else if (option.kind === 'redis-hosts') out[option.flag] = redactHosts(String(value));
    else if (option.kind === 'seconds-ms') out[option.flag] = (value as number) / 1000;
    else out[option.flag] = value;
  }
  out.listeners = config.listeners.map(listenerForFile);
  return stringify(out);
}

/** A listener with the file's kebab-case keys, undefined fields left out. */
function listenerForFile(listener: ListenerConfig): Record<string, unknown> {
  const tls = listener.tls;
  return prune({
    protocol: listener.protocol,
    host: listener.host,
    port: listener.port,
    path: listener.path,
    'proxy-protocol': listener.proxyProtocol,
    'max-connections': listener.maxConnections,
    tls:
      tls === undefined
        ? undefined
        : prune({ cert: tls.cert, key: tls.key, ca: tls.ca, 'require-certificate': tls.requireCertificate, 'use-identity-as-username': tls.useIdentityAsUsername, 'min-version': tls.minVersion }),
  });
}

function prune(record: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(record).filter(([, v]) => v !== undefined));
}
