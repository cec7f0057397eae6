// PUBACK, PUBREC, PUBREL, PUBCOMP (spec 3.4-3.7): same shape, packet id + v5 reason and properties.
import { PROTOCOL_ERROR, ProtocolError } from '../errors.js';
import { Ctx, decodeProperties, propertiesBodyLength, writeProperties } from '../properties.js';
import type { PacketReader } from '../reader.js';
import type { AckPacket, ProtocolVersion } from '../types.js';
import { allocPacket, headerLength, varintLength, writeU16 } from '../writer.js';

type AckCmd = AckPacket['cmd'];

const PUB_REASONS = [0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99];
const REL_REASONS = [0x00, 0x92];
const ALLOWED: Record<AckCmd, number[]> = { puback: PUB_REASONS, pubrec: PUB_REASONS, pubrel: REL_REASONS, pubcomp: REL_REASONS };
const TYPE: Record<AckCmd, number> = { puback: 4, pubrec: 5, pubrel: 6, pubcomp: 7 };

export function decodeAck(r: PacketReader, cmd: AckCmd, version: ProtocolVersion): AckPacket {
  const packet: AckPacket = { cmd, messageId: r.packetId() };
  if (version === 5 && r.remaining > 0) {
    const reasonCode = r.u8('reason code');
    if (!ALLOWED[cmd].includes(reasonCode)) {
      throw new ProtocolError(`${cmd} reason code 0x${reasonCode.toString(16)} not allowed`, 'MQTT-3.4.2.1', PROTOCOL_ERROR);
    }
    packet.reasonCode = reasonCode;
    if (r.remaining > 0) {
      const properties = decodeProperties(r, Ctx.ack);
      if (properties !== undefined) packet.properties = properties;
    }
  }
  r.expectEnd(cmd.toUpperCase());
  return packet;
}

export function encodeAck(p: AckPacket, version: ProtocolVersion): Buffer {
  const first = (TYPE[p.cmd] << 4) | (p.cmd === 'pubrel' ? 0x02 : 0);
  const reasonCode = p.reasonCode ?? 0;
  const hasProps = version === 5 && p.properties !== undefined;
  // v5: reason code and properties may be omitted when Success with no properties (3.4.2.1).
  const withReason = version === 5 && (reasonCode !== 0 || hasProps);
  const propsLen = hasProps ? propertiesBodyLength(p.properties) : 0;
  const rl = 2 + (withReason ? 1 : 0) + (hasProps ? varintLength(propsLen) + propsLen : 0);
  const buf = allocPacket(first, rl);
  let pos = writeU16(buf, headerLength(rl), p.messageId);
  if (withReason) buf[pos++] = reasonCode;
  if (hasProps) writeProperties(buf, pos, p.properties, propsLen);
  return buf;
}
