// DISCONNECT and AUTH (spec 3.14, 3.15): optional v5 reason code and properties.
import { PROTOCOL_ERROR, ProtocolError } from '../errors.js';
import { Ctx, decodeProperties, propertiesBodyLength, writeProperties } from '../properties.js';
import type { PacketReader } from '../reader.js';
import type { AuthPacket, DisconnectPacket, ProtocolVersion } from '../types.js';
import { allocPacket, headerLength, varintLength } from '../writer.js';

const DISCONNECT_REASONS = [
  0x00, 0x04, 0x80, 0x81, 0x82, 0x83, 0x87, 0x89, 0x8b, 0x8d, 0x8e, 0x8f, 0x90, 0x93, 0x94, 0x95,
  0x96, 0x97, 0x98, 0x99, 0x9a, 0x9b, 0x9c, 0x9d, 0x9e, 0x9f, 0xa0, 0xa1, 0xa2,
];
const AUTH_REASONS = [0x00, 0x18, 0x19];

export function decodeDisconnect(r: PacketReader, version: ProtocolVersion): DisconnectPacket {
  const packet: DisconnectPacket = { cmd: 'disconnect' };
  if (version === 5 && r.remaining > 0) {
    const rc = r.u8('reason code');
    if (!DISCONNECT_REASONS.includes(rc)) throw new ProtocolError(`DISCONNECT reason 0x${rc.toString(16)} not allowed`, 'MQTT-3.14.2-1', PROTOCOL_ERROR);
    packet.reasonCode = rc;
    if (r.remaining > 0) {
      const properties = decodeProperties(r, Ctx.disconnect);
      if (properties !== undefined) packet.properties = properties;
    }
  }
  r.expectEnd('DISCONNECT');
  return packet;
}

export function decodeAuth(r: PacketReader): AuthPacket {
  const packet: AuthPacket = { cmd: 'auth', reasonCode: 0 };
  if (r.remaining > 0) {
    const rc = r.u8('reason code');
    if (!AUTH_REASONS.includes(rc)) throw new ProtocolError(`AUTH reason 0x${rc.toString(16)} not allowed`, 'MQTT-3.15.2-1', PROTOCOL_ERROR);
    packet.reasonCode = rc;
    if (r.remaining > 0) {
      const properties = decodeProperties(r, Ctx.auth);
      if (properties !== undefined) packet.properties = properties;
    }
  }
  r.expectEnd('AUTH');
  return packet;
}

function encodeReasonPacket(first: number, reasonCode: number, p: DisconnectPacket | AuthPacket, version: ProtocolVersion): Buffer {
  if (version < 5) return allocPacket(first, 0);
  const hasProps = p.properties !== undefined;
  const propsLen = hasProps ? propertiesBodyLength(p.properties) : 0;
  const withReason = reasonCode !== 0 || hasProps;
  const rl = (withReason ? 1 : 0) + (hasProps ? varintLength(propsLen) + propsLen : 0);
  const buf = allocPacket(first, rl);
  const pos = headerLength(rl);
  if (withReason) buf[pos] = reasonCode;
  if (hasProps) writeProperties(buf, pos + 1, p.properties, propsLen);
  return buf;
}

export function encodeDisconnect(p: DisconnectPacket, version: ProtocolVersion): Buffer {
  return encodeReasonPacket(0xe0, p.reasonCode ?? 0, p, version);
}

export function encodeAuth(p: AuthPacket, version: ProtocolVersion): Buffer {
  return encodeReasonPacket(0xf0, p.reasonCode, p, version);
}
