// Behaviour of the memory backend beyond the shared contract (test/contract/).
import { describe, expect, it } from 'vitest';
import { createMemoryBackend } from '../../../src/store/memory/index.js';
import type { Message } from '../../../src/store/types.js';

const will: Message = { topic: 'w', payload: Buffer.from('bye'), qos: 1, retain: false };

describe('memory backend', () => {
  it('calls the takeover handler synchronously, before claim() returns', () => {
    const { ownership } = createMemoryBackend();
    const calls: Array<[string, string, number]> = [];
    ownership.onTakeover((c, conn, e) => calls.push([c, conn, e]));
    void ownership.claim('c', 'conn-1');
    expect(calls).toEqual([]);
    void ownership.claim('c', 'conn-2');
    expect(calls).toEqual([['c', 'conn-1', 1]]);
    expect(ownership.holderOf('c')).toEqual({ connectionId: 'conn-2', epoch: 2 });
  });

  it('a re-claim by the same connection takes over nobody', async () => {
    const { ownership } = createMemoryBackend();
    const calls: string[] = [];
    ownership.onTakeover((_id, conn) => calls.push(conn));
    const first = await ownership.claim('c', 'conn-1');
    expect(await ownership.claim('c', 'conn-1')).toBeGreaterThan(first);
    expect(calls).toEqual([]);
  });

  it('release with the current epoch frees the id', async () => {
    const { ownership } = createMemoryBackend();
    const epoch = await ownership.claim('c', 'conn-1');
    ownership.release('c', epoch);
    expect(ownership.holderOf('c')).toBeUndefined();
  });

  it('keeps the will with its delay, clears it with null, and delete drops it', () => {
    const { sessions } = createMemoryBackend();
    sessions.setWill('c', will, 7);
    expect(sessions.willOf('c')).toEqual({ message: will, delaySeconds: 7 });
    sessions.setWill('c', null);
    expect(sessions.willOf('c')).toBeNull();
    sessions.setWill('c', will);
    sessions.delete('c');
    expect(sessions.willOf('c')).toBeNull();
  });

  it('load returns a copy of the subscriptions: changing it does not change the store', async () => {
    const { sessions } = createMemoryBackend();
    sessions.save('c', 1);
    sessions.addSubscriptions('c', [['a', { qos: 1 }]]);
    (await sessions.load('c'))!.subscriptions.delete('a');
    expect([...(await sessions.load('c'))!.subscriptions.keys()]).toEqual(['a']);
  });

  it('writes before save() are kept but load() reports no session until it is saved', async () => {
    const { sessions } = createMemoryBackend();
    sessions.addSubscriptions('c', [['a', { qos: 0 }]]);
    expect(await sessions.load('c')).toBeNull();
    sessions.save('c', 0);
    expect([...(await sessions.load('c'))!.subscriptions.keys()]).toEqual(['a']);
  });

  it('stores messages as given (no copy of the payload)', async () => {
    const { sessions, retained } = createMemoryBackend();
    await sessions.enqueue('c', will, { messages: 1, bytes: 0 });
    expect((await sessions.drainQueue('c'))[0]).toBe(will);
    retained.set('w', will);
    expect((await retained.match('w'))[0]).toBe(will);
  });

  it('the single-node bus sends nothing and receives nothing', async () => {
    const { bus } = createMemoryBackend({ nodeId: 'n1' });
    let delivered = 0;
    bus.onMessage(() => delivered++);
    await bus.addRoute('#');
    await bus.publish(will);
    expect(bus.nodeId).toBe('n1');
    expect(bus.received).toBe(0);
    expect(delivered).toBe(0);
  });
});
