// The one periodic sweep over every connection (no timer per connection, to keep idle ones small):
// closes sockets that never sent CONNECT (or never finished its enhanced authentication) in time,
// and clients silent past their keep-alive.
import { ReasonCode } from '../protocol/index.js';
import type { Connection } from './connection.js';

export function sweepConnections(connections: Iterable<Connection>, connectTimeoutMs: number, now: number): void {
  const connectDeadline = now - connectTimeoutMs;
  for (const conn of connections) {
    if (conn.state === 'new') {
      if (conn.openedAt < connectDeadline) conn.close('no CONNECT in time', { will: false });
    } else if (conn.state === 'connecting' && conn.auth?.inProgress === true) {
      // CONNECT's enhanced authentication must end within the same time (the client may have left it).
      if (conn.openedAt < connectDeadline) conn.close('enhanced authentication not completed in time', { will: false });
    } else if (conn.state === 'connected' && conn.auth?.inProgress === true && conn.auth.startedAt < connectDeadline) {
      // A re-authentication gets as long as CONNECT's did; a client that started one and went quiet
      // is not left half-authenticated for ever [MQTT-4.12.1-2].
      conn.close('re-authentication not completed in time', { will: true, disconnectCode: ReasonCode.NotAuthorized });
    } else if (conn.state === 'connected' && conn.keepaliveMs > 0 && !conn.readPaused) {
      // (A connection the bus holds back is not read: its silence is ours, not the client's.)
      // One and a half times the keep-alive without a packet closes the connection [v3:MQTT-3.1.2-24] [v5:MQTT-3.1.2-22].
      if (now - conn.lastActivity > conn.keepaliveMs * 1.5) conn.close('keep-alive timeout', { will: true, disconnectCode: ReasonCode.KeepAliveTimeout });
    }
  }
}
