// CONNECT (spec 3.1): decode with every header/flag rule checked, and encode.
import { MALFORMED, PROTOCOL_ERROR, ProtocolError, UNSUPPORTED_VERSION, UnsupportedProtocolVersionError } from '../errors.js';
import { checkFlags } from '../fixed-header.js';
import { Ctx, decodeProperties, propertiesBodyLength, writeProperties } from '../properties.js';
import type { PacketReader } from '../reader.js';
import { validateTopicName } from '../topic.js';
import type { ConnectPacket, ProtocolVersion, QoS, Will } from '../types.js';
import { allocPacket, headerLength, utf8Length, varintLength, writeBinary, writeU16, writeUtf8 } from '../writer.js';

export function decodeConnect(r: PacketReader, headerFlags = 0): ConnectPacket {
  const protocolName = r.utf8('protocol name');
  const level = r.u8('protocol level');
  if (protocolName !== 'MQTT' && protocolName !== 'MQIsdp') {
    throw new ProtocolError(`unknown protocol name '${protocolName}'`, 'MQTT-3.1.2-1', UNSUPPORTED_VERSION);
  }
  // MQIsdp is only v3.1 (level 3); MQTT is 3.1.1 (4) or 5.0 (5).
  if (protocolName === 'MQIsdp' ? level !== 3 : level !== 4 && level !== 5) {
    throw new UnsupportedProtocolVersionError(level);
  }
  const version = level as ProtocolVersion;
  try {
    if (headerFlags !== 0) checkFlags(1, headerFlags, version);
    return decodeConnectBody(r, protocolName, version);
  } catch (err) {
    // The broker answers in the client's version (a v5 CONNACK with the reason code).
    if (err instanceof ProtocolError) err.connectVersion = version;
    throw err;
  }
}

function decodeConnectBody(r: PacketReader, protocolName: 'MQTT' | 'MQIsdp', version: ProtocolVersion): ConnectPacket {
  const flags = r.u8('connect flags');
  if (flags & 0x01) throw new ProtocolError('reserved connect flag is set', 'MQTT-3.1.2-3', MALFORMED);
  const hasWill = (flags & 0x04) !== 0;
  const willQos = (flags >> 3) & 0x03;
  const willRetain = (flags & 0x20) !== 0;
  const hasPassword = (flags & 0x40) !== 0;
  const hasUsername = (flags & 0x80) !== 0;
  if (!hasWill) {
    if (willQos !== 0) throw new ProtocolError('will QoS set without will flag', 'v3:MQTT-3.1.2-13 v5:MQTT-3.1.2-11', MALFORMED);
    if (willRetain) throw new ProtocolError('will retain set without will flag', 'v3:MQTT-3.1.2-15 v5:MQTT-3.1.2-13', MALFORMED);
  } else if (willQos === 3) {
    throw new ProtocolError('will QoS is 3', 'v3:MQTT-3.1.2-14 v5:MQTT-3.1.2-12', MALFORMED);
  }
  if (hasPassword && !hasUsername && version < 5) {
    throw new ProtocolError('password flag set without user name flag', 'v3:MQTT-3.1.2-22', MALFORMED);
  }
  const keepalive = r.u16('keep alive');
  const packet: ConnectPacket = {
    cmd: 'connect', protocolName, protocolVersion: version, clean: (flags & 0x02) !== 0, keepalive, clientId: '',
  };
  if (version === 5) {
    const properties = decodeProperties(r, Ctx.connect);
    if (properties !== undefined) {
      // Authentication Data without an Authentication Method is a Protocol Error (3.1.2.11.10).
      if (properties.authenticationData !== undefined && properties.authenticationMethod === undefined) {
        throw new ProtocolError('authentication data without method', 'MQTT-3.1.2.11.10', PROTOCOL_ERROR);
      }
      packet.properties = properties;
    }
  }
  packet.clientId = r.utf8('client identifier');
  if (hasWill) {
    const willProperties = version === 5 ? decodeProperties(r, Ctx.will) : undefined;
    const topic = r.utf8('will topic');
    validateTopicName(topic);
    const will: Will = { topic, payload: r.binary('will payload'), qos: willQos as QoS, retain: willRetain };
    if (willProperties !== undefined) will.properties = willProperties;
    packet.will = will;
  }
  if (hasUsername) packet.username = r.utf8('user name');
  if (hasPassword) packet.password = r.binary('password');
  r.expectEnd('CONNECT');
  return packet;
}

export function encodeConnect(p: ConnectPacket, _version?: ProtocolVersion): Buffer {
  const version = p.protocolVersion;
  const name = p.protocolName ?? (version === 3 ? 'MQIsdp' : 'MQTT');
  const clientIdLen = utf8Length(p.clientId);
  const will = p.will;
  let flags = p.clean ? 0x02 : 0;
  let rl = 2 + name.length + 1 + 1 + 2 + 2 + clientIdLen;
  let propsLen = 0;
  if (version === 5) {
    propsLen = propertiesBodyLength(p.properties);
    rl += varintLength(propsLen) + propsLen;
  }
  let willTopicLen = 0;
  let willPropsLen = 0;
  if (will !== undefined) {
    flags |= 0x04 | (will.qos << 3) | (will.retain ? 0x20 : 0);
    willTopicLen = utf8Length(will.topic);
    rl += 2 + willTopicLen + 2 + will.payload.length;
    if (version === 5) {
      willPropsLen = propertiesBodyLength(will.properties);
      rl += varintLength(willPropsLen) + willPropsLen;
    }
  }
  let usernameLen = 0;
  if (p.username !== undefined) {
    flags |= 0x80;
    usernameLen = utf8Length(p.username);
    rl += 2 + usernameLen;
  }
  if (p.password !== undefined) {
    flags |= 0x40;
    rl += 2 + p.password.length;
  }
  const buf = allocPacket(0x10, rl);
  let pos = writeUtf8(buf, headerLength(rl), name, name.length);
  buf[pos++] = version;
  buf[pos++] = flags;
  pos = writeU16(buf, pos, p.keepalive);
  if (version === 5) pos = writeProperties(buf, pos, p.properties, propsLen);
  pos = writeUtf8(buf, pos, p.clientId, clientIdLen);
  if (will !== undefined) {
    if (version === 5) pos = writeProperties(buf, pos, will.properties, willPropsLen);
    pos = writeUtf8(buf, pos, will.topic, willTopicLen);
    pos = writeBinary(buf, pos, will.payload);
  }
  if (p.username !== undefined) pos = writeUtf8(buf, pos, p.username, usernameLen);
  if (p.password !== undefined) writeBinary(buf, pos, p.password);
  return buf;
}
