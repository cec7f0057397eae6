// DISCONNECT: the will is discarded [MQTT-3.1.2-10] unless v5 reason 0x04 asks for it.
import { ProtocolError, type DisconnectPacket } from '../../protocol/index.js';
import type { Broker } from '../broker.js';
import type { Connection } from '../connection.js';

export function handleDisconnect(broker: Broker, conn: Connection, packet: DisconnectPacket): void {
  const session = conn.session;
  if (session === null) return;
  const expiry = packet.properties?.sessionExpiryInterval;
  if (expiry !== undefined) {
    // A session that was to end with the connection may not be made persistent now (§3.14.2.2.2).
    if (session.expiryInterval === 0 && expiry > 0) throw new ProtocolError('session expiry set on DISCONNECT after 0 on CONNECT', '§3.14.2.2.2', 0x82);
    broker.setSessionExpiry(session, expiry);
  }
  conn.close('client disconnected', { will: packet.reasonCode === 0x04 });
}
