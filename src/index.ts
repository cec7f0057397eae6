// The library API: start a broker in this process (tests use it with port 0).
import type { Socket } from 'node:net';
import { checkConfig, defaultConfig, type BrokerConfig } from './config.js';
import { createLogger, type Logger } from './log.js';
import { Broker } from './broker/broker.js';
import { SysPublisher } from './broker/sys-topics.js';
import type { StatsSource } from './broker/stats.js';
import { createMemoryBackend } from './store/memory/index.js';
import type { Backend } from './store/types.js';
import { listenTcp, type TcpListener } from './transport/tcp.js';
import { ProxyHeaderGate } from './transport/proxy-accept.js';
import { openListeners, type ListenerInfo, type Listeners } from './transport/listeners.js';
import { Hooks } from './broker/hooks/hooks.js';
import { loadPlugins, makeHooks } from './broker/hooks/load.js';
import type { StarlingPlugin } from './broker/hooks/types.js';
import type { Credentials } from './broker/auth/credentials.js';
import type { Acl } from './broker/acl/acl.js';
import type { Registry } from 'prom-client';
import { parseAddress } from './config.js';
import { createBrokerMetrics, type BusGauges } from './ops/metrics.js';
import { listenManagement, type ManagementServer } from './ops/http-server.js';

export { Broker } from './broker/broker.js';
export type { BrokerConfig } from './config.js';
export type { Backend } from './store/types.js';
export type { BrokerStats, StatsSource } from './broker/stats.js';
export type { TcpListener } from './transport/tcp.js';
export type { ListenerInfo } from './transport/listeners.js';
export { sumStats } from './broker/stats.js';
export { PluginError } from './broker/hooks/load.js';
export type {
  AuthenticateRequest,
  BrokerHooks,
  ClientInfo,
  Decision,
  DisconnectInfo,
  MaybePromise,
  PluginContext,
  QoS,
  Refusal,
  StarlingPlugin,
  SubscribeDecision,
  SubscriptionRequest,
} from './broker/hooks/types.js';
export type { Message } from './store/types.js';

export interface RunningBroker {
  port: number;
  broker: Broker;
  /** The TCP listener: its open connections, and pause/resume of accepting (a cluster worker's balance). */
  listener: TcpListener;
  /** --http: the port the management listener is bound to (undefined: none here, or a cluster worker's primary serves it). */
  httpPort: number | undefined;
  /** --http: this process' Prometheus series (a cluster worker sends them to its primary); null without --http. */
  metrics: Registry | null;
  /** The other listeners (config.listeners, in order), with their bound ports. */
  listeners: readonly ListenerInfo[];
  /** SIGHUP: the TLS listeners' certificate, key and CA read again (open connections stay). */
  reloadListeners(): void;
  close(): Promise<void>;
}

export interface StartOptions {
  logger?: Logger;
  /** Where $SYS numbers come from (a cluster passes a cluster-wide sum); default: this broker. */
  stats?: StatsSource;
  /** Plugin hooks (asked after those of config.plugins, in order): see docs/plugins.md. */
  hooks?: StarlingPlugin | readonly StarlingPlugin[];
  /** Users and ACL rules read by the caller (--auth redis: cluster/redis-auth.ts); default: from config. */
  credentials?: Credentials;
  acl?: Acl;
  /** A cluster node's bus: Redis state and bus lag in /metrics, Redis in /readyz. */
  bus?: BusGauges;
  /** Serve --http in this process (default true; a cluster worker's primary serves it instead). */
  serveHttp?: boolean;
}

/**
 * Starts a broker listening on config.host:config.port. Without a backend it uses the in-memory
 * one and closes it on close(); a given backend is left open for its owner.
 */
export async function startBroker(overrides: Partial<BrokerConfig> = {}, backend?: Backend, options: StartOptions = {}): Promise<RunningBroker> {
  const config: BrokerConfig = { ...defaultConfig, ...overrides };
  // Whether a plugin authenticates is known once the plugins are loaded: checked again then.
  checkConfig(config, { authenticate: config.plugins.length > 0 || options.hooks !== undefined });
  const log = options.logger ?? createLogger(config.logLevel, { format: config.logFormat });
  const hooks = await pluginHooks(config, options, log);
  checkConfig(config, { authenticate: hooks?.has.authenticate === true });
  const ownBackend = backend === undefined;
  const store = backend ?? createMemoryBackend();
  const broker = new Broker(config, store, log, { hooks, credentials: options.credentials, acl: options.acl });
  const sys = new SysPublisher(options.stats ?? broker, (m) => void broker.publish(m).catch(() => undefined), config.sysInterval);
  let listener: TcpListener | undefined;
  let listeners: Listeners;
  const proxyGate = config.proxyProtocol ? new ProxyHeaderGate(config.connectTimeoutMs, log) : null;
  try {
    const accept = (s: Socket): void => broker.accept(s);
    // --proxy-protocol: the broker gets the socket once its header named the client (given the CONNECT timeout to come).
    const onSocket = proxyGate !== null ? (s: Socket) => proxyGate.accept(s, accept) : accept;
    listener = await listenTcp({ host: config.host, port: config.port, maxConnections: config.maxConnections }, onSocket, log);
    listeners = await openListeners(config.listeners, config, (s) => broker.accept(s), log);
  } catch (err) {
    await listener?.close();
    await broker.close();
    if (ownBackend) await store.close();
    throw err;
  }
  const metrics = config.http === undefined ? null : createBrokerMetrics(broker, options.bus);
  let http: ManagementServer | undefined;
  if (config.http !== undefined && options.serveHttp !== false) {
    const { host, port } = parseAddress(config.http, '--http');
    const registry = metrics!;
    try {
      http = await listenManagement(host, port, {
        metrics: async () => ({ contentType: registry.contentType, body: await registry.metrics() }),
        // Listening already (the MQTT listener is up before this one); closed first on close().
        notReady: async () => (options.bus !== undefined && !options.bus.connected ? 'Redis unreachable' : null),
      });
    } catch (err) {
      await listener.close();
      await broker.close();
      if (ownBackend) await store.close();
      throw err;
    }
    log.info({ host, port: http.port }, `http: /metrics, /healthz, /readyz on ${host}:${http.port}`);
  }
  if (hooks !== undefined) log.info({ plugins: config.plugins.length, hooks: Object.keys(hooks.has).filter((k) => hooks.has[k as keyof typeof hooks.has]) }, 'plugins loaded');
  sys.start();
  let closing: Promise<void> | null = null;
  return {
    port: listener.port,
    broker,
    listener,
    httpPort: http?.port,
    metrics,
    listeners: listeners.list,
    reloadListeners: () => listeners.reloadTls(),
    close: () =>
      (closing ??= (async () => {
        sys.stop();
        await http?.close();
        const stopped = Promise.all([listener.close(), listeners.close()]);
        proxyGate?.close();
        await broker.close();
        await stopped;
        if (ownBackend) await store.close();
      })()),
  };
}

/** The hooks of config.plugins (module paths) and of options.hooks; undefined when there are none. */
async function pluginHooks(config: BrokerConfig, options: StartOptions, log: Logger): Promise<Hooks | undefined> {
  const given = options.hooks === undefined ? [] : Array.isArray(options.hooks) ? options.hooks : [options.hooks as StarlingPlugin];
  if (config.plugins.length === 0 && given.length === 0) return undefined;
  const plugins = await loadPlugins(config.plugins, config, log);
  for (const plugin of given) plugins.push({ name: 'hooks', hooks: await makeHooks('hooks', plugin, config, log) });
  return new Hooks(plugins, config.pluginTimeoutMs, log);
}
