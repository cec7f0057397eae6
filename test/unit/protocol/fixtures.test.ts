// Fixture table in the style of mqtt-packet's test.js: each (name, packet, exact bytes) is
// checked three ways — parse(bytes) = packet, encode(packet) = bytes, and parse(encode(packet)).
import { describe, expect, it } from 'vitest';
import { encode, PacketParser, type Packet, type ProtocolVersion } from '../../../src/protocol/index.js';

interface Fixture { name: string; version: ProtocolVersion; packet: Packet; bytes: number[] }

const str = (s: string): number[] => [s.length >> 8, s.length & 0xff, ...Buffer.from(s)];

const FIXTURES: Fixture[] = [
  {
    name: 'CONNECT v3.1.1 minimal', version: 4,
    packet: { cmd: 'connect', protocolName: 'MQTT', protocolVersion: 4, clean: true, keepalive: 30, clientId: 'test' },
    bytes: [0x10, 16, ...str('MQTT'), 4, 0x02, 0, 30, ...str('test')],
  },
  {
    name: 'CONNECT v3.1 (MQIsdp) with will, user name and password', version: 3,
    packet: { cmd: 'connect', protocolName: 'MQIsdp', protocolVersion: 3, clean: false, keepalive: 60, clientId: 'c', will: { topic: 'w', payload: Buffer.from('bye'), qos: 1, retain: true }, username: 'u', password: Buffer.from('p') },
    bytes: [0x10, 29, ...str('MQIsdp'), 3, 0xec, 0, 60, ...str('c'), ...str('w'), 0, 3, 0x62, 0x79, 0x65, ...str('u'), 0, 1, 0x70],
  },
  {
    name: 'CONNECT v5 with session expiry and will delay', version: 5,
    packet: { cmd: 'connect', protocolName: 'MQTT', protocolVersion: 5, clean: true, keepalive: 10, clientId: 'id', properties: { sessionExpiryInterval: 300 }, will: { topic: 't', payload: Buffer.alloc(0), qos: 0, retain: false, properties: { willDelayInterval: 5 } } },
    bytes: [0x10, 31, ...str('MQTT'), 5, 0x06, 0, 10, 5, 0x11, 0, 0, 1, 0x2c, ...str('id'), 5, 0x18, 0, 0, 0, 5, ...str('t'), 0, 0],
  },
  { name: 'CONNACK v3.1.1 accepted, session present', version: 4, packet: { cmd: 'connack', sessionPresent: true, reasonCode: 0 }, bytes: [0x20, 2, 1, 0] },
  { name: 'CONNACK v5 with reason 0x85 and no properties', version: 5, packet: { cmd: 'connack', sessionPresent: false, reasonCode: 0x85 }, bytes: [0x20, 3, 0, 0x85, 0] },
  {
    name: 'PUBLISH QoS 0', version: 4,
    packet: { cmd: 'publish', topic: 'a/b', payload: Buffer.from('hi'), qos: 0, retain: false, dup: false },
    bytes: [0x30, 7, ...str('a/b'), 0x68, 0x69],
  },
  {
    name: 'PUBLISH QoS 2 retained duplicate', version: 4,
    packet: { cmd: 'publish', topic: 't', payload: Buffer.from([1]), qos: 2, retain: true, dup: true, messageId: 0x0102 },
    bytes: [0x3d, 6, ...str('t'), 1, 2, 1],
  },
  {
    name: 'PUBLISH v5 QoS 1 with topic alias and user property', version: 5,
    packet: { cmd: 'publish', topic: 't', payload: Buffer.alloc(0), qos: 1, retain: false, dup: false, messageId: 1, properties: { topicAlias: 2, userProperties: [['k', 'v']] } },
    bytes: [0x32, 16, ...str('t'), 0, 1, 10, 0x23, 0, 2, 0x26, ...str('k'), ...str('v')],
  },
  { name: 'PUBACK v3.1.1', version: 4, packet: { cmd: 'puback', messageId: 42 }, bytes: [0x40, 2, 0, 42] },
  { name: 'PUBREC v5 reason 0x10 without properties', version: 5, packet: { cmd: 'pubrec', messageId: 1, reasonCode: 0x10 }, bytes: [0x50, 3, 0, 1, 0x10] },
  { name: 'PUBREL has flags 0010 [MQTT-3.6.1-1]', version: 4, packet: { cmd: 'pubrel', messageId: 7 }, bytes: [0x62, 2, 0, 7] },
  { name: 'PUBCOMP v5 with reason string', version: 5, packet: { cmd: 'pubcomp', messageId: 7, reasonCode: 0x92, properties: { reasonString: 'x' } }, bytes: [0x70, 8, 0, 7, 0x92, 4, 0x1f, ...str('x')] },
  {
    name: 'SUBSCRIBE v3.1.1 two filters', version: 4,
    packet: { cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'a/+', qos: 1 }, { topic: '#', qos: 2 }] },
    bytes: [0x82, 12, 0, 1, ...str('a/+'), 1, ...str('#'), 2],
  },
  {
    name: 'SUBSCRIBE v5 with options and subscription identifier', version: 5,
    packet: { cmd: 'subscribe', messageId: 2, properties: { subscriptionIdentifiers: [200] }, subscriptions: [{ topic: 'x', qos: 1, nl: true, rap: true, rh: 2 }] },
    bytes: [0x82, 10, 0, 2, 3, 0x0b, 0xc8, 0x01, ...str('x'), 0x2d],
  },
  { name: 'SUBACK v3.1.1 with failure', version: 4, packet: { cmd: 'suback', messageId: 3, granted: [0, 1, 0x80] }, bytes: [0x90, 5, 0, 3, 0, 1, 0x80] },
  { name: 'UNSUBSCRIBE', version: 4, packet: { cmd: 'unsubscribe', messageId: 4, unsubscriptions: ['a', 'b/#'] }, bytes: [0xa2, 10, 0, 4, ...str('a'), ...str('b/#')] },
  { name: 'UNSUBACK v3.1.1', version: 4, packet: { cmd: 'unsuback', messageId: 5 }, bytes: [0xb0, 2, 0, 5] },
  { name: 'UNSUBACK v5 with reason codes', version: 5, packet: { cmd: 'unsuback', messageId: 5, reasonCodes: [0, 0x11] }, bytes: [0xb0, 5, 0, 5, 0, 0, 0x11] },
  { name: 'PINGREQ', version: 4, packet: { cmd: 'pingreq' }, bytes: [0xc0, 0] },
  { name: 'PINGRESP', version: 5, packet: { cmd: 'pingresp' }, bytes: [0xd0, 0] },
  { name: 'DISCONNECT v3.1.1', version: 4, packet: { cmd: 'disconnect' }, bytes: [0xe0, 0] },
  { name: 'DISCONNECT v5 with will (0x04)', version: 5, packet: { cmd: 'disconnect', reasonCode: 0x04 }, bytes: [0xe0, 1, 0x04] },
  { name: 'AUTH v5 continue with method', version: 5, packet: { cmd: 'auth', reasonCode: 0x18, properties: { authenticationMethod: 'm' } }, bytes: [0xf0, 6, 0x18, 4, 0x15, ...str('m')] },
  { name: 'AUTH v5 success, Remaining Length 0', version: 5, packet: { cmd: 'auth', reasonCode: 0 }, bytes: [0xf0, 0] },
];

function parseOne(bytes: Buffer, version: ProtocolVersion): Packet {
  const out: Packet[] = [];
  new PacketParser({ protocolVersion: version }).parse(bytes, (p) => out.push(p));
  expect(out).toHaveLength(1);
  return out[0];
}

describe('codec fixtures', () => {
  describe.each(FIXTURES)('$name', ({ version, packet, bytes }) => {
    const wire = Buffer.from(bytes);
    it('parses the exact bytes to the packet', () => {
      expect(parseOne(wire, version)).toEqual(packet);
    });
    it('generates the exact bytes from the packet', () => {
      expect(encode(packet, version).toString('hex')).toBe(wire.toString('hex'));
    });
    it('round-trips', () => {
      expect(parseOne(encode(packet, version), version)).toEqual(packet);
    });
  });
});
