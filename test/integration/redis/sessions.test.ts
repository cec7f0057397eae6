// What the contract does not cover for the Redis session store: writes of one turn keep their
// order across commands and scripts, wills carry their node for recovery, and the key
// layout stays within the client's documented keys.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RedisBackend } from '../../../src/store/redis/index.js';
import type { Message } from '../../../src/store/types.js';
import { RedisFixture } from './fixture.js';

const fx = new RedisFixture();
let a: RedisBackend;
let b: RedisBackend;

beforeAll(async () => {
  await fx.start();
  a = await fx.backend();
  b = await fx.backend();
});
afterAll(() => fx.stop());

const will: Message = { topic: 'will/t', payload: Buffer.from([0, 1, 2]), qos: 1, retain: true, properties: { contentType: 'x' } };

describe('RedisSessionStore beyond the contract', () => {
  it('writes issued in one turn apply in issue order: delete then re-create leaves only the new state', async () => {
    const s = a.sessions;
    s.save('ord-1', 10);
    s.addSubscriptions('ord-1', [['old/#', { qos: 1 }]]);
    s.putInflight('ord-1', { messageId: 1, state: 'publish', message: will });
    s.delete('ord-1');
    s.save('ord-1', 20);
    s.addSubscriptions('ord-1', [['new/+', { qos: 2, subscriptionId: 7 }]]);
    s.putInflight('ord-1', { messageId: 2, state: 'pubrel', message: will });
    await s.flush();
    const record = await s.load('ord-1');
    expect(record?.expiryInterval).toBe(20);
    expect([...record!.subscriptions]).toEqual([['new/+', { qos: 2, subscriptionId: 7 }]]);
    expect((await s.loadInflight('ord-1')).map((r) => r.messageId)).toEqual([2]);
  });

  // Fails if TAKE_QUEUED does not check the owner record: a take issued by the old holder after a
  // newer claim (another node, which may have read the in-flight records already) would move
  // messages into records nobody resends, and they would be lost.
  it('a take by a session whose claim was taken over moves nothing; the new holder takes the queue', async () => {
    const id = 'fence-1';
    const old = await a.ownership.claim(id, 'conn-old');
    await a.sessions.enqueue(id, will, { messages: 10, bytes: 0 });
    await a.sessions.enqueue(id, { ...will, topic: 'will/u' }, { messages: 10, bytes: 0 });
    const newer = await b.ownership.claim(id, 'conn-new');
    expect(await a.sessions.takeQueued(id, [1, 2], old)).toEqual([]);
    expect(await a.sessions.queueLength(id)).toBe(2);
    expect(await a.sessions.loadInflight(id)).toEqual([]);
    expect((await b.sessions.takeQueued(id, [5, 6], newer)).map((r) => [r.messageId, r.message.topic])).toEqual([[5, 'will/t'], [6, 'will/u']]);
  });

  it('in-flight order survives deletes: a re-put after a delete goes last', async () => {
    const s = a.sessions;
    for (const id of [5, 6, 7]) s.putInflight('ord-2', { messageId: id, state: 'publish', message: will });
    s.deleteInflight('ord-2', 5);
    s.putInflight('ord-2', { messageId: 5, state: 'publish', message: will });
    s.putInflight('ord-2', { messageId: 6, state: 'pubrel', message: will });
    await s.flush();
    expect((await s.loadInflight('ord-2')).map((r) => [r.messageId, r.state])).toEqual([[6, 'pubrel'], [7, 'publish'], [5, 'publish']]);
  });

  it('a will is stored with its delay and the node that set it, readable from another node, and cleared by null', async () => {
    a.sessions.setWill('will-1', will, 15);
    await a.sessions.flush();
    expect(await b.sessions.loadWill('will-1')).toEqual({ message: will, delaySeconds: 15, nodeId: a.bus.nodeId });
    b.sessions.setWill('will-1', { ...will, topic: 'will/b' });
    await b.sessions.flush();
    expect(await a.sessions.loadWill('will-1')).toMatchObject({ delaySeconds: 0, nodeId: b.bus.nodeId, message: { topic: 'will/b' } });
    a.sessions.setWill('will-1', null);
    await a.sessions.flush();
    expect(await b.sessions.loadWill('will-1')).toBeNull();
  });

  it("a client's state lives only under its documented keys, and delete() leaves none of them", async () => {
    const s = a.sessions;
    s.save('keys-1', 10);
    s.addSubscriptions('keys-1', [['k/#', { qos: 0 }]]);
    await s.enqueue('keys-1', will, { messages: 5, bytes: 0 });
    s.putInflight('keys-1', { messageId: 9, state: 'publish', message: will });
    s.addIncomingQos2('keys-1', 3);
    s.setWill('keys-1', will, 0);
    await s.flush();
    const present = async () => (await a.redis.keys(`${fx.prefix}*keys-1*`)).sort();
    expect(await present()).toEqual(a.keys.sessionKeys('keys-1').sort());
    s.delete('keys-1');
    await s.flush();
    expect(await present()).toEqual([]);
  });
});
