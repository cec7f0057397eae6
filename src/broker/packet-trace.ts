// --log-level trace: one line per packet in and out, a summary (never a payload or a password).
// Connection calls these only when its `trace` flag (read once, at creation) is set, so with trace
// off a packet costs one boolean test and nothing is allocated.
import type { Packet } from '../protocol/index.js';
import type { Connection } from './connection.js';

/** A packet the client sent, as decoded. */
export function tracePacketIn(conn: Connection, packet: Packet): void {
  const line: Record<string, unknown> = { clientId: conn.clientId || undefined, dir: 'in', cmd: packet.cmd };
  if ('messageId' in packet && packet.messageId !== undefined) line.packetId = packet.messageId;
  if (packet.cmd === 'publish') {
    line.topic = packet.topic;
    line.qos = packet.qos;
    if (packet.retain) line.retain = true;
    if (packet.dup) line.dup = true;
    line.payloadBytes = packet.payload.length;
  } else if (packet.cmd === 'subscribe') {
    line.filters = packet.subscriptions.map((s) => s.topic);
  } else if (packet.cmd === 'unsubscribe') {
    line.filters = packet.unsubscriptions;
  } else if (packet.cmd === 'connect') {
    line.clientId = packet.clientId;
    line.protocolVersion = packet.protocolVersion;
  } else if ('reasonCode' in packet && packet.reasonCode !== undefined) {
    line.reasonCode = packet.reasonCode;
  }
  conn.host.log.trace(line, 'packet');
}

/** Control packet types by the high nibble of the first byte (MQTT 2.1.2). */
const CMDS = ['reserved', 'connect', 'connack', 'publish', 'puback', 'pubrec', 'pubrel', 'pubcomp', 'subscribe', 'suback', 'unsubscribe', 'unsuback', 'pingreq', 'pingresp', 'disconnect', 'auth'];
/** Types whose variable header starts with a packet identifier. */
const WITH_ID = new Set([4, 5, 6, 7, 9, 11]);

/** A frame written to the client (encoded already: fan-out shares one frame between clients). */
export function traceFrameOut(conn: Connection, frame: Buffer): void {
  const type = frame[0]! >> 4;
  const line: Record<string, unknown> = { clientId: conn.clientId || undefined, dir: 'out', cmd: CMDS[type], bytes: frame.length };
  // Past the fixed header: the remaining length is 1..4 bytes, 7 bits each.
  let at = 1;
  while (at < 5 && at < frame.length && (frame[at]! & 0x80) !== 0) at++;
  at++;
  if (type === 3 && at + 2 <= frame.length) {
    const qos = (frame[0]! >> 1) & 3;
    const topicLength = frame.readUInt16BE(at);
    line.topic = frame.toString('utf8', at + 2, at + 2 + topicLength);
    line.qos = qos;
    if ((frame[0]! & 1) !== 0) line.retain = true;
    if (qos > 0 && at + 4 + topicLength <= frame.length) line.packetId = frame.readUInt16BE(at + 2 + topicLength);
  } else if (WITH_ID.has(type) && at + 2 <= frame.length) {
    line.packetId = frame.readUInt16BE(at);
  } else if (type === 2 && at + 2 <= frame.length) {
    line.sessionPresent = (frame[at]! & 1) === 1;
    line.reasonCode = frame[at + 1];
  } else if (type === 14 && at < frame.length) {
    line.reasonCode = frame[at];
  }
  conn.host.log.trace(line, 'packet');
}
