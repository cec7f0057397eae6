// UNSUBSCRIBE: always answered with UNSUBACK, whether or not the filters existed [MQTT-3.10.4-4/5].
import type { UnsubscribePacket } from '../../protocol/index.js';
import type { Broker } from '../broker.js';
import type { Connection } from '../connection.js';

export function handleUnsubscribe(broker: Broker, conn: Connection, packet: UnsubscribePacket): void {
  const session = conn.session;
  if (session === null) return;
  const existed = broker.unsubscribe(session, packet.unsubscriptions);
  if (conn.version === 5) {
    conn.send({ cmd: 'unsuback', messageId: packet.messageId, reasonCodes: existed.map((e) => (e ? 0x00 : 0x11)) });
  } else {
    conn.send({ cmd: 'unsuback', messageId: packet.messageId });
  }
}
