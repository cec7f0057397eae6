// Every spec violation the codec must catch, each as raw bytes -> ProtocolError(specId, reasonCode).
import { describe, expect, it } from 'vitest';
import { PacketParser, ProtocolError, UnsupportedProtocolVersionError, type ProtocolVersion } from '../../../src/protocol/index.js';

/** Fixed header byte + body with a correct Remaining Length (< 128). */
function pkt(first: number, ...body: Array<number | number[] | string>): Buffer {
  const bytes: number[] = [];
  for (const part of body) {
    if (typeof part === 'number') bytes.push(part);
    else if (typeof part === 'string') { const b = Buffer.from(part, 'utf8'); bytes.push(b.length >> 8, b.length & 0xff, ...b); }
    else bytes.push(...part);
  }
  return Buffer.from([first, bytes.length, ...bytes]);
}

function violation(bytes: Buffer, version: ProtocolVersion): ProtocolError {
  try {
    new PacketParser({ protocolVersion: version }).parse(bytes, () => undefined);
  } catch (e) {
    expect(e).toBeInstanceOf(ProtocolError);
    return e as ProtocolError;
  }
  throw new Error('expected a ProtocolError');
}

function expectViolation(bytes: Buffer, version: ProtocolVersion, specId: string, reasonCode: number): void {
  const err = violation(bytes, version);
  expect({ specId: err.specId, reasonCode: err.reasonCode }).toEqual({ specId, reasonCode });
}

function accepts(bytes: Buffer, version: ProtocolVersion): unknown[] {
  const out: unknown[] = [];
  new PacketParser({ protocolVersion: version }).parse(bytes, (p) => out.push(p));
  return out;
}

const connect = (level: number, flags: number, ...rest: Array<number | number[] | string>): Buffer =>
  pkt(0x10, 'MQTT', level, flags, 0, 60, ...(level === 5 ? [0] : []), ...rest);

describe('fixed header', () => {
  it.each([
    ['PUBREL', 0x60, 'MQTT-3.6.1-1'], ['SUBSCRIBE', 0x80, 'MQTT-3.8.1-1'], ['UNSUBSCRIBE', 0xa0, 'MQTT-3.10.1-1'],
  ])('%s flags must be 0010 [%s]', (_name, first, specId) => {
    expectViolation(pkt(first as number, 0, 1, 'a', 0), 4, specId as string, 0x81);
  });

  it.each([0x21, 0x41, 0x58, 0xc1, 0xd2, 0xe4])('reserved flags 0x%s must be 0000 [v3:MQTT-2.2.2-1] [v3:MQTT-2.2.2-2]', (first) => {
    expectViolation(pkt(first, 0, 1), 4, 'v3:MQTT-2.2.2-1', 0x81);
  });

  it('packet type 0 is reserved', () => {
    expectViolation(pkt(0x00), 4, 'MQTT-2.2.1', 0x81);
  });

  it('AUTH with fixed-header flags set is malformed [MQTT-3.15.1-1]', () => {
    expectViolation(pkt(0xf1), 5, 'v5:MQTT-2.1.3-1', 0x81);
    expectViolation(pkt(0xf8, 0x18, 0), 5, 'v5:MQTT-2.1.3-1', 0x81);
  });

  it('AUTH carries only an Authenticate Reason Code (0x00, 0x18, 0x19) [MQTT-3.15.2-1]', () => {
    expect(accepts(pkt(0xf0, 0x18, 0), 5)).toEqual([{ cmd: 'auth', reasonCode: 0x18 }]);
    expectViolation(pkt(0xf0, 0x87, 0), 5, 'MQTT-3.15.2-1', 0x82);
    expectViolation(pkt(0xf0, 0x01, 0), 5, 'MQTT-3.15.2-1', 0x82);
  });

  it('packet type 15 (AUTH) only exists in v5', () => {
    expectViolation(pkt(0xf0), 4, 'MQTT-2.2.1', 0x81);
    expect(accepts(pkt(0xf0), 5)).toEqual([{ cmd: 'auth', reasonCode: 0 }]);
  });

  it('v3.1.1 fixed-size packets with the wrong Remaining Length are rejected at the header', () => {
    expectViolation(pkt(0x40, 0, 1, 0), 4, 'MQTT-2.2.3', 0x81);
    expectViolation(pkt(0xc0, 0), 4, 'MQTT-2.2.3', 0x81);
  });
});

