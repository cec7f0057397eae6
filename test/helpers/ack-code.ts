// The reason code a broker put in the acknowledgement of one mqtt.js publish (v5 PUBACK/PUBREC).
import type { MqttClient, Packet as MqttPacket } from 'mqtt';

/** Publishes and resolves with the reason code of the PUBACK (QoS 1) or PUBREC (QoS 2) the broker sent. */
export async function ackCode(pub: MqttClient, topic: string, qos: 1 | 2, retain = false): Promise<number> {
  const cmd = qos === 1 ? 'puback' : 'pubrec';
  let code: number | undefined;
  const spy = (packet: MqttPacket): void => {
    if (packet.cmd === cmd) code = (packet as { reasonCode?: number }).reasonCode ?? 0;
  };
  pub.on('packetreceive', spy);
  try {
    // 0x10 is not an error to mqtt.js (it resolves): the publish completes either way.
    await pub.publishAsync(topic, 'x', { qos, retain });
  } finally {
    pub.off('packetreceive', spy);
  }
  if (code === undefined) throw new Error(`no ${cmd} seen`);
  return code;
}
