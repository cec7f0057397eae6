// Every bench message starts with a small binary header so the receiver can tell who sent it,
// which message it is (for lost/duplicate accounting) and when (for end-to-end latency).
// The timestamp is wall-clock milliseconds (timeOrigin + now), comparable across processes on one host.

export const HEADER_BYTES = 16;

export interface MessageHeader {
  publisherId: number;
  seq: number;
  sentAtMs: number;
}

export function wallClockMs(): number {
  return performance.timeOrigin + performance.now();
}

/** Fills a payload of `size` bytes (at least HEADER_BYTES) with the header followed by zeros. */
export function encodePayload(header: MessageHeader, size: number): Buffer {
  const buf = Buffer.alloc(Math.max(size, HEADER_BYTES));
  buf.writeUInt32BE(header.publisherId, 0);
  buf.writeUInt32BE(header.seq, 4);
  buf.writeDoubleBE(header.sentAtMs, 8);
  return buf;
}

/** Returns undefined when the payload is too short to be one of ours. */
export function decodePayload(payload: Uint8Array): MessageHeader | undefined {
  if (payload.length < HEADER_BYTES) return undefined;
  const buf = Buffer.isBuffer(payload) ? payload : Buffer.from(payload.buffer, payload.byteOffset, payload.length);
  return { publisherId: buf.readUInt32BE(0), seq: buf.readUInt32BE(4), sentAtMs: buf.readDoubleBE(8) };
}
