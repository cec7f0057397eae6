// SessionStore section of the backend contract suite.
import { describe, expect, it } from 'vitest';
import type { InflightRecord } from '../../src/store/types.js';
import { message, uniqueId, type ContractFixture } from './contract-helpers.js';

export function sessionContract(fx: () => ContractFixture): void {
  describe('SessionStore: save/load/delete', () => {
    it('load returns null for an unknown client id', async () => {
      expect(await fx().a.sessions.load(uniqueId('none'))).toBeNull();
    });

    it('save then load returns the record with empty subscriptions; a second save updates the expiry', async () => {
      const { sessions } = fx().a;
      const id = uniqueId('save');
      sessions.save(id, 30);
      await sessions.flush();
      const record = await sessions.load(id);
      expect(record).not.toBeNull();
      expect(record!.clientId).toBe(id);
      expect(record!.expiryInterval).toBe(30);
      expect([...record!.subscriptions]).toEqual([]);
      sessions.save(id, 0xffffffff);
      await sessions.flush();
      expect((await sessions.load(id))!.expiryInterval).toBe(0xffffffff);
    });

    // Fails if parked() is not stored, if save() (the client is back) does not clear it (an adopted
    // session would expire too early), or if parked() brings a deleted session back.
    it('parked records when the client went offline until the next save; a deleted session stays deleted', async () => {
      const { sessions } = fx().a;
      const id = uniqueId('parked');
      sessions.save(id, 60);
      sessions.parked(id, 1_764_000_000_123);
      await sessions.flush();
      expect((await sessions.load(id))?.offlineAt).toBe(1_764_000_000_123);
      sessions.save(id, 60);
      await sessions.flush();
      expect((await sessions.load(id))?.offlineAt).toBeUndefined();
      sessions.delete(id);
      sessions.parked(id, 1_764_000_000_999);
      await sessions.flush();
      expect(await sessions.load(id)).toBeNull();
    });

    it('a write then flush then read on another node sees the write', async () => {
      const { a, b } = fx();
      const id = uniqueId('flush');
      a.sessions.save(id, 5);
      a.sessions.addSubscriptions(id, [['f/1', { qos: 1 }]]);
      a.sessions.putInflight(id, { messageId: 1, state: 'publish', message: message('f/1') });
      a.sessions.addIncomingQos2(id, 9);
      await a.sessions.flush();
      const record = await b.sessions.load(id);
      expect(record?.expiryInterval).toBe(5);
      expect([...record!.subscriptions.keys()]).toEqual(['f/1']);
      expect((await b.sessions.loadInflight(id)).map((r) => r.messageId)).toEqual([1]);
      expect(await b.sessions.loadIncomingQos2(id)).toEqual([9]);
    });

    it('delete removes the session and its subscriptions, queue, in-flight, incoming QoS 2 ids and will', async () => {
      const { sessions } = fx().a;
      const id = uniqueId('delete');
      sessions.save(id, 60);
      sessions.addSubscriptions(id, [['d/#', { qos: 2 }]]);
      await sessions.enqueue(id, message('d/1'), { messages: 10, bytes: 0 });
      sessions.putInflight(id, { messageId: 3, state: 'publish', message: message('d/2') });
      sessions.addIncomingQos2(id, 4);
      sessions.setWill(id, message('d/will'), 10);
      sessions.delete(id);
      await sessions.flush();
      expect(await sessions.load(id)).toBeNull();
      expect(await sessions.queueLength(id)).toBe(0);
      expect(await sessions.drainQueue(id)).toEqual([]);
      expect(await sessions.loadInflight(id)).toEqual([]);
      expect(await sessions.loadIncomingQos2(id)).toEqual([]);
      // A new session under the same id starts clean: nothing of the old one comes back.
      sessions.save(id, 1);
      await sessions.flush();
      expect([...(await sessions.load(id))!.subscriptions]).toEqual([]);
    });

    it('sessions of different client ids do not see each other', async () => {
      const { sessions } = fx().a;
      const one = uniqueId('iso');
      const two = uniqueId('iso');
      sessions.save(one, 1);
      sessions.addSubscriptions(one, [['iso/a', { qos: 0 }]]);
      await sessions.enqueue(one, message('iso/a'), { messages: 10, bytes: 0 });
      sessions.save(two, 2);
      await sessions.flush();
      expect([...(await sessions.load(two))!.subscriptions]).toEqual([]);
      expect(await sessions.queueLength(two)).toBe(0);
    });
  });

  describe('SessionStore: subscriptions', () => {
    it('adds, replaces the options of an existing filter, and removes only the named filters', async () => {
      const { sessions } = fx().a;
      const id = uniqueId('subs');
      sessions.save(id, 10);
      sessions.addSubscriptions(id, [
        ['s/a', { qos: 0 }],
        ['s/+', { qos: 1, nl: true, rap: true, rh: 2, subscriptionId: 42 }],
        ['s/#', { qos: 2 }],
      ]);
      sessions.addSubscriptions(id, [['s/a', { qos: 2, rh: 1 }]]);
      await sessions.flush();
      const subs = (await sessions.load(id))!.subscriptions;
      expect(subs.size).toBe(3);
      expect(subs.get('s/a')).toEqual({ qos: 2, rh: 1 });
      expect(subs.get('s/+')).toEqual({ qos: 1, nl: true, rap: true, rh: 2, subscriptionId: 42 });
      sessions.removeSubscriptions(id, ['s/#', 'not/there']);
      await sessions.flush();
      expect([...(await sessions.load(id))!.subscriptions.keys()].sort()).toEqual(['s/+', 's/a']);
    });

    it('keeps subscriptions across a second save of the session metadata', async () => {
      const { sessions } = fx().a;
      const id = uniqueId('subs-save');
      sessions.save(id, 10);
      sessions.addSubscriptions(id, [['k/1', { qos: 1 }]]);
      sessions.save(id, 20);
      await sessions.flush();
      expect([...(await sessions.load(id))!.subscriptions.keys()]).toEqual(['k/1']);
    });
  });

  describe('SessionStore: offline queue', () => {
    it('keeps messages in order and round-trips every field, v5 properties included', async () => {
      const { sessions } = fx().a;
      const id = uniqueId('queue');
      const rich = message('q/rich', {
        qos: 2,
        retain: true,
        payload: Buffer.from([0, 1, 2, 255, 0x80]),
        expiresAt: 1_900_000_000_000,
        properties: {
          payloadFormatIndicator: 1,
          contentType: 'application/json',
          responseTopic: 'q/reply',
          correlationData: Buffer.from([9, 8, 7]),
          userProperties: [['k', 'v'], ['k', 'v2']],
        },
      });
      expect(await sessions.enqueue(id, message('q/1'), { messages: 10, bytes: 0 })).toBe(true);
      expect(await sessions.enqueue(id, rich, { messages: 10, bytes: 0 })).toBe(true);
      expect(await sessions.enqueue(id, message('q/3', { qos: 0, payload: Buffer.alloc(0) }), { messages: 10, bytes: 0 })).toBe(true);
      expect(await sessions.queueLength(id)).toBe(3);
      const drained = await sessions.drainQueue(id);
      expect(drained.map((m) => m.topic)).toEqual(['q/1', 'q/rich', 'q/3']);
      expect(drained[1]).toEqual(rich);
      expect(Buffer.isBuffer(drained[1].payload)).toBe(true);
      expect(drained[2].payload.length).toBe(0);
    });

    it('drainQueue empties the queue', async () => {
      const { sessions } = fx().a;
      const id = uniqueId('drain');
      await sessions.enqueue(id, message('dr/1'), { messages: 10, bytes: 0 });
      expect(await sessions.drainQueue(id)).toHaveLength(1);
      expect(await sessions.queueLength(id)).toBe(0);
      expect(await sessions.drainQueue(id)).toEqual([]);
    });

    it('enqueue honours the cap: returns false when full and keeps the oldest messages', async () => {
      const { sessions } = fx().a;
      const id = uniqueId('cap');
      const kept: boolean[] = [];
      for (let i = 0; i < 5; i++) kept.push(await sessions.enqueue(id, message(`cap/${i}`), { messages: 3, bytes: 0 }));
      expect(kept).toEqual([true, true, true, false, false]);
      expect(await sessions.queueLength(id)).toBe(3);
      expect((await sessions.drainQueue(id)).map((m) => m.topic)).toEqual(['cap/0', 'cap/1', 'cap/2']);
      expect(await sessions.enqueue(id, message('cap/after'), { messages: 3, bytes: 0 })).toBe(true);
      expect(await sessions.enqueue(id, message('cap/zero'), { messages: 0, bytes: 0 })).toBe(false);
    });
    // Fails if the byte bound is not checked, or not reset by drainQueue (the 4th enqueue would be refused).
    it('enqueue honours the byte bound (payload + topic) as well as the count, and a drain frees it', async () => {
      const { sessions } = fx().a;
      const id = uniqueId('bytes');
      const limits = { messages: 100, bytes: 250 };
      const sized = (topic: string) => message(topic, { payload: Buffer.alloc(100 - topic.length) }); // 100 bytes each
      expect(await sessions.enqueue(id, sized('b/1'), limits)).toBe(true);
      expect(await sessions.enqueue(id, sized('b/2'), limits)).toBe(true);
      expect(await sessions.enqueue(id, sized('b/3'), limits)).toBe(false);
      expect(await sessions.enqueue(id, message('b/s', { payload: Buffer.alloc(10) }), limits)).toBe(true);
      expect((await sessions.drainQueue(id)).map((m) => m.topic)).toEqual(['b/1', 'b/2', 'b/s']);
      expect(await sessions.enqueue(id, sized('b/4'), limits)).toBe(true);
      expect(await sessions.queueLength(id)).toBe(1);
    });

    // Fails if takeQueued loses or reorders messages, does not leave them as in-flight records
    // under the given ids (a node dying after the take would lose them), or leaves the bytes counted.
    it('takeQueued moves the oldest queued messages into in-flight records under the given ids, in order', async () => {
      const { sessions, ownership } = fx().a;
      const id = uniqueId('take');
      const epoch = await ownership.claim(id, 'conn-take'); // the taking session's claim
      const limits = { messages: 100, bytes: 400 };
      for (const topic of ['t/1', 't/2', 't/3']) await sessions.enqueue(id, message(topic, { qos: 2, payload: Buffer.alloc(100) }), limits);
      expect(await sessions.enqueue(id, message('t/4', { payload: Buffer.alloc(100) }), limits)).toBe(false); // 4 x 100+ bytes > 400
      const first = await sessions.takeQueued(id, [9, 10], epoch);
      expect(first.map((r) => [r.messageId, r.state, r.message.topic, r.message.qos])).toEqual([[9, 'publish', 't/1', 2], [10, 'publish', 't/2', 2]]);
      expect(await sessions.queueLength(id)).toBe(1);
      expect(await sessions.enqueue(id, message('t/4', { payload: Buffer.alloc(100) }), limits)).toBe(true); // the take freed its bytes
      const second = await sessions.takeQueued(id, [11, 12, 13], epoch);
      expect(second.map((r) => [r.messageId, r.message.topic])).toEqual([[11, 't/3'], [12, 't/4']]);
      expect(await sessions.takeQueued(id, [14], epoch)).toEqual([]);
      expect((await sessions.loadInflight(id)).map((r) => [r.messageId, r.message.topic])).toEqual([[9, 't/1'], [10, 't/2'], [11, 't/3'], [12, 't/4']]);
    });

    // Fails if putInflight does not record what the session took from the bus, or enqueue with a
    // ReplayOrigin ignores it: the replay of a dead node's frames would then duplicate messages.
    it('a replayed message the session already took on that node is skipped; one it did not take is queued once', async () => {
      const { a } = fx();
      const { sessions } = a;
      const id = uniqueId('replay');
      const holder = a.bus.nodeId;
      const limits = { messages: 100, bytes: 0 };
      const fromBus = (topic: string, seq: number) => ({ ...message(topic, { qos: 2 }), origin: { sender: 'node-p', seq } });
      sessions.putInflight(id, { messageId: 1, state: 'publish', message: fromBus('r/4', 4) });
      sessions.putInflight(id, { messageId: 2, state: 'publish', message: fromBus('r/5', 5) });
      sessions.deleteInflight(id, 1); // acknowledged: what it took is still known
      await sessions.flush();
      const replay = (topic: string, seq: number, from = holder) => sessions.enqueue(id, message(topic, { qos: 2 }), limits, { sender: 'node-p', seq, holder: from });
      expect(await replay('r/4', 4)).toBe(true);
      expect(await replay('r/5', 5)).toBe(true);
      expect(await sessions.queueLength(id)).toBe(0);
      expect(await replay('r/6', 6)).toBe(true); // taken here now: recorded
      expect(await replay('r/6', 6)).toBe(true); // so a second copy is skipped
      expect(await replay('r/5', 5, 'dead-node')).toBe(true); // what it took on another node is another count...
      expect(await replay('r/3', 3, 'dead-node')).toBe(true); // ...which a replay for it only checks, so order does not matter
      expect((await sessions.drainQueue(id)).map((m) => m.topic)).toEqual(['r/6', 'r/5', 'r/3']);
      expect((await sessions.loadInflight(id)).map((r) => r.messageId)).toEqual([2]);
    });

    // Fails if enqueue skips an unheard message as taken already: after a shard failover a node's
    // limbo (frames nobody heard) is drained after newer live frames, and those were lost.
    it('an unheard message (from the limbo) older than what the session took is queued, and the taken mark only grows', async () => {
      const { a } = fx();
      const { sessions } = a;
      const id = uniqueId('unheard');
      const holder = a.bus.nodeId;
      const limits = { messages: 100, bytes: 0 };
      const live = (seq: number) => sessions.enqueue(id, message(`u/${seq}`, { qos: 1 }), limits, { sender: 'node-p', seq, holder });
      const unheard = (seq: number, from = holder) => sessions.enqueue(id, message(`u/${seq}`, { qos: 1 }), limits, { sender: 'node-p', seq, holder: from, unheard: true });
      expect(await live(10)).toBe(true);
      expect(await unheard(7)).toBe(true);
      expect(await unheard(8, 'dead-node')).toBe(true);
      expect(await live(9)).toBe(true); // still skipped: the mark stayed at 10
      expect(await unheard(12)).toBe(true);
      expect(await live(11)).toBe(true); // the unheard 12 moved the mark
      expect((await sessions.drainQueue(id)).map((m) => m.topic)).toEqual(['u/10', 'u/7', 'u/8', 'u/12']);
    });
  });

  describe('SessionStore: in-flight and incoming QoS 2', () => {
    it('loadInflight returns records in first-put order; a re-put changes the state in place; delete removes', async () => {
      const { sessions } = fx().a;
      const id = uniqueId('inflight');
      const record = (messageId: number, state: InflightRecord['state'] = 'publish'): InflightRecord => ({ messageId, state, message: message(`if/${messageId}`, { qos: 2 }) });
      sessions.putInflight(id, record(7));
      sessions.putInflight(id, record(2));
      sessions.putInflight(id, record(65535));
      sessions.putInflight(id, record(7, 'pubrel'));
      await sessions.flush();
      const loaded = await sessions.loadInflight(id);
      expect(loaded.map((r) => [r.messageId, r.state])).toEqual([[7, 'pubrel'], [2, 'publish'], [65535, 'publish']]);
      expect(loaded[0]).toEqual(record(7, 'pubrel'));
      sessions.deleteInflight(id, 2);
      sessions.deleteInflight(id, 1234);
      await sessions.flush();
      expect((await sessions.loadInflight(id)).map((r) => r.messageId)).toEqual([7, 65535]);
    });

    it('incoming QoS 2 ids are a set: add, add again, remove', async () => {
      const { sessions } = fx().a;
      const id = uniqueId('qos2');
      sessions.addIncomingQos2(id, 5);
      sessions.addIncomingQos2(id, 1);
      sessions.addIncomingQos2(id, 5);
      sessions.addIncomingQos2(id, 65535);
      await sessions.flush();
      expect((await sessions.loadIncomingQos2(id)).sort((x, y) => x - y)).toEqual([1, 5, 65535]);
      sessions.removeIncomingQos2(id, 5);
      sessions.removeIncomingQos2(id, 77);
      await sessions.flush();
      expect((await sessions.loadIncomingQos2(id)).sort((x, y) => x - y)).toEqual([1, 65535]);
    });

    it('setWill accepts a will, a delay, and null to clear it', async () => {
      const { sessions } = fx().a;
      const id = uniqueId('will');
      sessions.setWill(id, message('w/1', { retain: true }), 30);
      sessions.setWill(id, message('w/2'));
      sessions.setWill(id, null);
      await expect(sessions.flush()).resolves.toBeUndefined();
    });
  });
}
