// SessionOwnership and MessageBus sections of the backend contract suite. With a second
// backend (another node on the same shared state) takeovers are tested across nodes;
// single-node backends run the same tests with both roles on one backend. The MessageBus tests
// that need another node are registered only with a peer; a single-node backend instead shows
// that nothing it publishes comes back through its bus.
import { describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/wait.js';
import { message, uniqueId, type ContractFixture } from './contract-helpers.js';

export function ownershipContract(fx: () => ContractFixture, crossNode: boolean): void {
  describe('SessionOwnership', () => {
    it('epochs grow with every claim of an id, across nodes', async () => {
      const { a, b } = fx();
      const id = uniqueId('own');
      const e1 = await a.ownership.claim(id, uniqueId('conn'));
      const e2 = await b.ownership.claim(id, uniqueId('conn'));
      const e3 = await a.ownership.claim(id, uniqueId('conn'));
      expect(e2).toBeGreaterThan(e1);
      expect(e3).toBeGreaterThan(e2);
    });

    it('a claim of a held id calls the takeover handler on the old holder\'s node with its connectionId and epoch', async () => {
      const f = fx();
      const id = uniqueId('own');
      const oldConn = uniqueId('conn');
      const oldEpoch = await f.a.ownership.claim(id, oldConn);
      await f.b.ownership.claim(id, uniqueId('conn'));
      await f.takeoversA.waitFor(id, oldConn);
      expect(f.takeoversA.for(id)).toEqual([{ clientId: id, connectionId: oldConn, epoch: oldEpoch }]);
      if (f.crossNode) expect(f.takeoversB.for(id)).toEqual([]);
    });

    it('each takeover names the previous holder, once; a claim of a free id takes over nobody', async () => {
      const f = fx();
      const id = uniqueId('own');
      const first = uniqueId('conn');
      await f.a.ownership.claim(id, first);
      // Prove the log is up to date by waiting for a later takeover of the same id.
      const second = uniqueId('conn');
      await f.b.ownership.claim(id, second);
      await f.b.ownership.claim(id, uniqueId('conn'));
      await f.takeoversB.waitFor(id, second);
      expect([...f.takeoversA.for(id), ...(f.crossNode ? f.takeoversB.for(id) : [])].map((e) => e.connectionId).filter((c) => c !== first && c !== second)).toEqual([]);
      expect(f.takeoversA.for(id).filter((e) => e.connectionId === first)).toHaveLength(1);
    });

    it('release frees the id: the next claim takes over nobody', async () => {
      const f = fx();
      const id = uniqueId('own');
      const released = uniqueId('conn');
      const epoch = await f.a.ownership.claim(id, released);
      f.a.ownership.release(id, epoch);
      const next = uniqueId('conn');
      await f.b.ownership.claim(id, next);
      // A later takeover of `next` shows the handlers have caught up; `released` was never taken over.
      await f.a.ownership.claim(id, uniqueId('conn'));
      await f.takeoversB.waitFor(id, next);
      expect([...f.takeoversA.for(id), ...f.takeoversB.for(id)].filter((e) => e.connectionId === released)).toEqual([]);
    });

    it('release with a stale epoch does not release a newer claim', async () => {
      const f = fx();
      const id = uniqueId('own');
      const stale = await f.a.ownership.claim(id, uniqueId('conn'));
      const holder = uniqueId('conn');
      const current = await f.b.ownership.claim(id, holder);
      f.a.ownership.release(id, stale);
      await f.a.ownership.claim(id, uniqueId('conn'));
      const event = await f.takeoversB.waitFor(id, holder);
      expect(event.epoch).toBe(current);
    });
  });

  describe('MessageBus', () => {
    it('has a node id', () => {
      const { a } = fx();
      expect(typeof a.bus.nodeId).toBe('string');
      expect(a.bus.nodeId.length).toBeGreaterThan(0);
    });

    it('addRoute resolves, publish resolves, removeRoute does not throw', async () => {
      const { a } = fx();
      const filter = `${uniqueId('bus')}/+`;
      await expect(a.bus.addRoute(filter)).resolves.toBeUndefined();
      await expect(a.bus.publish(message(filter.replace('+', 'x')))).resolves.toBeUndefined();
      expect(() => a.bus.removeRoute(filter)).not.toThrow();
    });

    if (crossNode) {
      it('two nodes have different node ids', () => {
        const f = fx();
        expect(f.a).not.toBe(f.b);
        expect(f.a.bus.nodeId).not.toBe(f.b.bus.nodeId);
      });

      it('a message from the other node reaches onMessage and counts in received, once; the sender counts none', async () => {
        const f = fx();
        const filter = `${uniqueId('bus')}/+`;
        const topic = filter.replace('+', 'x');
        const got: string[] = [];
        f.a.bus.onMessage((m) => {
          if (m.topic === topic) got.push(m.payload.toString());
        });
        await f.a.bus.addRoute(filter);
        const [receivedA, receivedB] = [f.a.bus.received, f.b.bus.received];
        await f.b.bus.publish(message(topic, { payload: Buffer.from('from b') }));
        await waitFor(() => got.length > 0, 'the message at the node with the route');
        expect(got).toEqual(['from b']);
        expect(f.a.bus.received - receivedA).toBe(1);
        expect(f.b.bus.received - receivedB).toBe(0);
        f.a.bus.removeRoute(filter);
      });
    } else {
      it('one node: what it publishes to its own routes never comes back through the bus, and it receives nothing', async () => {
        const { a } = fx();
        const filter = `${uniqueId('bus')}/+`;
        const topic = filter.replace('+', 'x');
        const got: string[] = [];
        a.bus.onMessage((m) => {
          if (m.topic === topic) got.push(m.payload.toString());
        });
        await a.bus.addRoute(filter);
        await a.bus.publish(message(topic));
        await a.bus.publish(message(topic, { qos: 0 }));
        // The single-node bus does its work synchronously: a delivery would have happened by now.
        expect(got).toEqual([]);
        expect(a.bus.received).toBe(0);
        a.bus.removeRoute(filter);
      });
    }
  });
}
