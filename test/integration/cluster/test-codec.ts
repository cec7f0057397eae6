// Temporary stand-in for src/store/redis/codec.ts: topic, payload, qos, retain only.
import type { MessageCodec } from '../../../src/store/redis/node-frames.js';
import type { QoS } from '../../../src/protocol/types.js';

export const testCodec: MessageCodec = {
  encode(m) {
    const topic = Buffer.from(m.topic);
    const head = Buffer.alloc(4);
    head.writeUInt16BE(topic.length, 0);
    head[2] = m.qos;
    head[3] = m.retain ? 1 : 0;
    return Buffer.concat([head, topic, m.payload]);
  },
  decode(b) {
    const len = b.readUInt16BE(0);
    return { topic: b.toString('utf8', 4, 4 + len), payload: Buffer.from(b.subarray(4 + len)), qos: b[2] as QoS, retain: b[3] === 1 };
  },
};
