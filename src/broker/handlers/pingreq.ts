// PINGREQ: answer PINGRESP [MQTT-3.12.4-1]. The keep-alive clock was reset when the bytes arrived.
import type { Connection } from '../connection.js';

export function handlePingreq(conn: Connection): void {
  conn.send({ cmd: 'pingresp' });
}
