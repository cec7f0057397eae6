// Fixed-header flag rules per protocol level: 3.1.1 and 5.0 reserve the flags of every packet but
// PUBLISH [v3:MQTT-2.2.2-1, v3:MQTT-2.2.2-2; v5:MQTT-2.1.3-1]; MQTT 3.1 uses DUP and QoS on
// PUBREL/SUBSCRIBE/UNSUBSCRIBE (a resend sets DUP: 0x6A, 0x8A, 0xAA) and leaves them unused elsewhere.
import { describe, expect, it } from 'vitest';
import { PacketParser, ProtocolError, type Packet, type ProtocolVersion } from '../../../src/protocol/index.js';

/** A frame: first byte, Remaining Length (< 128), body. */
const frame = (first: number, body: number[]): Buffer => Buffer.from([first, body.length, ...body]);

const ID = [0x01, 0x02]; // packet id 258
const SUB_BODY = [...ID, 0, 1, 0x61, 1]; // filter 'a', QoS 1
const UNSUB_BODY = [...ID, 0, 1, 0x61];

function parse(bytes: Buffer, version: ProtocolVersion): Packet[] {
  const out: Packet[] = [];
  new PacketParser({ protocolVersion: version }).parse(bytes, (p) => out.push(p));
  return out;
}

function violation(bytes: Buffer, version: ProtocolVersion): { specId: string; reasonCode: number } {
  try {
    parse(bytes, version);
  } catch (err) {
    expect(err).toBeInstanceOf(ProtocolError);
    return { specId: (err as ProtocolError).specId, reasonCode: (err as ProtocolError).reasonCode };
  }
  throw new Error('expected a ProtocolError');
}

/** name, type nibble, the flags 3.1.1/5.0 require, a body (v3.1.x form, valid in 5.0 too). */
const PACKETS: Array<[string, number, number, number[], string]> = [
  ['PUBACK', 4, 0, ID, ''],
  ['PUBREC', 5, 0, ID, ''],
  ['PUBREL', 6, 2, ID, 'MQTT-3.6.1-1'],
  ['PUBCOMP', 7, 0, ID, ''],
  ['SUBSCRIBE', 8, 2, SUB_BODY, 'MQTT-3.8.1-1'],
  ['UNSUBSCRIBE', 10, 2, UNSUB_BODY, 'MQTT-3.10.1-1'],
  ['PINGREQ', 12, 0, [], ''],
  ['DISCONNECT', 14, 0, [], ''],
];

describe('MQTT 3.1 (level 3): DUP and QoS are fields, not reserved bits', () => {
  it.each([
    ['PUBREL resent (DUP, QoS 1)', 0x6a, ID, { cmd: 'pubrel', messageId: 258 }],
    ['SUBSCRIBE resent (DUP, QoS 1)', 0x8a, SUB_BODY, { cmd: 'subscribe', messageId: 258 }],
    ['UNSUBSCRIBE resent (DUP, QoS 1)', 0xaa, UNSUB_BODY, { cmd: 'unsubscribe', messageId: 258 }],
    ['PUBREL with the flags the pre-3.1 IBM documents leave unused (0000)', 0x60, ID, { cmd: 'pubrel', messageId: 258 }],
    ['SUBSCRIBE with QoS 0 in its header', 0x80, SUB_BODY, { cmd: 'subscribe', messageId: 258 }],
    ['PUBACK with flags set ("not used" in 3.1)', 0x4f, ID, { cmd: 'puback', messageId: 258 }],
    ['PUBREC with DUP set', 0x58, ID, { cmd: 'pubrec', messageId: 258 }],
    ['PUBCOMP with QoS 1 set', 0x72, ID, { cmd: 'pubcomp', messageId: 258 }],
    ['PINGREQ with RETAIN set', 0xc1, [], { cmd: 'pingreq' }],
    ['DISCONNECT with flags set', 0xe2, [], { cmd: 'disconnect' }],
  ])('accepts %s', (_name, first, body, packet) => {
    expect(parse(frame(first, body), 3)).toMatchObject([packet]);
  });

  it('keeps the PUBLISH rules: QoS 3 and DUP on QoS 0 are malformed [MQTT-3.3.1-4, MQTT-3.3.1-2]', () => {
    expect(violation(frame(0x36, [0, 1, 0x61, ...ID]), 3)).toEqual({ specId: 'MQTT-3.3.1-4', reasonCode: 0x81 });
    expect(violation(frame(0x38, [0, 1, 0x61]), 3)).toEqual({ specId: 'MQTT-3.3.1-2', reasonCode: 0x81 });
  });

  it('keeps the fixed Remaining Lengths of 3.1 packets (PUBREL is 2 bytes) §2.2.3', () => {
    expect(violation(frame(0x6a, [...ID, 0]), 3)).toEqual({ specId: 'MQTT-2.2.3', reasonCode: 0x81 });
  });
});

