import { describe, expect, it } from 'vitest';
import { decodeInflight, decodeMessage, decodeSubscriptionOptions, encodeInflight, encodeMessage, encodeSubscriptionOptions } from '../../../../src/store/redis/codec.js';
import type { Message, SubscriptionOptions } from '../../../../src/store/types.js';

const rich: Message = {
  topic: 'a/b/ü/€',
  payload: Buffer.from([0, 1, 2, 255, 0x80]),
  qos: 2,
  retain: true,
  expiresAt: 1_900_000_000_123,
  properties: {
    payloadFormatIndicator: 1,
    contentType: 'application/json',
    responseTopic: 'r/t',
    correlationData: Buffer.from([9, 8, 7]),
    userProperties: [['k', 'v'], ['k', 'v2']],
    subscriptionIdentifiers: [3, 4],
  },
};

describe('redis codec: Message', () => {
  const cases: Array<[string, Message]> = [
    ['minimal qos 0', { topic: 't', payload: Buffer.alloc(0), qos: 0, retain: false }],
    ['qos 1 retain', { topic: 'x/y', payload: Buffer.from('hello'), qos: 1, retain: true }],
    ['expiry only', { topic: 'e', payload: Buffer.from('p'), qos: 1, retain: false, expiresAt: Date.now() + 5000 }],
    ['every field, v5 properties with Buffers', rich],
    ['every field and the origin of a message from the bus', { ...rich, origin: { sender: 'host-1-42-abcdef', seq: 2 ** 47 - 1 } }],
    ['empty topic, large payload', { topic: '', payload: Buffer.alloc(20_000, 7), qos: 0, retain: false }],
  ];
  for (const [name, message] of cases) {
    it(`round-trips ${name}`, () => {
      const decoded = decodeMessage(encodeMessage(message));
      expect(decoded).toEqual(message);
      expect(Buffer.isBuffer(decoded.payload)).toBe(true);
      expect(Object.keys(decoded).sort()).toEqual(Object.keys(message).sort());
    });
  }

  it('stores the payload as raw bytes: encoding is header + topic + payload, no base64', () => {
    const message: Message = { topic: 'abc', payload: Buffer.alloc(1000, 1), qos: 1, retain: false };
    expect(encodeMessage(message).length).toBe(1 + 2 + 3 + 1000);
  });

  it('rejects truncated input', () => {
    const bytes = encodeMessage(rich);
    expect(() => decodeMessage(bytes.subarray(0, 2))).toThrow();
    expect(() => decodeMessage(bytes.subarray(0, 5))).toThrow();
  });
});

describe('redis codec: InflightRecord', () => {
  it('round-trips both states and the id range ends', () => {
    for (const [messageId, state] of [[1, 'publish'], [65535, 'pubrel'], [300, 'publish']] as const) {
      const record = { messageId, state, message: rich };
      expect(decodeInflight(encodeInflight(record))).toEqual(record);
    }
  });
});

describe('redis codec: SubscriptionOptions', () => {
  const cases: SubscriptionOptions[] = [
    { qos: 0 },
    { qos: 2, rh: 1 },
    { qos: 1, nl: true, rap: true, rh: 2, subscriptionId: 42 },
    { qos: 1, rh: 0, subscriptionId: 268_435_455 },
    { qos: 2, since: 1_764_000_000_123 },
    { qos: 1, subscriptionId: 9, since: 2 ** 47 - 1 },
  ];
  for (const options of cases) {
    it(`round-trips ${JSON.stringify(options)}`, () => {
      expect(decodeSubscriptionOptions(encodeSubscriptionOptions(options))).toEqual(options);
    });
  }
});
