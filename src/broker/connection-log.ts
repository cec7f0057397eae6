// The lines an operator reads per connection (info): one when a client is connected (after
// CONNACK), one when a CONNECT is refused, one when a connected client goes. Per connection, never
// per message. Failed logins are not repeated here: auth/failed-login-log.ts says them, once per
// address per interval, so a password-guessing run stays a line a minute.
import type { Logger } from '../log.js';
import type { Connection } from './connection.js';

/** After CONNACK. `clean`: Clean Start (v5) / Clean Session (v3). Never a password. */
export function logConnected(log: Logger, conn: Connection, clean: boolean, sessionPresent: boolean): void {
  log.info(
    {
      clientId: conn.clientId,
      address: addressOf(conn),
      listener: conn.listener,
      protocolVersion: conn.version,
      keepalive: conn.keepaliveMs / 1000,
      cleanStart: clean,
      sessionPresent,
      username: conn.client?.username,
    },
    'client connected',
  );
}

/** A CONNECT answered with a refusal (or a socket that sent something else first). */
export function logRefused(conn: Connection, reasonCode: number, reason: string, cause?: unknown): void {
  const err = cause instanceof Error ? cause.message : undefined;
  conn.host.log.info({ clientId: conn.clientId || undefined, address: addressOf(conn), listener: conn.listener, reasonCode, reason, err }, 'connect refused');
}

/**
 * The connection is closed: a connected client's line (info; durationMs counts from the socket's
 * accept), or, at debug, one that never got that far (a health check's probe, a refused CONNECT).
 */
export function logClosed(log: Logger, conn: Connection, now = Date.now()): void {
  if (conn.everConnected) {
    log.info({ clientId: conn.clientId, address: addressOf(conn), listener: conn.listener, reason: conn.closeReason, durationMs: now - conn.openedAt }, 'client disconnected');
  } else if (log.isLevelEnabled('debug')) {
    log.debug({ clientId: conn.clientId || undefined, address: addressOf(conn), listener: conn.listener, reason: conn.closeReason }, 'connection closed before CONNACK');
  }
}

/**
 * The client's address as the hooks were told it at CONNECT (clientInfo), which outlives the socket;
 * before that, the socket's.
 */
function addressOf(conn: Connection): string | undefined {
  return conn.client?.address ?? conn.socket.remoteAddress;
}
