// MessageBus section for shared subscription groups (MQTT 5 4.8.2): a node's own group routes
// are never offered to it as "other nodes" (its core serves them); with a peer, a group route is
// visible there once addRoute resolves, and a message sent for a group arrives with the group.
import { describe, expect, it } from 'vitest';
import type { Message, SharedRoute } from '../../src/store/types.js';
import { waitFor } from '../helpers/wait.js';
import { message, uniqueId, type ContractFixture } from './contract-helpers.js';

function routesFor(fxBus: ContractFixture['a']['bus'], topic: string): SharedRoute[] {
  const seen: SharedRoute[] = [];
  fxBus.matchSharedRoutes(topic, (route) => seen.push(route));
  return seen;
}

export function sharedBusContract(fx: () => ContractFixture): void {
  describe('MessageBus: shared subscription groups', () => {
    it('a node\'s own group route is not among the shared routes it chooses from', async () => {
      const { a } = fx();
      const topic = uniqueId('shared');
      const group = `$share/g/${topic}`;
      await a.bus.addRoute(group);
      expect(routesFor(a.bus, topic).filter((r) => r.nodes.includes(a.bus.nodeId))).toEqual([]);
      a.bus.removeRoute(group);
    });

    it('with a peer: the group is visible there once addRoute resolves, a message sent for it arrives with the group, removal withdraws it', async () => {
      const f = fx();
      if (!f.crossNode) return; // single-node backends have no peer to route to
      const topic = uniqueId('shared');
      const group = `$share/g/${topic}/+`;
      const got: Array<[string, readonly string[] | undefined]> = [];
      f.a.bus.onMessage((m: Message, groups) => {
        if (m.topic.startsWith(topic)) got.push([m.payload.toString(), groups]);
      });
      await f.a.bus.addRoute(group);
      expect(routesFor(f.b.bus, `${topic}/x`).map((r) => [r.group, [...r.nodes]])).toEqual([[group, [f.a.bus.nodeId]]]);
      expect(f.b.bus.sharedRouteCount).toBeGreaterThan(0);
      await f.b.bus.publish(message(`${topic}/x`, { payload: Buffer.from('for the group') }), new Map([[f.a.bus.nodeId, [group]]]));
      await waitFor(() => got.length === 1, 'the message at the chosen node');
      expect(got).toEqual([['for the group', [group]]]);
      f.a.bus.removeRoute(group);
      await waitFor(() => routesFor(f.b.bus, `${topic}/x`).length === 0, 'the group route withdrawn at the peer');
    });
  });
}
