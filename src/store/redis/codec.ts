// Binary encodings of what the Redis backend stores and sends per message. The per-message path
// never uses JSON: only the rare v5 properties block is JSON (Buffers inside as {"$b": base64}).
//
// Message:
//   u8   flags   bits 0-1 qos, bit 2 retain, bit 3 expiresAt present, bit 4 properties present,
//                bit 5 origin present
//   u16  topic length, topic (utf8)
//   [u48 expiresAt, epoch ms]           when bit 3
//   [u32 length, properties JSON]       when bit 4
//   [u8 n, sender id, u48 seq]          when bit 5: where a message from the bus came from (a queued
//                                       copy keeps it, so a session can tell two copies apart)
//   payload: every remaining byte (raw, never base64)
//
// On the bus (node-frames.ts 0x07), each entry is [u48 seq][Message]: the sender's number for it.
//
// InflightRecord: u8 state (0 publish, 1 pubrel), u16 messageId, then the Message encoding.
//
// SubscriptionOptions: u8 bits 0-1 qos, 2 nl, 3 rap, 4 rh present, 5-6 rh, 7 subscriptionId
// present; [u32 subscriptionId]; [u48 since, epoch ms] when the bytes go on (older records end before).
import type { Properties, QoS } from '../../protocol/types.js';
import type { InflightRecord, Message, SubscriptionOptions } from '../types.js';

const RETAIN = 0x04;
const HAS_EXPIRY = 0x08;
const HAS_PROPERTIES = 0x10;
const HAS_ORIGIN = 0x20;

export function encodeMessage(message: Message): Buffer {
  return encodeWithHeader(message, 0);
}

export function decodeMessage(bytes: Buffer): Message {
  return decodeAt(bytes, 0);
}

export function encodeInflight(record: InflightRecord): Buffer {
  const bytes = encodeWithHeader(record.message, 3);
  bytes[0] = record.state === 'pubrel' ? 1 : 0;
  bytes.writeUInt16BE(record.messageId, 1);
  return bytes;
}

export function decodeInflight(bytes: Buffer): InflightRecord {
  if (bytes.length < 3) throw new Error('inflight record: truncated');
  return { state: bytes[0] === 1 ? 'pubrel' : 'publish', messageId: bytes.readUInt16BE(1), message: decodeAt(bytes, 3) };
}

/** A message as the bus sends it: [u48 seq][Message], seq the sender's number for it. */
export function encodeNumbered(message: Message, seq: number): Buffer {
  const bytes = encodeWithHeader(message, 6, false);
  bytes.writeUIntBE(seq, 0, 6);
  return bytes;
}

/** The MessageCodec the bus takes (node-frames.ts). */
export const messageCodec = { encode: encodeMessage, decode: decodeMessage, encodeNumbered };

export function encodeSubscriptionOptions(options: SubscriptionOptions): Buffer {
  let flags = options.qos & 3;
  if (options.nl !== undefined && options.nl) flags |= 0x04;
  if (options.rap !== undefined && options.rap) flags |= 0x08;
  if (options.rh !== undefined) flags |= 0x10 | (options.rh << 5);
  const idBytes = options.subscriptionId === undefined ? 0 : 4;
  const bytes = Buffer.allocUnsafe(1 + idBytes + (options.since === undefined ? 0 : 6));
  bytes[0] = idBytes === 0 ? flags : flags | 0x80;
  if (options.subscriptionId !== undefined) bytes.writeUInt32BE(options.subscriptionId, 1);
  if (options.since !== undefined) bytes.writeUIntBE(options.since, 1 + idBytes, 6);
  return bytes;
}

export function decodeSubscriptionOptions(bytes: Buffer): SubscriptionOptions {
  const flags = bytes[0] ?? 0;
  const options: SubscriptionOptions = { qos: (flags & 3) as QoS };
  if (flags & 0x04) options.nl = true;
  if (flags & 0x08) options.rap = true;
  if (flags & 0x10) options.rh = ((flags >> 5) & 3) as 0 | 1 | 2;
  if (flags & 0x80) options.subscriptionId = bytes.readUInt32BE(1);
  const sinceAt = flags & 0x80 ? 5 : 1;
  if (bytes.length >= sinceAt + 6) options.since = bytes.readUIntBE(sinceAt, 6);
  return options;
}

