// The streaming parser: any chunking yields exactly the packets sent, in order; only the
// unfinished tail is kept; oversized or malformed lengths are rejected at the fixed header.
import { describe, expect, it } from 'vitest';
import { encode, PacketParser, ProtocolError, type Packet, type ProtocolVersion } from '../../../src/protocol/index.js';
import { int, mulberry32 } from '../../helpers/prng.js';
import { randomPacket } from '../../helpers/random-packets.js';
import { normalise } from './mqtt-packet-adapter.js';

function stream(seed: number, version: ProtocolVersion, count: number): { packets: Packet[]; bytes: Buffer } {
  const rng = mulberry32(seed);
  const packets: Packet[] = [];
  for (let i = 0; i < count; i++) {
    // CONNECT would switch the parser's version; keep one version per stream.
    const p = randomPacket(rng, version);
    if (p.cmd !== 'connect') packets.push(p);
  }
  return { packets, bytes: Buffer.concat(packets.map((p) => encode(p, version))) };
}

function parseChunks(chunks: Buffer[], version: ProtocolVersion): { packets: Packet[]; maxBuffered: number } {
  const parser = new PacketParser({ protocolVersion: version });
  const packets: Packet[] = [];
  let maxBuffered = 0;
  for (const c of chunks) {
    parser.parse(c, (p) => packets.push(normalise(p)));
    maxBuffered = Math.max(maxBuffered, parser.bufferedBytes);
  }
  expect(parser.bufferedBytes).toBe(0);
  return { packets, maxBuffered };
}

describe.each([3, 4, 5] as const)('PacketParser streaming, protocol level %i', (version) => {
  const { packets, bytes } = stream(42 + version, version, 120);
  const expected = packets.map(normalise);

  it('decodes dozens of packets from one chunk, in order', () => {
    expect(parseChunks([bytes], version).packets).toEqual(expected);
  });

  it('decodes the same stream fed one byte at a time, keeping only the unfinished tail', () => {
    const chunks = Array.from(bytes, (b) => Buffer.from([b]));
    const { packets: got, maxBuffered } = parseChunks(chunks, version);
    expect(got).toEqual(expected);
    const largest = Math.max(...packets.map((p) => encode(p, version).length));
    expect(maxBuffered).toBeLessThan(largest);
  });

  it('decodes a stream of many packets split in two at every byte boundary', () => {
    const small = stream(99 + version, version, 40);
    const want = small.packets.map(normalise);
    for (let at = 0; at <= small.bytes.length; at++) {
      const got = parseChunks([small.bytes.subarray(0, at), small.bytes.subarray(at)], version).packets;
      expect(got).toEqual(want);
    }
  });

  it('decodes the stream in random chunk sizes', () => {
    const rng = mulberry32(7);
    for (let round = 0; round < 50; round++) {
      const chunks: Buffer[] = [];
      for (let pos = 0; pos < bytes.length;) {
        const n = int(rng, 1, 300);
        chunks.push(bytes.subarray(pos, pos + n));
        pos += n;
      }
      expect(parseChunks(chunks, version).packets).toEqual(expected);
    }
  });
});

describe('PacketParser limits at the fixed header', () => {
  it('rejects a 100 MB packet over maxPacketSize after 10 bytes, before buffering the body [MQTT-3.2.2-15]', () => {
    const parser = new PacketParser({ maxPacketSize: 1024 * 1024 });
    const header = Buffer.from([0x30, 0x80, 0x80, 0x80, 0x30]); // Remaining Length 100,663,296
    const chunk = Buffer.concat([header, Buffer.alloc(5)]);
    let err: unknown;
    try { parser.parse(chunk, () => undefined); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(ProtocolError);
    expect((err as ProtocolError).reasonCode).toBe(0x95);
    expect(parser.bufferedBytes).toBeLessThanOrEqual(10);
  });

  it('rejects a 100 MB packet announced one byte at a time as soon as the length is read', () => {
    const parser = new PacketParser({ maxPacketSize: 1024 * 1024 });
    const bytes = [0x30, 0x80, 0x80, 0x80, 0x30];
    for (let i = 0; i < 4; i++) parser.parse(Buffer.from([bytes[i]]), () => undefined);
    expect(parser.bufferedBytes).toBe(4);
    expect(() => parser.parse(Buffer.from([bytes[4]]), () => undefined)).toThrow(expect.objectContaining({ reasonCode: 0x95 }));
  });

  it('buffers only what has arrived of a large allowed packet', () => {
    const parser = new PacketParser();
    parser.parse(Buffer.from([0x30, 0x80, 0x80, 0x80, 0x30, 0, 1, 0x61]), () => undefined);
    expect(parser.bufferedBytes).toBe(8);
  });

  it('rejects a Remaining Length longer than 4 bytes with 0x81 before the 5th byte arrives', () => {
    const parser = new PacketParser();
    expect(() => parser.parse(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff]), () => undefined))
      .toThrow(expect.objectContaining({ reasonCode: 0x81 }));
  });

  it('leaves forwarded payloads as views of the input chunk (no copy)', () => {
    const bytes = encode({ cmd: 'publish', topic: 't', payload: Buffer.from('payload'), qos: 0, retain: false, dup: false }, 4);
    let payload: Buffer | undefined;
    new PacketParser().parse(bytes, (p) => { if (p.cmd === 'publish') payload = p.payload; });
    expect(payload?.buffer).toBe(bytes.buffer);
    expect(payload?.byteOffset).toBe(bytes.byteOffset + bytes.length - 7);
  });

  it('sets protocolVersion from a decoded CONNECT', () => {
    const parser = new PacketParser();
    parser.parse(encode({ cmd: 'connect', protocolName: 'MQTT', protocolVersion: 5, clean: true, keepalive: 0, clientId: 'c' }, 5), () => undefined);
    expect(parser.protocolVersion).toBe(5);
  });
});
