// The listeners beside the main one (config.listeners): mqtt, mqtts, ws and wss, each on its own
// host:port. Each is one net.Server; every socket it accepts goes through handOver() to the
// protocol stack of its kind: straight to MQTT, or into a TLS server, an HTTP server or an HTTPS
// server that never listen themselves (emit('connection')) and give MQTT the TLS socket or the
// WebSocket stream. In a node:cluster worker listen() shares the port through the primary, so
// every worker opens the same listeners; limits (maxConnections) are per worker.
//
// Unlike the main listener (tcp.ts) these do not pause for the cluster's accept balance.
import { ProxyHeaderGate } from './proxy-accept.js';
import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import type { ListenerConfig, TlsConfig } from '../config.js';
import type { Logger } from '../log.js';
import type { ClientSocket } from '../broker/connection.js';
import { markIdentityAsUsername } from '../broker/auth/certificate-identity.js';
import { readSecureContext, tlsServerOptions } from './tls-context.js';
import { webSocketServer } from './websocket.js';

export interface ListenerInfo {
  readonly protocol: ListenerConfig['protocol'];
  readonly host: string;
  /** The bound port (the configured one, or the one picked for port 0). */
  readonly port: number;
  /** ws/wss: the upgrade path. */
  readonly path: string | undefined;
  /** Open sockets this listener accepted (in this process). */
  readonly connections: number;
}

export interface Listeners {
  readonly list: readonly ListenerInfo[];
  /** Reads every mqtts/wss listener's key, certificate and CA again; open connections keep theirs. A bad file keeps the old: one error line. */
  reloadTls(): void;
  /** Stops accepting; resolves when the sockets accepted have closed (those that never became a client are destroyed after a grace). */
  close(): Promise<void>;
}

export interface ListenerDefaults {
  /** Open connections per listener without a maxConnections of its own. */
  maxConnections: number;
  /** Largest WebSocket message accepted. */
  maxPacketSize: number;
  /** A TLS handshake or WebSocket upgrade gets as long as a client has to send CONNECT. */
  connectTimeoutMs: number;
}

/** Time sockets get to close after close() before the rest (TLS handshakes, idle HTTP) are destroyed. */
const CLOSE_GRACE_MS = 1500;
/** Milliseconds between "connection limit reached" lines of one listener. */
const DROP_LOG_INTERVAL_MS = 10_000;

interface OpenListener extends ListenerInfo {
  readonly config: ListenerConfig;
  readonly secure: TlsServer | undefined;
  close(): Promise<void>;
}

/** Opens every listener, or none: a failed listen (EADDRINUSE...) closes those already open and rejects. */
export async function openListeners(configs: readonly ListenerConfig[], defaults: ListenerDefaults, onClient: (socket: ClientSocket) => void, log: Logger): Promise<Listeners> {
  const open: OpenListener[] = [];
  try {
    for (const config of configs) open.push(await openListener(config, defaults, onClient, log));
  } catch (err) {
    await Promise.all(open.map((l) => l.close()));
    throw err;
  }
  for (const l of open) log.info({ protocol: l.protocol, host: l.host, port: l.port, path: l.path }, `listener open: ${urlOf(l)}`);
  return {
    list: open,
    reloadTls: () => reloadTls(open, log),
    close: async () => void (await Promise.all(open.map((l) => l.close()))),
  };
}

function urlOf(l: ListenerInfo): string {
  return `${l.protocol}://${l.host.includes(':') ? `[${l.host}]` : l.host}:${l.port}${l.path ?? ''}`;
}

/** The protocol stack of a listener: takes each raw socket; `secure` is the TLS server whose context a reload replaces. */
function protocolStack(config: ListenerConfig, defaults: ListenerDefaults, onClient: (socket: ClientSocket) => void, log: Logger): { take(raw: Socket): void; secure: TlsServer | undefined } {
  const tls = config.tls;
  const identity = tls?.useIdentityAsUsername === true;
  const tlsOptions = (t: TlsConfig | undefined) => {
    if (t === undefined) throw new Error(`${config.protocol} listener without TLS settings`);
    return { ...tlsServerOptions(t), handshakeTimeout: defaults.connectTimeoutMs };
  };
  const quietTlsErrors = (server: TlsServer): void => {
    // A failed handshake (no or a bad client certificate, a port scan) is the client's problem.
    server.on('tlsClientError', (err, socket) => log.debug({ err: err.message, remote: socket.remoteAddress }, 'TLS handshake failed'));
  };
  switch (config.protocol) {
    case 'mqtt':
      return { take: onClient, secure: undefined };
    case 'mqtts': {
      // Half-open allowed, as on the main listener: a CONNACK can still reach a client that sent FIN.
      const server = createTlsServer({ ...tlsOptions(tls), allowHalfOpen: true }, (socket) => {
        if (identity) markIdentityAsUsername(socket);
        onClient(socket);
      });
      quietTlsErrors(server);
      return { take: (raw) => server.emit('connection', raw), secure: server };
    }
    case 'ws':
    case 'wss': {
      const secure = config.protocol === 'wss' ? tlsOptions(tls) : undefined;
      const server = webSocketServer({ path: config.path ?? '/mqtt', tls: secure, maxPayload: defaults.maxPacketSize, headersTimeoutMs: defaults.connectTimeoutMs }, (stream) => {
        if (identity) markIdentityAsUsername(stream);
        onClient(stream);
      });
      if (secure !== undefined) quietTlsErrors(server as TlsServer);
      return { take: (raw) => server.emit('connection', raw), secure: secure !== undefined ? (server as TlsServer) : undefined };
    }
  }
}

