// CONNACK (spec 3.2).
import { MALFORMED, ProtocolError } from '../errors.js';
import { Ctx, decodeProperties, propertiesBodyLength, writeProperties } from '../properties.js';
import type { PacketReader } from '../reader.js';
import type { ConnackPacket, ProtocolVersion } from '../types.js';
import { allocPacket, headerLength, varintLength } from '../writer.js';

export function decodeConnack(r: PacketReader, version: ProtocolVersion): ConnackPacket {
  const ackFlags = r.u8('connect acknowledge flags');
  if (ackFlags & 0xfe) throw new ProtocolError('reserved CONNACK flag bits set', 'v5:MQTT-3.2.2-1', MALFORMED);
  const packet: ConnackPacket = { cmd: 'connack', sessionPresent: ackFlags === 1, reasonCode: r.u8('reason code') };
  if (version === 5) {
    const properties = decodeProperties(r, Ctx.connack);
    if (properties !== undefined) packet.properties = properties;
  }
  r.expectEnd('CONNACK');
  return packet;
}

export function encodeConnack(p: ConnackPacket, version: ProtocolVersion): Buffer {
  const propsLen = version === 5 ? propertiesBodyLength(p.properties) : 0;
  const rl = 2 + (version === 5 ? varintLength(propsLen) + propsLen : 0);
  const buf = allocPacket(0x20, rl);
  let pos = headerLength(rl);
  buf[pos++] = p.sessionPresent ? 1 : 0;
  buf[pos++] = p.reasonCode;
  if (version === 5) writeProperties(buf, pos, p.properties, propsLen);
  return buf;
}