describe('UTF-8 strings', () => {
  const publishWithTopic = (topic: number[]) => pkt(0x30, topic.length >> 8, topic.length, ...topic);
  it.each([
    ['lone continuation byte', [0x61, 0x80]],
    ['overlong encoding of /', [0xc0, 0xaf]],
    ['UTF-16 surrogate U+D800', [0xed, 0xa0, 0x80]],
    ['code point above U+10FFFF', [0xf4, 0x90, 0x80, 0x80]],
    ['truncated sequence', [0x61, 0xe6, 0x97]],
  ])('ill-formed UTF-8 (%s) is rejected [MQTT-1.5.3-1]', (_name, bytes) => {
    expectViolation(publishWithTopic(bytes as number[]), 4, 'MQTT-1.5.3-1', 0x81);
  });

  it('U+0000 is rejected in ASCII and non-ASCII strings [MQTT-1.5.3-2]', () => {
    expectViolation(publishWithTopic([0x61, 0x00]), 4, 'MQTT-1.5.3-2', 0x81);
    expectViolation(publishWithTopic([0xc3, 0xa9, 0x00]), 4, 'MQTT-1.5.3-2', 0x81);
  });

  it('well-formed multi-byte UTF-8 is accepted', () => {
    expect(accepts(publishWithTopic([...Buffer.from('日本/é😀')]), 4)).toHaveLength(1);
  });
});

describe('PUBLISH', () => {
  it.each(['a/+', '#', 'a/#'])('wildcard in topic name %s is rejected [MQTT-3.3.2-2]', (topic) => {
    expectViolation(pkt(0x30, topic), 4, 'MQTT-3.3.2-2', 0x90);
  });
  it('empty topic name is rejected in v3.1.1 [MQTT-4.7.3-1]', () => {
    expectViolation(pkt(0x30, ''), 4, 'MQTT-4.7.3-1', 0x90);
  });
  it('empty topic name is accepted in v5 with a Topic Alias', () => {
    expect(accepts(pkt(0x30, '', 3, 0x23, 0, 1), 5)).toHaveLength(1);
    expectViolation(pkt(0x30, '', 0), 5, 'MQTT-4.7.3-1', 0x90);
  });
  it('QoS 3 is rejected [MQTT-3.3.1-4]', () => {
    expectViolation(pkt(0x36, 'a', 0, 1), 4, 'MQTT-3.3.1-4', 0x81);
  });
  it('DUP on QoS 0 is rejected [MQTT-3.3.1-2]', () => {
    expectViolation(pkt(0x38, 'a'), 4, 'MQTT-3.3.1-2', 0x81);
  });
  it('packet identifier 0 is rejected [MQTT-2.3.1-1]', () => {
    expectViolation(pkt(0x32, 'a', 0, 0), 4, 'MQTT-2.3.1-1', 0x82);
  });
  it('Topic Alias 0 is rejected [MQTT-3.3.2-8]', () => {
    expectViolation(pkt(0x30, 'a', 3, 0x23, 0, 0), 5, 'MQTT-3.3.2-8', 0x94);
  });
  it('subscription identifier 0 is a protocol error', () => {
    expectViolation(pkt(0x30, 'a', 2, 0x0b, 0), 5, 'MQTT-3.8.2.1.2', 0x82);
  });
  it('several subscription identifiers are allowed in PUBLISH', () => {
    expect(accepts(pkt(0x30, 'a', 4, 0x0b, 1, 0x0b, 2), 5)).toMatchObject([{ properties: { subscriptionIdentifiers: [1, 2] } }]);
  });
  it('a topic truncated by the Remaining Length is malformed', () => {
    expectViolation(Buffer.from([0x30, 3, 0, 5, 0x61]), 4, 'MQTT-2.2.3', 0x81);
  });
});

describe('v5 properties', () => {
  it('unknown property identifier is malformed', () => {
    expectViolation(pkt(0x30, 'a', 2, 0x7f, 0), 5, 'MQTT-2.2.2.2', 0x81);
  });
  it('property not allowed in the packet type is malformed (session expiry in PUBLISH)', () => {
    expectViolation(pkt(0x30, 'a', 5, 0x11, 0, 0, 0, 1), 5, 'MQTT-2.2.2.2', 0x81);
  });
  it('duplicated property is a protocol error', () => {
    expectViolation(pkt(0x30, 'a', 4, 0x01, 0, 0x01, 1), 5, 'MQTT-2.2.2.2', 0x82);
  });
  it('user property may repeat, in order', () => {
    const up = [0x26, 0, 1, 0x6b, 0, 1, 0x31, 0x26, 0, 1, 0x6b, 0, 1, 0x32];
    expect(accepts(pkt(0x30, 'a', up.length, ...up), 5)).toMatchObject([{ properties: { userProperties: [['k', '1'], ['k', '2']] } }]);
  });
  it('property length running past the packet is malformed', () => {
    expectViolation(pkt(0x30, 'a', 9, 0x01, 0), 5, 'MQTT-2.2.2.2', 0x81);
  });
  it('a property value running past the property section is malformed', () => {
    expectViolation(pkt(0x30, 'a', 2, 0x02, 0, 0, 0), 5, 'MQTT-2.2.3', 0x81);
  });
});

