// A listener's side of the PROXY protocol: each accepted socket's header is read before the socket
// is handed on, and a socket without a valid one is closed alone, with one log line.
import type { Socket } from 'node:net';
import type { Logger } from '../log.js';
import { readProxyHeader, type ProxyHeaderError } from './proxy-protocol.js';

const REFUSED = 'PROXY protocol header refused: connection closed';

/**
 * Reads `socket`'s PROXY header (within timeoutMs), then calls next(socket), which from then on
 * reports the client's address; a socket whose header is missing, malformed or late is destroyed
 * and next is never called. For a listener's connection handler:
 *   server.on('connection', (s) => acceptWithProxyHeader(s, timeoutMs, log, (s) => stack.accept(s)))
 * (ProxyHeaderGate does the same and can close the sockets still waiting, when the listener closes.)
 */
export function acceptWithProxyHeader(socket: Socket, timeoutMs: number, log: Logger, next: (socket: Socket) => void): void {
  readProxyHeader(socket, timeoutMs).then(
    () => next(socket),
    (err: ProxyHeaderError) => {
      // A load balancer's TCP health check opens and closes without a byte: not worth a warning.
      const quiet = err.message.startsWith('closed before');
      log[quiet ? 'debug' : 'warn']({ remote: err.peer, reason: err.message }, REFUSED);
    },
  );
}

/**
 * acceptWithProxyHeader for one listener, keeping the sockets whose header has not come yet: they
 * belong to nobody else, so closing the listener must close them (or its close waits their timeout).
 */
export class ProxyHeaderGate {
  private readonly waiting = new Set<Socket>();
  private closed = false;

  constructor(
    private readonly timeoutMs: number,
    private readonly log: Logger,
  ) {}

  /** Sockets still waiting for their header. */
  get pending(): number {
    return this.waiting.size;
  }

  accept(socket: Socket, next: (socket: Socket) => void): void {
    if (this.closed) {
      socket.destroy();
      return;
    }
    this.waiting.add(socket);
    // Refused or destroyed while waiting: no longer ours to close.
    const forget = (): void => void this.waiting.delete(socket);
    socket.once('close', forget);
    acceptWithProxyHeader(socket, this.timeoutMs, this.log, (s) => {
      this.waiting.delete(s);
      s.off('close', forget);
      next(s);
    });
  }

  /** Destroys the sockets still waiting, and every socket accepted from now on. */
  close(): void {
    this.closed = true;
    for (const socket of this.waiting) socket.destroy();
    this.waiting.clear();
  }
}
