// PUBACK, PUBREC, PUBREL, PUBCOMP: the QoS 1/2 acknowledgement flows (spec 4.3).
import type { AckPacket } from '../../protocol/index.js';
import type { Connection } from '../connection.js';

/** PUBACK ends an outgoing QoS 1 delivery and frees its packet id [MQTT-4.3.2-?]. */
export function handlePuback(conn: Connection, packet: AckPacket): void {
  conn.session?.acknowledge(packet.messageId);
}

/** PUBREC: answer PUBREL [MQTT-4.3.3-3]; a v5 error code ends the flow instead. */
export function handlePubrec(conn: Connection, packet: AckPacket): void {
  const session = conn.session;
  if (session === null) return;
  if (packet.reasonCode !== undefined && packet.reasonCode >= 0x80) {
    session.acknowledge(packet.messageId);
    return;
  }
  const known = session.received(packet.messageId);
  if (known || conn.version !== 5) conn.send({ cmd: 'pubrel', messageId: packet.messageId });
  else conn.send({ cmd: 'pubrel', messageId: packet.messageId, reasonCode: 0x92 });
}

/** PUBREL: the incoming QoS 2 id is released; PUBCOMP always answers [MQTT-4.3.3-11]. */
export function handlePubrel(conn: Connection, packet: AckPacket): void {
  const session = conn.session;
  if (session === null) return;
  const known = session.releaseIncomingQos2(packet.messageId);
  if (known || conn.version !== 5) conn.send({ cmd: 'pubcomp', messageId: packet.messageId });
  else conn.send({ cmd: 'pubcomp', messageId: packet.messageId, reasonCode: 0x92 });
}

/** PUBCOMP ends an outgoing QoS 2 delivery. */
export function handlePubcomp(conn: Connection, packet: AckPacket): void {
  conn.session?.acknowledge(packet.messageId);
}