describe('CONNECT', () => {
  it('bad protocol name is rejected [MQTT-3.1.2-1]', () => {
    expectViolation(pkt(0x10, 'MQTX', 4, 2, 0, 60, 'c'), 4, 'MQTT-3.1.2-1', 0x84);
  });
  it.each([2, 6, 0x83])('unsupported protocol level %i is a distinct error [MQTT-3.1.2-2]', (level) => {
    const err = violation(pkt(0x10, 'MQTT', level, 2, 0, 60, 'c'), 4);
    expect(err).toBeInstanceOf(UnsupportedProtocolVersionError);
    expect([err.specId, err.reasonCode]).toEqual(['MQTT-3.1.2-2', 0x84]);
  });
  it('MQIsdp is accepted only at level 3', () => {
    expect(accepts(pkt(0x10, 'MQIsdp', 3, 2, 0, 60, 'c'), 4)).toMatchObject([{ protocolName: 'MQIsdp', protocolVersion: 3 }]);
    expect(violation(pkt(0x10, 'MQIsdp', 4, 2, 0, 60, 'c'), 4)).toBeInstanceOf(UnsupportedProtocolVersionError);
  });
  it('reserved connect flag is rejected [MQTT-3.1.2-3]', () => {
    expectViolation(connect(4, 0x03, 'c'), 4, 'MQTT-3.1.2-3', 0x81);
  });
  it('will QoS without will flag is rejected [v3:MQTT-3.1.2-13]', () => {
    expectViolation(connect(4, 0x0a, 'c'), 4, 'v3:MQTT-3.1.2-13 v5:MQTT-3.1.2-11', 0x81);
  });
  it('will retain without will flag is rejected [v3:MQTT-3.1.2-15]', () => {
    expectViolation(connect(4, 0x22, 'c'), 4, 'v3:MQTT-3.1.2-15 v5:MQTT-3.1.2-13', 0x81);
  });
  it('will QoS 3 is rejected [v3:MQTT-3.1.2-14]', () => {
    expectViolation(connect(4, 0x1e, 'c', 'w', 'p'), 4, 'v3:MQTT-3.1.2-14 v5:MQTT-3.1.2-12', 0x81);
  });
  it('password without user name is rejected in 3.1.1 [v3:MQTT-3.1.2-22] but allowed in v5', () => {
    expectViolation(connect(4, 0x42, 'c', 'pw'), 4, 'v3:MQTT-3.1.2-22', 0x81);
    expect(accepts(connect(5, 0x42, 'c', 'pw'), 5)).toMatchObject([{ password: Buffer.from('pw') }]);
  });
  it('wildcard in will topic is rejected [MQTT-3.3.2-2]', () => {
    expectViolation(connect(4, 0x06, 'c', 'w/#', 'p'), 4, 'MQTT-3.3.2-2', 0x90);
  });
  it('trailing bytes after the payload are malformed', () => {
    expectViolation(connect(4, 0x02, 'c', 0), 4, 'MQTT-2.2.3', 0x81);
  });
});

