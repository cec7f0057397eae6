// A cursor over one complete packet body. Every read names its field so an error says what was
// wrong ("packet identifier truncated"), like NATS's mqttReader. One instance is reused by the
// parser (reset per packet), so the hot path allocates no reader objects.
import { MALFORMED, PROTOCOL_ERROR, ProtocolError, SPEC_REMAINING_LENGTH, SPEC_VARIABLE_BYTE_INTEGER } from './errors.js';
import { decodeUtf8 } from './utf8.js';

export class PacketReader {
  buf: Buffer = Buffer.alloc(0);
  pos = 0;
  end = 0;

  reset(buf: Buffer, pos: number, end: number): this {
    this.buf = buf;
    this.pos = pos;
    this.end = end;
    return this;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  private need(n: number, field: string): void {
    if (this.end - this.pos < n) {
      throw new ProtocolError(`${field} truncated: Remaining Length too short`, SPEC_REMAINING_LENGTH, MALFORMED);
    }
  }

  u8(field: string): number {
    this.need(1, field);
    return this.buf[this.pos++];
  }

  u16(field: string): number {
    this.need(2, field);
    const v = (this.buf[this.pos] << 8) | this.buf[this.pos + 1];
    this.pos += 2;
    return v;
  }

  u32(field: string): number {
    this.need(4, field);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  /** Non-zero packet identifier [MQTT-2.3.1-1]. */
  packetId(): number {
    const id = this.u16('packet identifier');
    if (id === 0) throw new ProtocolError('packet identifier is 0', 'MQTT-2.3.1-1', PROTOCOL_ERROR);
    return id;
  }

  /** Variable Byte Integer: at most 4 bytes, minimal encoding [MQTT-1.5.5-1]. */
  varint(field: string): number {
    let value = 0;
    let multiplier = 1;
    for (let i = 0; i < 4; i++) {
      const b = this.u8(field);
      value += (b & 0x7f) * multiplier;
      if ((b & 0x80) === 0) {
        if (b === 0 && i > 0) throw new ProtocolError(`${field} is not minimally encoded`, 'MQTT-1.5.5-1', MALFORMED);
        return value;
      }
      multiplier *= 128;
    }
    throw new ProtocolError(`${field} longer than 4 bytes`, SPEC_VARIABLE_BYTE_INTEGER, MALFORMED);
  }

  /** UTF-8 Encoded String: 2-byte length then checked UTF-8 [MQTT-1.5.3-1, MQTT-1.5.3-2]. */
  utf8(field: string): string {
    const len = this.u16(field);
    this.need(len, field);
    const start = this.pos;
    this.pos += len;
    return decodeUtf8(this.buf, start, this.pos, field);
  }

  /** Binary Data: 2-byte length then bytes, returned as a view (no copy). */
  binary(field: string): Buffer {
    const len = this.u16(field);
    this.need(len, field);
    const start = this.pos;
    this.pos += len;
    return this.buf.subarray(start, this.pos);
  }

  /** The rest of the packet as a view (PUBLISH payload). */
  rest(): Buffer {
    const view = this.buf.subarray(this.pos, this.end);
    this.pos = this.end;
    return view;
  }

  /** The content must end exactly where Remaining Length says. */
  expectEnd(packetName: string): void {
    if (this.pos !== this.end) {
      throw new ProtocolError(`${packetName} has ${this.end - this.pos} bytes beyond its content`, SPEC_REMAINING_LENGTH, MALFORMED);
    }
  }
}
