// MessageBus section for shared subscription groups (MQTT 5 4.8.2): a node's own group routes
// are never offered to it as "other nodes" (its core serves them). With a peer, a group route is
// visible there once addRoute resolves, and a message sent for a group arrives with the group.
// A single-node backend has no other node: it offers no routes at all and nothing comes back
// through its bus, whatever routes it holds and whatever it publishes.
import { describe, expect, it } from 'vitest';
import type { Message, SharedRoute } from '../../src/store/types.js';
import { waitFor } from '../helpers/wait.js';
import { message, uniqueId, type ContractFixture } from './contract-helpers.js';

function routesFor(fxBus: ContractFixture['a']['bus'], topic: string): Array<[string, string[]]> {
  const seen: Array<[string, string[]]> = [];
  fxBus.matchSharedRoutes(topic, (route: SharedRoute) => seen.push([route.group, [...route.nodes]]));
  return seen;
}

export function sharedBusContract(fx: () => ContractFixture, crossNode: boolean): void {
  describe('MessageBus: shared subscription groups', () => {
    if (crossNode) {
      it("each node is offered the other node's group route and never its own", async () => {
        const { a, b } = fx();
        const topic = uniqueId('shared');
        const groupA = `$share/ga/${topic}`;
        const groupB = `$share/gb/${topic}`;
        await a.bus.addRoute(groupA);
        // b's addRoute resolves once a has acknowledged it, and a hears route announcements in
        // order: by then a has also heard its own groupA announcement (and must have ignored it).
        await b.bus.addRoute(groupB);
        expect(routesFor(a.bus, topic)).toEqual([[groupB, [b.bus.nodeId]]]);
        expect(routesFor(b.bus, topic)).toEqual([[groupA, [a.bus.nodeId]]]);
        a.bus.removeRoute(groupA);
        b.bus.removeRoute(groupB);
        await waitFor(() => routesFor(a.bus, topic).length === 0 && routesFor(b.bus, topic).length === 0, 'both group routes withdrawn');
      });

      it('with a peer: the group is visible there once addRoute resolves, a message sent for it arrives with the group, removal withdraws it', async () => {
        const f = fx();
        const topic = uniqueId('shared');
        const group = `$share/g/${topic}/+`;
        const got: Array<[string, readonly string[] | undefined]> = [];
        f.a.bus.onMessage((m: Message, groups) => {
          if (m.topic.startsWith(topic)) got.push([m.payload.toString(), groups]);
        });
        const countBefore = f.b.bus.sharedRouteCount;
        await f.a.bus.addRoute(group);
        expect(routesFor(f.b.bus, `${topic}/x`)).toEqual([[group, [f.a.bus.nodeId]]]);
        expect(f.b.bus.sharedRouteCount).toBe(countBefore + 1);
        await f.b.bus.publish(message(`${topic}/x`, { payload: Buffer.from('for the group') }), new Map([[f.a.bus.nodeId, [group]]]));
        await waitFor(() => got.length === 1, 'the message at the chosen node');
        expect(got).toEqual([['for the group', [group]]]);
        f.a.bus.removeRoute(group);
        await waitFor(() => routesFor(f.b.bus, `${topic}/x`).length === 0, 'the group route withdrawn at the peer');
        expect(f.b.bus.sharedRouteCount).toBe(countBefore);
      });
    } else {
      it('one node: the group routes it holds are its own, so it is offered none and counts none', async () => {
        const { a } = fx();
        const topic = uniqueId('shared');
        const groups = [`$share/g/${topic}`, `$share/h/${topic}`, `$share/w/${topic}/#`];
        for (const group of groups) await a.bus.addRoute(group);
        expect(routesFor(a.bus, topic)).toEqual([]);
        expect(a.bus.sharedRouteCount).toBe(0);
        for (const group of groups) a.bus.removeRoute(group);
      });

      it('one node: a message published for its own group does not come back through the bus', async () => {
        const { a } = fx();
        const topic = uniqueId('shared');
        const group = `$share/g/${topic}`;
        const got: Message[] = [];
        a.bus.onMessage((m) => {
          if (m.topic === topic) got.push(m);
        });
        const receivedBefore = a.bus.received;
        await a.bus.addRoute(group);
        await a.bus.addRoute(topic);
        await a.bus.publish(message(topic), new Map([[a.bus.nodeId, [group]]]));
        // The single-node bus does its work synchronously: a delivery would have happened by now.
        expect(got).toEqual([]);
        expect(a.bus.received).toBe(receivedBefore);
        a.bus.removeRoute(group);
        a.bus.removeRoute(topic);
      });
    }
  });
}
