// PUBLISH (spec 3.3). The payload is a view into the frame buffer (no copy); encode writes
// header + topic + payload into one allocation (for large payloads that is one memcpy of the
// payload, which we accept to hand the socket a single Buffer).
import { MALFORMED, ProtocolError } from '../errors.js';
import { Ctx, decodeProperties, propertiesBodyLength, writeProperties } from '../properties.js';
import type { PacketReader } from '../reader.js';
import { validateTopicName } from '../topic.js';
import type { ProtocolVersion, PublishPacket, QoS } from '../types.js';
import { allocFrame, writeBytes, headerLength, utf8Length, varintLength, writeU16, writeUtf8, writeVarint } from '../writer.js';

export function decodePublish(r: PacketReader, flags: number, version: ProtocolVersion): PublishPacket {
  const qos = (flags >> 1) & 0x03;
  if (qos === 3) throw new ProtocolError('PUBLISH QoS is 3', 'MQTT-3.3.1-4', MALFORMED);
  const dup = (flags & 0x08) !== 0;
  if (dup && qos === 0) throw new ProtocolError('DUP set on QoS 0 PUBLISH', 'MQTT-3.3.1-2', MALFORMED);
  const topic = r.utf8('topic name');
  const messageId = qos > 0 ? r.packetId() : undefined;
  const properties = version === 5 ? decodeProperties(r, Ctx.publish) : undefined;
  // v5: an empty topic name is allowed only with a Topic Alias [MQTT-3.3.2-1 / 3.3.2.3.4].
  if (topic.length !== 0 || properties?.topicAlias === undefined) validateTopicName(topic);
  const packet: PublishPacket = { cmd: 'publish', topic, payload: r.rest(), qos: qos as QoS, retain: (flags & 0x01) !== 0, dup };
  if (messageId !== undefined) packet.messageId = messageId;
  if (properties !== undefined) packet.properties = properties;
  return packet;
}

export function publishFlags(qos: QoS, retain: boolean, dup: boolean): number {
  return 0x30 | (dup ? 0x08 : 0) | (qos << 1) | (retain ? 0x01 : 0);
}

export function encodePublish(p: PublishPacket, version: ProtocolVersion): Buffer {
  const topicLen = utf8Length(p.topic);
  const propsLen = version === 5 ? propertiesBodyLength(p.properties) : -1;
  const rl = 2 + topicLen + (p.qos > 0 ? 2 : 0) + (propsLen >= 0 ? varintLength(propsLen) + propsLen : 0) + p.payload.length;
  const buf = allocFrame(headerLength(rl) + rl);
  buf[0] = publishFlags(p.qos, p.retain, p.dup);
  let pos = writeVarint(buf, 1, rl);
  pos = writeUtf8(buf, pos, p.topic, topicLen);
  if (p.qos > 0) {
    if (p.messageId === undefined) throw new RangeError('PUBLISH with QoS > 0 needs a messageId');
    pos = writeU16(buf, pos, p.messageId);
  }
  if (propsLen >= 0) pos = writeProperties(buf, pos, p.properties, propsLen);
  writeBytes(buf, pos, p.payload);
  return buf;
}