describe.each([4, 5] as const)('level %i: the reserved flags must have the value in the table', (version) => {
  /** v5 SUBSCRIBE/UNSUBSCRIBE carry a Property Length after the packet id. */
  const bodyOf = (type: number, body: number[]): number[] => (version === 5 && (type === 8 || type === 10) ? [...ID, 0, ...body.slice(2)] : body);

  it.each(PACKETS)('%s with its required flags is accepted', (_name, type, required, body) => {
    expect(parse(frame((type << 4) | required, bodyOf(type, body)), version)).toHaveLength(1);
  });

  it.each(PACKETS)('%s with DUP set is malformed, and so is every other wrong nibble', (_name, type, required, raw, specId) => {
    const body = bodyOf(type, raw);
    const expected = { specId: specId !== '' ? specId : version === 5 ? 'v5:MQTT-2.1.3-1' : 'v3:MQTT-2.2.2-1', reasonCode: 0x81 };
    for (let flags = 0; flags < 16; flags++) {
      if (flags === required) continue;
      expect(violation(frame((type << 4) | flags, body), version), `flags ${flags.toString(2).padStart(4, '0')}`).toEqual(expected);
    }
  });
});

describe('the level comes from CONNECT: the same bytes after a 3.1 CONNECT and after a 3.1.1 one', () => {
  const connect = (name: string, level: number): number[] => {
    const body = [0, name.length, ...Buffer.from(name), level, 0x02, 0, 60, 0, 1, 0x63];
    return [0x10, body.length, ...body];
  };
  const pubrelDup = [0x6a, 2, ...ID];

  it('MQIsdp level 3, then PUBREL with DUP: accepted', () => {
    const parser = new PacketParser();
    const out: Packet[] = [];
    parser.parse(Buffer.from([...connect('MQIsdp', 3), ...pubrelDup]), (p) => out.push(p));
    expect(out.map((p) => p.cmd)).toEqual(['connect', 'pubrel']);
  });

  it('MQTT level 4, then PUBREL with DUP: malformed [MQTT-3.6.1-1]', () => {
    const parser = new PacketParser();
    expect(() => parser.parse(Buffer.from([...connect('MQTT', 4), ...pubrelDup]), () => undefined)).toThrow(/MQTT-3\.6\.1-1/);
  });
});

describe('CONNECT flags are judged by the level the CONNECT itself announces', () => {
  const connect = (first: number, name: string, level: number): Buffer => frame(first, [0, name.length, ...Buffer.from(name), level, 0x02, 0, 0, ...(level === 5 ? [0] : []), 0, 1, 0x63]);

  it('a 3.1 CONNECT with header flags set (unused in 3.1) is accepted', () => {
    expect(parse(connect(0x12, 'MQIsdp', 3), 4)).toMatchObject([{ cmd: 'connect', protocolVersion: 3, clientId: 'c' }]);
  });

  it.each([
    [4, 'v3:MQTT-2.2.2-1'],
    [5, 'v5:MQTT-2.1.3-1'],
  ] as const)('a level %i CONNECT with header flags set is malformed, and says its level', (level, specId) => {
    try {
      parse(connect(0x12, 'MQTT', level), 4);
      throw new Error('expected a ProtocolError');
    } catch (err) {
      expect(err).toBeInstanceOf(ProtocolError);
      expect(err).toMatchObject({ specId, reasonCode: 0x81, connectVersion: level });
    }
  });
});
