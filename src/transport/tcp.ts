// The TCP listener. In a node:cluster worker, listen() shares the port through the primary, so
// the same code serves standalone and clustered brokers.
//
// A cluster worker can pause accepting (the primary asks when it holds more than its share of
// connections, see cluster/accept-balance.ts): pause closes this process' listening handle and
// keeps its sockets; the shared port stays open in the other workers. Resume listens again on
// the configured port, which node:cluster maps to the same shared socket (port 0 included, as
// long as another worker still holds it). The open-socket count and the connection limit are
// kept here rather than by net.Server, because pausing and resuming spans several servers.
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
  /** Open sockets this listener accepted. */
  readonly connections: number;
  /** False between pause() and resume(), and after close(). */
  readonly accepting: boolean;
  /** Stops accepting new connections and keeps the open ones; true if it was accepting. Standalone, this releases the port. */
  pause(): Promise<boolean>;
  /** Accepts again after pause(); true if it was paused. */
  resume(): Promise<boolean>;
  /** Stops accepting; resolves when every socket has closed. */
  close(): Promise<void>;
}

/** Seconds between "connection limit reached" log lines, however many sockets are refused. */
const DROP_LOG_INTERVAL_MS = 10_000;

function portOf(server: Server, fallback: number): number {
  const address = server.address();
  return typeof address === 'object' && address !== null ? address.port : fallback;
}

function listen(options: TcpOptions, onConnection: (socket: Socket) => void, log: Logger): Promise<Server> {
  // Half-open allowed: a client that sends CONNECT and more, then half-closes (FIN) without waiting,
  // still has those packets handled and gets its CONNACK; the Connection closes its side after.
  const server = createServer({ allowHalfOpen: true }, onConnection);
  // A failed listen (EADDRINUSE, EACCES) is the caller's to report: it rejects, and is not logged here too.
  return new Promise<Server>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      server.on('error', (err) => log.error({ err }, 'listener error'));
      resolve(server);
    });
  });
}

export async function listenTcp(options: TcpOptions, onSocket: (socket: Socket) => void, log: Logger): Promise<TcpListener> {
  let open = 0;
  let closed = false;
  let drained: (() => void) | null = null;
  let dropped = 0;
  let lastDropLog = 0;
  // One shared close listener, not a closure per socket (once() would wrap it in one).
  const onClose = (): void => {
    if (--open === 0 && drained !== null) drained();
  };
  const onConnection = (socket: Socket): void => {
    if (open >= options.maxConnections) {
      socket.destroy();
      dropped++;
      const now = Date.now();
      if (now - lastDropLog >= DROP_LOG_INTERVAL_MS) {
        log.warn({ maxConnections: options.maxConnections, refused: dropped }, 'connection limit reached: refusing new connections');
        lastDropLog = now;
        dropped = 0;
      }
      return;
    }
    open++;
    socket.on('close', onClose); // 'close' comes once
    onSocket(socket);
  };

  let server: Server | null = await listen(options, onConnection, log);
  const port = portOf(server, options.port);
  // pause/resume/close run one at a time, in the order asked.
  let queue: Promise<unknown> = Promise.resolve();
  const inTurn = <T>(step: () => Promise<T> | T): Promise<T> => {
    const next = queue.then(step, step);
    queue = next;
    return next;
  };
  const stopServer = (): boolean => {
    if (server === null) return false;
    // Closes the listening handle now; the callback form would wait for this server's sockets.
    server.close();
    server = null;
    return true;
  };

  return {
    port,
    get connections() {
      return open;
    },
    get accepting() {
      return server !== null;
    },
    pause: () => inTurn(stopServer),
    resume: () =>
      inTurn(async () => {
        if (server !== null || closed) return false;
        server = await listen(options, onConnection, log);
        const now = portOf(server, port);
        // Port 0 maps to the shared socket only while another worker holds it; if none did, the
        // cluster got a new port, and clients of the old one must be told.
        if (now !== port) log.error({ port, now }, 'listening again, but on a different port: no other worker held the shared socket');
        return true;
      }),
    close: () =>
      inTurn(async () => {
        closed = true;
        stopServer();
        if (open > 0) await new Promise<void>((resolve) => (drained = resolve));
      }),
  };
}
