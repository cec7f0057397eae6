// PreparedPublish: per-subscriber frames equal a full encode, QoS 0 frames are shared.
import { describe, expect, it } from 'vitest';
import { encode, PacketParser, PreparedPublish, type ProtocolVersion, type QoS } from '../../../src/protocol/index.js';

describe.each([3, 4, 5] as const)('PreparedPublish, protocol level %i', (version: ProtocolVersion) => {
  const properties = version === 5 ? { contentType: 'text/plain', userProperties: [['a', 'b']] as Array<[string, string]> } : undefined;
  const payloads = [Buffer.from('hello'), Buffer.alloc(5000, 7), Buffer.alloc(70_000, 9)];

  it.each(payloads.map((p) => [p.length, p] as const))('frames with a %i-byte payload equal encode() for every qos/retain/dup', (_n, payload) => {
    const prepared = new PreparedPublish('a/b/日本', payload, version, properties);
    for (const qos of [0, 1, 2] as QoS[]) {
      for (const retain of [false, true]) {
        for (const dup of qos === 0 ? [false] : [false, true]) {
          const messageId = qos === 0 ? undefined : 513;
          const expected = encode({ cmd: 'publish', topic: 'a/b/日本', payload, qos, retain, dup, messageId, properties }, version);
          expect(prepared.frame(qos, retain, dup, messageId).equals(expected)).toBe(true);
        }
      }
    }
  });

  it('QoS 0 frames with the same retain flag are the same Buffer instance', () => {
    const prepared = new PreparedPublish('t', Buffer.from('x'), version);
    expect(prepared.frame(0, false, false)).toBe(prepared.frame(0, false, false));
    expect(prepared.frame(0, true, false)).toBe(prepared.frame(0, true, false));
    expect(prepared.frame(0, true, false)).not.toBe(prepared.frame(0, false, false));
  });

  it('QoS > 0 frames are independent copies with their own packet id', () => {
    const prepared = new PreparedPublish('t', Buffer.from('x'), version);
    const a = prepared.frame(1, false, false, 1);
    const b = prepared.frame(1, false, false, 2);
    expect(a).not.toBe(b);
    const ids: Array<number | undefined> = [];
    const parser = new PacketParser({ protocolVersion: version });
    parser.parse(Buffer.concat([a, b]), (p) => { if (p.cmd === 'publish') ids.push(p.messageId); });
    expect(ids).toEqual([1, 2]);
  });

  it('refuses packet id 0 for QoS > 0 [MQTT-2.3.1-1] and DUP on QoS 0 [MQTT-3.3.1-2]', () => {
    const prepared = new PreparedPublish('t', Buffer.from('x'), version);
    expect(() => prepared.frame(1, false, false, 0)).toThrow(/MQTT-2.3.1-1/);
    expect(() => prepared.frame(0, false, true)).toThrow(/MQTT-3.3.1-2/);
  });
});
