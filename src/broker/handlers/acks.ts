// PUBACK, PUBREC, PUBREL, PUBCOMP: the QoS 1/2 acknowledgement flows (spec 4.3).
//
// An acknowledgement of the wrong type for an id in flight (PUBACK for a QoS 2 message, PUBREC or
// PUBCOMP for a QoS 1 message, PUBCOMP before PUBREC) is a Protocol Error: it breaks the flows of
// §4.3.2/§4.3.3, and 5.0 §4.13 names data inconsistent with the state of the Server a Protocol
// Error. Only a clear mismatch: a PUBREC again after our PUBREL is a duplicate, answered with
// PUBREL again; an ack for an id not in flight is not a mismatch (v5: 0x92 where the flow answers).
import { encode, ProtocolError, ReasonCode, type AckPacket } from '../../protocol/index.js';
import type { Connection } from '../connection.js';
import type { Session } from '../session.js';

/** PUBACK ends an outgoing QoS 1 delivery and frees its packet id [v3:MQTT-4.3.2-1] [v5:MQTT-4.3.2-3]. */
export function handlePuback(conn: Connection, packet: AckPacket): void {
  const session = conn.session;
  if (session === null) return;
  checkAckType(session, packet);
  session.acknowledge(packet.messageId);
}

/** PUBREC: answer PUBREL [v3:MQTT-4.3.3-1] [v5:MQTT-4.3.3-4]; a v5 error code ends the flow instead. */
export function handlePubrec(conn: Connection, packet: AckPacket): void {
  const session = conn.session;
  if (session === null) return;
  checkAckType(session, packet);
  if (packet.reasonCode !== undefined && packet.reasonCode >= 0x80) {
    session.acknowledge(packet.messageId);
    return;
  }
  const known = session.received(packet.messageId);
  // After the stored record says 'pubrel': a resume must not send the PUBLISH again [v3:MQTT-4.3.3-1] [v5:MQTT-4.3.3-6].
  const pubrel = known || conn.version !== 5 ? { cmd: 'pubrel' as const, messageId: packet.messageId } : { cmd: 'pubrel' as const, messageId: packet.messageId, reasonCode: ReasonCode.PacketIdentifierNotFound };
  session.writeAfterStore(encode(pubrel, conn.version));
}

/** PUBREL: the incoming QoS 2 id is released; PUBCOMP always answers [MQTT-4.3.3-11]. */
export function handlePubrel(conn: Connection, packet: AckPacket): void {
  const session = conn.session;
  if (session === null) return;
  const known = session.releaseIncomingQos2(packet.messageId);
  // After the id is released in the store: a resumed session must not take the client's next use of it for a resend.
  const pubcomp = known || conn.version !== 5 ? { cmd: 'pubcomp' as const, messageId: packet.messageId } : { cmd: 'pubcomp' as const, messageId: packet.messageId, reasonCode: ReasonCode.PacketIdentifierNotFound };
  session.writeAfterStore(encode(pubcomp, conn.version));
}

/** PUBCOMP ends an outgoing QoS 2 delivery (§4.3.3). */
export function handlePubcomp(conn: Connection, packet: AckPacket): void {
  const session = conn.session;
  if (session === null) return;
  checkAckType(session, packet);
  session.acknowledge(packet.messageId);
}

/** Throws the Protocol Error for an acknowledgement that is not the one its packet id waits for. */
function checkAckType(session: Session, packet: AckPacket): void {
  const awaiting = session.awaiting(packet.messageId);
  if (awaiting === undefined || awaiting === packet.cmd) return;
  // PUBREC resent after our PUBREL (it crossed it, or the client resent it): PUBREL again (§4.3.3).
  if (packet.cmd === 'pubrec' && awaiting === 'pubcomp') return;
  const name = packet.cmd.toUpperCase();
  throw new ProtocolError(`${name} for packet id ${packet.messageId}, which awaits ${awaiting.toUpperCase()}`, awaiting === 'puback' || packet.cmd === 'puback' ? '§4.3.2' : '§4.3.3', ReasonCode.ProtocolError);
}
