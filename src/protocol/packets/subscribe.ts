// SUBSCRIBE (spec 3.8): filters with QoS (v3/v4) or subscription options (v5).
import { MALFORMED, PROTOCOL_ERROR, ProtocolError } from '../errors.js';
import { Ctx, decodeProperties, propertiesBodyLength, writeProperties } from '../properties.js';
import type { PacketReader } from '../reader.js';
import { isSharedSubscription } from '../topic.js';
import type { ProtocolVersion, QoS, SubscribePacket, Subscription } from '../types.js';
import { allocPacket, headerLength, utf8Length, varintLength, writeU16, writeUtf8 } from '../writer.js';

export function decodeSubscribe(r: PacketReader, version: ProtocolVersion): SubscribePacket {
  const messageId = r.packetId();
  const properties = version === 5 ? decodeProperties(r, Ctx.subscribe) : undefined;
  const subscriptions: Subscription[] = [];
  while (r.remaining > 0) {
    // A well-formed string that is not a valid filter (a/#/b, a+, '', a bad $share/ name) is kept
    // as is: the broker answers it per filter (v5 SUBACK 0x8F) or closes (v3.1.1), so decode does
    // not throw for it [MQTT-4.8.2-1/2].
    const topic = r.utf8('topic filter');
    const shared = isSharedSubscription(topic);
    const options = r.u8('subscription options');
    const qos = options & 0x03;
    if (qos === 3) throw new ProtocolError('subscription QoS is 3', 'v3:MQTT-3.8.3-4', MALFORMED);
    if (version < 5) {
      if (options & 0xfc) throw new ProtocolError('reserved subscription option bits set', 'MQTT-3.8.3-5', MALFORMED);
      subscriptions.push({ topic, qos: qos as QoS });
      continue;
    }
    if (options & 0xc0) throw new ProtocolError('reserved subscription option bits set', 'MQTT-3.8.3-5', MALFORMED);
    const rh = (options >> 4) & 0x03;
    if (rh === 3) throw new ProtocolError('retain handling is 3', 'MQTT-3.8.3.1', PROTOCOL_ERROR);
    const nl = (options & 0x04) !== 0;
    if (shared && nl) throw new ProtocolError('No Local on a shared subscription', 'v5:MQTT-3.8.3-4', PROTOCOL_ERROR);
    subscriptions.push({ topic, qos: qos as QoS, nl, rap: (options & 0x08) !== 0, rh: rh as 0 | 1 | 2 });
  }
  if (subscriptions.length === 0) throw new ProtocolError('SUBSCRIBE without subscriptions', 'v3:MQTT-3.8.3-3 v5:MQTT-3.8.3-2', PROTOCOL_ERROR);
  const packet: SubscribePacket = { cmd: 'subscribe', messageId, subscriptions };
  if (properties !== undefined) packet.properties = properties;
  return packet;
}

export function encodeSubscribe(p: SubscribePacket, version: ProtocolVersion): Buffer {
  const propsLen = version === 5 ? propertiesBodyLength(p.properties) : 0;
  let rl = 2 + (version === 5 ? varintLength(propsLen) + propsLen : 0);
  const lens = p.subscriptions.map((s) => utf8Length(s.topic));
  for (const n of lens) rl += 3 + n;
  const buf = allocPacket(0x82, rl);
  let pos = writeU16(buf, headerLength(rl), p.messageId);
  if (version === 5) pos = writeProperties(buf, pos, p.properties, propsLen);
  p.subscriptions.forEach((s, i) => {
    pos = writeUtf8(buf, pos, s.topic, lens[i]);
    let options = s.qos;
    if (version === 5) options |= (s.nl ? 0x04 : 0) | (s.rap ? 0x08 : 0) | ((s.rh ?? 0) << 4);
    buf[pos++] = options;
  });
  return buf;
}