async function openListener(config: ListenerConfig, defaults: ListenerDefaults, onClient: (socket: ClientSocket) => void, log: Logger): Promise<OpenListener> {
  const stack = protocolStack(config, defaults, onClient, log);
  const limit = config.maxConnections ?? defaults.maxConnections;
  const sockets = new Set<Socket>();
  let dropped = 0;
  let lastDropLog = 0;
  const onClose = function (this: Socket): void {
    sockets.delete(this);
    if (sockets.size === 0) drained?.();
  };
  let drained: (() => void) | undefined;

  // The one place between a raw accepted socket and its protocol stack: with proxyProtocol the
  // header is read off `raw` first (the TLS or HTTP server then sees the client's address).
  const gate = config.proxyProtocol === true ? new ProxyHeaderGate(defaults.connectTimeoutMs, log) : null;
  const handOver = gate === null ? (raw: Socket): void => stack.take(raw) : (raw: Socket): void => gate.accept(raw, (s) => stack.take(s));

  const server: Server = createServer({ allowHalfOpen: true }, (raw) => {
    if (sockets.size >= limit) {
      raw.destroy();
      dropped++;
      const now = Date.now();
      if (now - lastDropLog >= DROP_LOG_INTERVAL_MS) {
        log.warn({ listener: config.protocol, port: config.port, maxConnections: limit, refused: dropped }, 'listener connection limit reached: refusing new connections');
        lastDropLog = now;
        dropped = 0;
      }
      return;
    }
    sockets.add(raw);
    raw.on('close', onClose);
    handOver(raw);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => {
      server.off('error', reject);
      server.on('error', (err) => log.error({ err, listener: config.protocol, port: config.port }, 'listener error'));
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.port;
  let closing: Promise<void> | undefined;
  return {
    config,
    protocol: config.protocol,
    host: config.host,
    port,
    path: config.protocol === 'ws' || config.protocol === 'wss' ? (config.path ?? '/mqtt') : undefined,
    get connections() {
      return sockets.size;
    },
    secure: stack.secure,
    close: () =>
      (closing ??= (async () => {
        // Closes the listening handle now; the callback form would wait for the sockets.
        server.close();
        gate?.close();
        if (sockets.size === 0) return;
        const timer = setTimeout(() => {
          for (const socket of sockets) socket.destroy();
        }, CLOSE_GRACE_MS);
        await new Promise<void>((resolve) => (drained = resolve));
        clearTimeout(timer);
      })()),
  };
}

function reloadTls(listeners: readonly OpenListener[], log: Logger): void {
  // Listeners sharing settings (the --tls-* flags give all the same) read the files once, and a bad file is said once.
  const read = new Map<TlsConfig, ReturnType<typeof readSecureContext> | null>();
  let failed = false;
  for (const l of listeners) {
    const tls = l.config.tls;
    if (l.secure === undefined || tls === undefined) continue;
    let context = read.get(tls);
    if (context === undefined) {
      try {
        context = readSecureContext(tls);
      } catch (err) {
        log.error({ err: (err as Error).message }, 'TLS reload failed: keeping the certificate in use');
        context = null;
        failed = true;
      }
      read.set(tls, context);
    }
    if (context === null) continue;
    try {
      l.secure.setSecureContext(context);
    } catch (err) {
      // A key that does not match the certificate, a PEM that does not parse.
      log.error({ err: (err as Error).message, listener: urlOf(l) }, 'TLS reload failed: keeping the certificate in use');
      read.set(tls, null);
      failed = true;
    }
  }
  if (!failed && listeners.some((l) => l.secure !== undefined)) log.info('TLS certificates re-read');
}
