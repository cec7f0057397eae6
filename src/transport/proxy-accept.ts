// A listener's side of the PROXY protocol: each accepted socket's header is read before the socket
// is handed on, and a socket without a valid one is closed alone, with one log line.
import type { Socket } from 'node:net';
import type { Logger } from '../log.js';
import { readProxyHeader, type ProxyHeaderError } from './proxy-protocol.js';

/**
 * Reads `socket`'s PROXY header (within timeoutMs), then calls next(socket), which from then on
 * reports the client's address; a socket whose header is missing, malformed or late is destroyed
 * and next is never called. For a listener's connection handler:
 *   server.on('connection', (s) => acceptWithProxyHeader(s, timeoutMs, log, (s) => stack.accept(s)))
 */
export function acceptWithProxyHeader(socket: Socket, timeoutMs: number, log: Logger, next: (socket: Socket) => void): void {
  readProxyHeader(socket, timeoutMs).then(
    () => next(socket),
    (err: ProxyHeaderError) => {
      // A load balancer's TCP health check opens and closes without a byte: not worth a warning.
      const quiet = err.message.startsWith('closed before');
      log[quiet ? 'debug' : 'warn']({ remote: err.peer, reason: err.message }, 'PROXY protocol header refused: connection closed');
    },
  );
}
