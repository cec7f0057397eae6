// SUBACK and UNSUBACK (spec 3.9, 3.11): packet id, v5 properties, one code per filter.
import { PROTOCOL_ERROR, ProtocolError } from '../errors.js';
import { Ctx, decodeProperties, propertiesBodyLength, writeProperties } from '../properties.js';
import type { PacketReader } from '../reader.js';
import type { ProtocolVersion, SubackPacket, UnsubackPacket } from '../types.js';
import { allocPacket, headerLength, varintLength, writeU16 } from '../writer.js';

const SUBACK_V4 = [0x00, 0x01, 0x02, 0x80];
const SUBACK_V5 = [0x00, 0x01, 0x02, 0x80, 0x83, 0x87, 0x8f, 0x91, 0x97, 0x9e, 0xa1, 0xa2];
const UNSUBACK_V5 = [0x00, 0x11, 0x80, 0x83, 0x87, 0x8f, 0x91];

function readCodes(r: PacketReader, allowed: number[], what: string, specId: string): number[] {
  const codes: number[] = [];
  while (r.remaining > 0) {
    const code = r.u8(`${what} return code`);
    if (!allowed.includes(code)) throw new ProtocolError(`${what} code 0x${code.toString(16)} not allowed`, specId, PROTOCOL_ERROR);
    codes.push(code);
  }
  return codes;
}

export function decodeSuback(r: PacketReader, version: ProtocolVersion): SubackPacket {
  const messageId = r.packetId();
  const properties = version === 5 ? decodeProperties(r, Ctx.suback) : undefined;
  const granted = readCodes(r, version === 5 ? SUBACK_V5 : SUBACK_V4, 'SUBACK', 'MQTT-3.9.3-2');
  const packet: SubackPacket = { cmd: 'suback', messageId, granted };
  if (properties !== undefined) packet.properties = properties;
  return packet;
}

export function decodeUnsuback(r: PacketReader, version: ProtocolVersion): UnsubackPacket {
  const packet: UnsubackPacket = { cmd: 'unsuback', messageId: r.packetId() };
  if (version === 5) {
    const properties = decodeProperties(r, Ctx.unsuback);
    if (properties !== undefined) packet.properties = properties;
    packet.reasonCodes = readCodes(r, UNSUBACK_V5, 'UNSUBACK', 'MQTT-3.11.3-2');
  }
  r.expectEnd('UNSUBACK');
  return packet;
}

function encodeCodes(first: number, messageId: number, codes: number[], p: SubackPacket | UnsubackPacket, version: ProtocolVersion): Buffer {
  const propsLen = version === 5 ? propertiesBodyLength(p.properties) : 0;
  const rl = 2 + (version === 5 ? varintLength(propsLen) + propsLen : 0) + codes.length;
  const buf = allocPacket(first, rl);
  let pos = writeU16(buf, headerLength(rl), messageId);
  if (version === 5) pos = writeProperties(buf, pos, p.properties, propsLen);
  for (const c of codes) buf[pos++] = c;
  return buf;
}

export function encodeSuback(p: SubackPacket, version: ProtocolVersion): Buffer {
  return encodeCodes(0x90, p.messageId, p.granted, p, version);
}

export function encodeUnsuback(p: UnsubackPacket, version: ProtocolVersion): Buffer {
  return encodeCodes(0xb0, p.messageId, version === 5 ? (p.reasonCodes ?? []) : [], p, version);
}
