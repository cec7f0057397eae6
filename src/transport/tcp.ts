// The TCP listener. In a node:cluster worker, listen() shares the port through the primary, so
// the same code serves standalone and clustered brokers.
import { createServer, type Server, type Socket } from 'node:net';
import type { Logger } from '../log.js';

export interface TcpOptions {
  host: string;
  port: number;
  /** Sockets beyond this many open connections are closed at once. */
  maxConnections: number;
}

export interface TcpListener {
  /** The bound port (useful with port 0). */
  readonly port: number;
  /** Stops accepting; resolves when every socket has closed. */
  close(): Promise<void>;
}

/** Seconds between "connection limit reached" log lines, however many sockets are refused. */
const DROP_LOG_INTERVAL_MS = 10_000;

export async function listenTcp(options: TcpOptions, onSocket: (socket: Socket) => void, log: Logger): Promise<TcpListener> {
  const server: Server = createServer(onSocket);
  server.maxConnections = options.maxConnections;
  let dropped = 0;
  let lastLog = 0;
  server.on('drop', () => {
    dropped++;
    const now = Date.now();
    if (now - lastLog >= DROP_LOG_INTERVAL_MS) {
      log.warn({ maxConnections: options.maxConnections, refused: dropped }, 'connection limit reached: refusing new connections');
      lastLog = now;
      dropped = 0;
    }
  });
  server.on('error', (err) => log.error({ err }, 'listener error'));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : options.port;
  return {
    port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
