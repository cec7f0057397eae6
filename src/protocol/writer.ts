// Sizes and writers for the encoder. Encoders compute the exact size first, allocate once,
// then write; these helpers keep that arithmetic in one place.

export const MAX_VARINT = 268_435_455;

export function varintLength(n: number): number {
  if (n < 128) return 1;
  if (n < 16_384) return 2;
  if (n < 2_097_152) return 3;
  if (n <= MAX_VARINT) return 4;
  throw new RangeError(`value ${n} exceeds the Variable Byte Integer maximum`);
}

export function writeVarint(buf: Buffer, pos: number, n: number): number {
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    buf[pos++] = b;
  } while (n > 0);
  return pos;
}

export function writeU16(buf: Buffer, pos: number, n: number): number {
  buf[pos] = n >>> 8;
  buf[pos + 1] = n & 0xff;
  return pos + 2;
}

export function writeU32(buf: Buffer, pos: number, n: number): number {
  buf.writeUInt32BE(n, pos);
  return pos + 4;
}

/** Byte length of a JS string as UTF-8, with a cheap path for short ASCII. */
export function utf8Length(s: string): number {
  const n = s.length;
  if (n < 64) {
    let i = 0;
    while (i < n && s.charCodeAt(i) < 0x80) i++;
    if (i === n) return n;
  }
  return Buffer.byteLength(s, 'utf8');
}

/** Node's unchecked string writer; @types/node does not declare it. */
interface FastWrite { utf8Write(s: string, offset: number, length: number): number }

/** Copies bytes into buf at pos; TypedArray.set avoids Buffer.copy's argument handling. */
export function writeBytes(buf: Buffer, pos: number, data: Buffer): number {
  buf.set(data, pos);
  return pos + data.length;
}

/** Writes a UTF-8 Encoded String (2-byte length + bytes) whose byte length is already known. */
export function writeUtf8(buf: Buffer, pos: number, s: string, byteLength: number): number {
  if (byteLength > 0xffff) throw new RangeError(`string of ${byteLength} bytes exceeds 65535`);
  pos = writeU16(buf, pos, byteLength);
  if (byteLength === s.length && byteLength < 16) {
    for (let i = 0; i < byteLength; i++) buf[pos + i] = s.charCodeAt(i);
  } else {
    (buf as unknown as FastWrite).utf8Write(s, pos, byteLength);
  }
  return pos + byteLength;
}

export function writeBinary(buf: Buffer, pos: number, data: Buffer): number {
  if (data.length > 0xffff) throw new RangeError(`binary data of ${data.length} bytes exceeds 65535`);
  return writeBytes(buf, writeU16(buf, pos, data.length), data);
}

/** Allocates a whole packet and writes its fixed header; the body starts at headerLength(remainingLength). */
export function allocPacket(firstByte: number, remainingLength: number): Buffer {
  const buf = allocFrame(1 + varintLength(remainingLength) + remainingLength);
  buf[0] = firstByte;
  writeVarint(buf, 1, remainingLength);
  return buf;
}

export function headerLength(remainingLength: number): number {
  return 1 + varintLength(remainingLength);
}

// Frames between 4 KiB (Node's own pool limit) and 64 KiB are carved from a shared 1 MiB slab:
// one ArrayBuffer per ~250 frames instead of one each, which keeps GC of external memory off
// the fan-out path. A frame pins its slab until released; frames are short-lived socket writes.
const SLAB_SIZE = 1024 * 1024;
const SLAB_MAX_FRAME = 64 * 1024;
let slab = Buffer.allocUnsafeSlow(0);
let slabOffset = 0;

/** An uninitialised Buffer for one outgoing frame. */
export function allocFrame(size: number): Buffer {
  if (size < 4096 || size > SLAB_MAX_FRAME) return Buffer.allocUnsafe(size);
  if (slabOffset + size > slab.length) {
    slab = Buffer.allocUnsafeSlow(SLAB_SIZE);
    slabOffset = 0;
  }
  const frame = slab.subarray(slabOffset, slabOffset + size);
  slabOffset = (slabOffset + size + 7) & ~7;
  return frame;
}