function encodeWithHeader(message: Message, headerSize: number, withOrigin = true): Buffer {
  const topicLength = Buffer.byteLength(message.topic, 'utf8');
  if (topicLength > 0xffff) throw new Error('message topic longer than 65535 bytes');
  const properties = message.properties !== undefined ? Buffer.from(JSON.stringify(message.properties, withBuffers), 'utf8') : null;
  const hasExpiry = message.expiresAt !== undefined;
  const origin = withOrigin ? message.origin : undefined;
  const senderLength = origin === undefined ? 0 : Buffer.byteLength(origin.sender, 'utf8');
  if (senderLength > 0xff) throw new Error('message origin: node id longer than 255 bytes');
  const size = headerSize + 3 + topicLength + (hasExpiry ? 6 : 0) + (properties !== null ? 4 + properties.length : 0) + (origin === undefined ? 0 : 7 + senderLength) + message.payload.length;
  const bytes = Buffer.allocUnsafe(size);
  let at = headerSize;
  bytes[at++] = (message.qos & 3) | (message.retain ? RETAIN : 0) | (hasExpiry ? HAS_EXPIRY : 0) | (properties !== null ? HAS_PROPERTIES : 0) | (origin === undefined ? 0 : HAS_ORIGIN);
  bytes.writeUInt16BE(topicLength, at);
  at += 2;
  at += bytes.write(message.topic, at, topicLength, 'utf8');
  if (hasExpiry) {
    bytes.writeUIntBE(message.expiresAt!, at, 6);
    at += 6;
  }
  if (properties !== null) {
    bytes.writeUInt32BE(properties.length, at);
    properties.copy(bytes, at + 4);
    at += 4 + properties.length;
  }
  if (origin !== undefined) {
    bytes[at] = senderLength;
    bytes.write(origin.sender, at + 1, senderLength, 'utf8');
    bytes.writeUIntBE(origin.seq, at + 1 + senderLength, 6);
    at += 7 + senderLength;
  }
  message.payload.copy(bytes, at);
  return bytes;
}

function decodeAt(bytes: Buffer, start: number): Message {
  if (bytes.length < start + 3) throw new Error('message: truncated header');
  const flags = bytes[start]!;
  const topicLength = bytes.readUInt16BE(start + 1);
  let at = start + 3;
  if (at + topicLength > bytes.length) throw new Error('message: truncated topic');
  const message: Message = { topic: bytes.toString('utf8', at, at + topicLength), payload: EMPTY, qos: (flags & 3) as QoS, retain: (flags & RETAIN) !== 0 };
  at += topicLength;
  if (flags & HAS_EXPIRY) {
    message.expiresAt = bytes.readUIntBE(at, 6);
    at += 6;
  }
  if (flags & HAS_PROPERTIES) {
    const length = bytes.readUInt32BE(at);
    if (at + 4 + length > bytes.length) throw new Error('message: truncated properties');
    message.properties = JSON.parse(bytes.toString('utf8', at + 4, at + 4 + length), toBuffers) as Properties;
    at += 4 + length;
  }
  if (flags & HAS_ORIGIN) {
    const n = bytes[at] ?? 0;
    if (at + 7 + n > bytes.length) throw new Error('message: truncated origin');
    message.origin = { sender: bytes.toString('utf8', at + 1, at + 1 + n), seq: bytes.readUIntBE(at + 1 + n, 6) };
    at += 7 + n;
  }
  // A view, not a copy: the reply buffer belongs to this message alone.
  message.payload = bytes.subarray(at);
  return message;
}

const EMPTY = Buffer.alloc(0);

function withBuffers(this: Record<string, unknown>, key: string, value: unknown): unknown {
  const raw = this[key];
  return Buffer.isBuffer(raw) ? { $b: raw.toString('base64') } : value;
}

function toBuffers(_key: string, value: unknown): unknown {
  if (value !== null && typeof value === 'object' && '$b' in value && typeof (value as { $b: unknown }).$b === 'string') {
    return Buffer.from((value as { $b: string }).$b, 'base64');
  }
  return value;
}
