// PUBACK, PUBREC, PUBREL, PUBCOMP: the QoS 1/2 acknowledgement flows (spec 4.3).
import { encode, type AckPacket } from '../../protocol/index.js';
import type { Connection } from '../connection.js';

/** PUBACK ends an outgoing QoS 1 delivery and frees its packet id [v3:MQTT-4.3.2-1] [v5:MQTT-4.3.2-3]. */
export function handlePuback(conn: Connection, packet: AckPacket): void {
  conn.session?.acknowledge(packet.messageId);
}

/** PUBREC: answer PUBREL [v3:MQTT-4.3.3-1] [v5:MQTT-4.3.3-4]; a v5 error code ends the flow instead. */
export function handlePubrec(conn: Connection, packet: AckPacket): void {
  const session = conn.session;
  if (session === null) return;
  if (packet.reasonCode !== undefined && packet.reasonCode >= 0x80) {
    session.acknowledge(packet.messageId);
    return;
  }
  const known = session.received(packet.messageId);
  // After the stored record says 'pubrel': a resume must not send the PUBLISH again [v3:MQTT-4.3.3-1] [v5:MQTT-4.3.3-6].
  const pubrel = known || conn.version !== 5 ? { cmd: 'pubrel' as const, messageId: packet.messageId } : { cmd: 'pubrel' as const, messageId: packet.messageId, reasonCode: 0x92 };
  session.writeAfterStore(encode(pubrel, conn.version));
}

/** PUBREL: the incoming QoS 2 id is released; PUBCOMP always answers [MQTT-4.3.3-11]. */
export function handlePubrel(conn: Connection, packet: AckPacket): void {
  const session = conn.session;
  if (session === null) return;
  const known = session.releaseIncomingQos2(packet.messageId);
  // After the id is released in the store: a resumed session must not take the client's next use of it for a resend.
  const pubcomp = known || conn.version !== 5 ? { cmd: 'pubcomp' as const, messageId: packet.messageId } : { cmd: 'pubcomp' as const, messageId: packet.messageId, reasonCode: 0x92 };
  session.writeAfterStore(encode(pubcomp, conn.version));
}

/** PUBCOMP ends an outgoing QoS 2 delivery. */
export function handlePubcomp(conn: Connection, packet: AckPacket): void {
  conn.session?.acknowledge(packet.messageId);
}
