// UNSUBSCRIBE (spec 3.10).
import { PROTOCOL_ERROR, ProtocolError } from '../errors.js';
import { Ctx, decodeProperties, propertiesBodyLength, writeProperties } from '../properties.js';
import type { PacketReader } from '../reader.js';
import type { ProtocolVersion, UnsubscribePacket } from '../types.js';
import { allocPacket, headerLength, utf8Length, varintLength, writeU16, writeUtf8 } from '../writer.js';

export function decodeUnsubscribe(r: PacketReader, version: ProtocolVersion): UnsubscribePacket {
  const messageId = r.packetId();
  const properties = version === 5 ? decodeProperties(r, Ctx.unsubscribe) : undefined;
  const unsubscriptions: string[] = [];
  while (r.remaining > 0) {
    // Not checked against the filter rules here: the broker answers an invalid one (v5 UNSUBACK 0x8F).
    unsubscriptions.push(r.utf8('topic filter'));
  }
  if (unsubscriptions.length === 0) throw new ProtocolError('UNSUBSCRIBE without topic filters', 'MQTT-3.10.3-2', PROTOCOL_ERROR);
  const packet: UnsubscribePacket = { cmd: 'unsubscribe', messageId, unsubscriptions };
  if (properties !== undefined) packet.properties = properties;
  return packet;
}

export function encodeUnsubscribe(p: UnsubscribePacket, version: ProtocolVersion): Buffer {
  const propsLen = version === 5 ? propertiesBodyLength(p.properties) : 0;
  let rl = 2 + (version === 5 ? varintLength(propsLen) + propsLen : 0);
  const lens = p.unsubscriptions.map((s) => utf8Length(s));
  for (const n of lens) rl += 2 + n;
  const buf = allocPacket(0xa2, rl);
  let pos = writeU16(buf, headerLength(rl), p.messageId);
  if (version === 5) pos = writeProperties(buf, pos, p.properties, propsLen);
  p.unsubscriptions.forEach((s, i) => { pos = writeUtf8(buf, pos, s, lens[i]); });
  return buf;
}
