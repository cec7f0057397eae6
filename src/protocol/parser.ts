// The streaming parser: the only stateful piece of the codec. It finds whole frames first
// (fixed header + Remaining Length, size limits checked at the header, before the body is
// buffered), then decodes each frame from a complete buffer.
//
// Buffer ownership: a frame that lies wholly inside a chunk is decoded in place, so PUBLISH
// payloads are views of the caller's chunk. Socket 'data' chunks are fresh Buffers, so a
// consumer may keep a payload past the callback. A frame split across chunks is assembled into
// a new Buffer owned by the parser and never reused. Between chunks only the unfinished tail
// is kept, copied out of the chunk unless it is the whole chunk.
//
// Memory: a parser is one per connection, so an idle one holds no buffers or arrays (the tail
// list exists only while a frame is unfinished) and all parsers share one PacketReader (a
// frame is decoded wholly before its packet is handed on, so it is never used re-entrantly).
import { decodeBody } from './decode.js';
import { MALFORMED, PACKET_TOO_LARGE, ProtocolError, SPEC_VARIABLE_BYTE_INTEGER } from './errors.js';
import { checkFixedHeader } from './fixed-header.js';
import { PacketReader } from './reader.js';
import type { Packet, ProtocolVersion } from './types.js';

export const DEFAULT_MAX_PACKET_SIZE = 268_435_455 + 5;

export interface PacketParserOptions {
  maxPacketSize?: number;
  protocolVersion?: ProtocolVersion;
}

const HEADER_INCOMPLETE = -1;

/** Shared by every parser: see the note on memory above. */
const sharedReader = new PacketReader();

/** Receives each decoded packet; `this` is the `self` given to parse(). */
export type PacketHandler<T> = (this: T, packet: Packet) => void;

export class PacketParser {
  protocolVersion: ProtocolVersion;
  maxPacketSize: number;
  /** Unfinished frame carried over from earlier chunks (null when there is none). */
  private tail: Buffer[] | null = null;
  private tailBytes = 0;
  /** Whole length of the carried frame, once its header has been read. */
  private tailFrameLength = HEADER_INCOMPLETE;
  // Set by readHeader (fields, not a returned object, to keep the hot path allocation-free).
  private headerLength = 0;
  private remainingLength = 0;

  constructor(opts: PacketParserOptions = {}) {
    this.maxPacketSize = opts.maxPacketSize ?? DEFAULT_MAX_PACKET_SIZE;
    this.protocolVersion = opts.protocolVersion ?? 4;
  }

  get bufferedBytes(): number {
    return this.tailBytes;
  }

  /**
   * Decodes every whole frame of chunk, calling onPacket with `this` = self for each, and keeps
   * the unfinished rest. A shared function with self avoids a closure per connection.
   */
  parse<T = undefined>(chunk: Buffer, onPacket: PacketHandler<T>, self?: T): void {
    let offset = 0;
    if (this.tail !== null) {
      offset = this.completeTail(chunk, onPacket, self as T);
      if (offset < 0) return;
    }
    const end = chunk.length;
    while (offset < end) {
      if (!this.readHeader(chunk, offset, end)) break;
      const frameEnd = offset + this.headerLength + this.remainingLength;
      if (frameEnd > end) break;
      this.decodeFrame(chunk, offset, frameEnd, onPacket, self as T);
      offset = frameEnd;
    }
    if (offset < end) this.keepTail(chunk, offset);
  }

  private keepTail(chunk: Buffer, offset: number): void {
    const part = offset === 0 ? chunk : Buffer.from(chunk.subarray(offset));
    this.tail = [part];
    this.tailBytes += part.length;
    if (this.readHeader(part, 0, part.length)) this.tailFrameLength = this.headerLength + this.remainingLength;
  }

  /** Feeds chunk to the carried frame; returns where the frame ended in chunk, or -1 if it has not. */
  private completeTail<T>(chunk: Buffer, onPacket: PacketHandler<T>, self: T): number {
    const tail = this.tail as Buffer[];
    if (this.tailFrameLength === HEADER_INCOMPLETE) {
      // The carried bytes are under 5 (an incomplete header); join just enough to read it.
      const head = Buffer.concat([...tail, chunk.subarray(0, 5)]);
      if (!this.readHeader(head, 0, head.length)) {
        tail.push(Buffer.from(chunk));
        this.tailBytes += chunk.length;
        return -1;
      }
      this.tailFrameLength = this.headerLength + this.remainingLength;
    }
    const fromChunk = this.tailFrameLength - this.tailBytes;
    if (chunk.length < fromChunk) {
      tail.push(chunk);
      this.tailBytes += chunk.length;
      return -1;
    }
    tail.push(chunk.subarray(0, fromChunk));
    const frame = Buffer.concat(tail, this.tailFrameLength);
    this.tail = null;
    this.tailBytes = 0;
    this.tailFrameLength = HEADER_INCOMPLETE;
    this.readHeader(frame, 0, frame.length);
    this.decodeFrame(frame, 0, frame.length, onPacket, self);
    return fromChunk;
  }

  /**
   * Reads the fixed header at buf[offset]; false when it is not complete yet. Throws as soon as
   * the header shows a violation: a 5th length byte, a size over the maximum, bad type or flags.
   */
  private readHeader(buf: Buffer, offset: number, end: number): boolean {
    let value = 0;
    let multiplier = 1;
    let pos = offset + 1;
    for (let i = 0; ; i++) {
      if (pos >= end) return false;
      const b = buf[pos++];
      value += (b & 0x7f) * multiplier;
      if ((b & 0x80) === 0) {
        // 5.0 requires the shortest encoding [MQTT-1.5.5-1]; 3.1.1 does not say so, and we accept it there.
        if (b === 0 && i > 0 && this.protocolVersion === 5) {
          throw new ProtocolError('Remaining Length is not minimally encoded', 'MQTT-1.5.5-1', MALFORMED);
        }
        break;
      }
      if (i === 3) throw new ProtocolError('Remaining Length longer than 4 bytes', SPEC_VARIABLE_BYTE_INTEGER, MALFORMED);
      multiplier *= 128;
    }
    const headerLength = pos - offset;
    if (headerLength + value > this.maxPacketSize) {
      throw new ProtocolError(`packet of ${headerLength + value} bytes exceeds the maximum of ${this.maxPacketSize}`, 'MQTT-3.2.2-15', PACKET_TOO_LARGE);
    }
    checkFixedHeader(buf[offset], value, this.protocolVersion);
    this.headerLength = headerLength;
    this.remainingLength = value;
    return true;
  }

  private decodeFrame<T>(buf: Buffer, start: number, end: number, onPacket: PacketHandler<T>, self: T): void {
    const r = sharedReader.reset(buf, start + this.headerLength, end);
    let packet: Packet;
    try {
      packet = decodeBody(buf[start], r, this.protocolVersion);
    } finally {
      r.buf = EMPTY; // do not pin the chunk from the shared reader
    }
    if (packet.cmd === 'connect') this.protocolVersion = packet.protocolVersion;
    onPacket.call(self, packet);
  }
}

const EMPTY = Buffer.alloc(0);