describe('SUBSCRIBE / UNSUBSCRIBE', () => {
  it('SUBSCRIBE without subscriptions is rejected [v3:MQTT-3.8.3-3]', () => {
    expectViolation(pkt(0x82, 0, 1), 4, 'v3:MQTT-3.8.3-3 v5:MQTT-3.8.3-2', 0x82);
  });
  it('UNSUBSCRIBE without topic filters is rejected [MQTT-3.10.3-2]', () => {
    expectViolation(pkt(0xa2, 0, 1), 4, 'MQTT-3.10.3-2', 0x82);
  });
  it('reserved subscription option bits are rejected [MQTT-3.8.3-5]', () => {
    expectViolation(pkt(0x82, 0, 1, 'a', 0x04), 4, 'MQTT-3.8.3-5', 0x81);
    expectViolation(pkt(0x82, 0, 1, 0, 'a', 0x40), 5, 'MQTT-3.8.3-5', 0x81);
  });
  it('QoS 3 in SUBSCRIBE is rejected [v3:MQTT-3.8.3-4]', () => {
    expectViolation(pkt(0x82, 0, 1, 'a', 3), 4, 'v3:MQTT-3.8.3-4', 0x81);
  });
  it('retain handling 3 is a protocol error (5.0 §3.8.3.1)', () => {
    expectViolation(pkt(0x82, 0, 1, 0, 'a', 0x30), 5, 'MQTT-3.8.3.1', 0x82);
  });
  it('No Local on a shared subscription is a protocol error [v5:MQTT-3.8.3-4]', () => {
    expectViolation(pkt(0x82, 0, 1, 0, '$share/g/a', 0x04), 5, 'v5:MQTT-3.8.3-4', 0x82);
  });
  it('packet identifier 0 is rejected [MQTT-2.3.1-1]', () => {
    expectViolation(pkt(0x82, 0, 0, 'a', 0), 4, 'MQTT-2.3.1-1', 0x82);
  });
  // A well-formed string that breaks the filter rules is not a malformed packet: the codec keeps it
  // and the broker answers it per filter (v5 SUBACK/UNSUBACK 0x8F) or closes (v3.1.1).
  it.each([
    ["'#' not last or not alone in its level (§4.7.1.2)", 'a/#/b'],
    ["'#' not alone in its level (§4.7.1.2)", 'a#'],
    ["'+' not a whole level (§4.7.1.3)", 'a+/b'],
    ['an empty topic filter (§4.7.3)', ''],
  ])('SUBSCRIBE/UNSUBSCRIBE keep %s for the broker to judge', (_name, filter) => {
    for (const version of [4, 5] as const) {
      const props = version === 5 ? [0] : [];
      expect(accepts(pkt(0x82, 0, 1, ...props, filter, 0, 'ok', 1), version)).toMatchObject([{ subscriptions: [{ topic: filter }, { topic: 'ok' }] }]);
      expect(accepts(pkt(0xa2, 0, 1, ...props, filter, 'ok'), version)).toMatchObject([{ unsubscriptions: [filter, 'ok'] }]);
    }
  });
  it('a topic filter that is not well-formed UTF-8 or contains U+0000 is still malformed [MQTT-1.5.3-1] [MQTT-1.5.3-2] [v5:MQTT-1.5.4-1] [v5:MQTT-1.5.4-2]', () => {
    expectViolation(pkt(0x82, 0, 1, 0, [0, 2, 0xc3, 0x28], 0), 5, 'MQTT-1.5.3-1', 0x81);
    expectViolation(pkt(0xa2, 0, 1, 0, [0, 3, 0x61, 0x00, 0x62]), 5, 'MQTT-1.5.3-2', 0x81);
  });
  it('subscription identifier 0 and repeats in SUBSCRIBE are protocol errors', () => {
    expectViolation(pkt(0x82, 0, 1, 2, 0x0b, 0, 'a', 0), 5, 'MQTT-3.8.2.1.2', 0x82);
    expectViolation(pkt(0x82, 0, 1, 4, 0x0b, 1, 0x0b, 2, 'a', 0), 5, 'MQTT-2.2.2.2', 0x82);
  });
});

describe('Variable Byte Integers and lengths', () => {
  it('a non-minimal Remaining Length is malformed in v5 [MQTT-1.5.5-1] and accepted in 3.1.1', () => {
    const bytes = Buffer.from([0xc0, 0x80, 0x00]);
    expectViolation(bytes, 5, 'MQTT-1.5.5-1', 0x81);
    expect(accepts(bytes, 4)).toEqual([{ cmd: 'pingreq' }]);
  });
  it('a non-minimal property length varint is malformed [MQTT-1.5.5-1]', () => {
    expectViolation(pkt(0x30, 'a', 0x80, 0x00), 5, 'MQTT-1.5.5-1', 0x81);
  });
  it('trailing bytes after a PUBACK are malformed (v5)', () => {
    expectViolation(pkt(0x40, 0, 1, 0, 0, 0), 5, 'MQTT-2.2.3', 0x81);
  });
  it('a truncated packet identifier is malformed', () => {
    expectViolation(pkt(0x82, 0), 5, 'MQTT-2.2.3', 0x81);
  });
});
