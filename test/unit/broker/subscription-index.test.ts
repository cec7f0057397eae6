// SubscriptionIndex: per-client merge of overlapping subscriptions, No Local, and a match cache
// that never serves a stale answer (checked against the spec's reference matcher).
import { describe, expect, it } from 'vitest';
import { SubscriptionIndex, type MatchedClient } from '../../../src/broker/subscription-index.js';
import type { SubscriptionOptions } from '../../../src/store/types.js';
import { chance, mulberry32, pick } from '../../helpers/prng.js';
import { referenceMatch } from '../../helpers/reference-match.js';

const byClient = (matched: readonly MatchedClient[]) => new Map(matched.map((m) => [m.clientId, m]));

describe('SubscriptionIndex', () => {
  it('merges overlapping subscriptions of one client: highest QoS, RAP, every subscription id [MQTT-3.3.4-2, MQTT-3.3.4-3]', () => {
    const index = new SubscriptionIndex();
    index.add('a/+', 'c1', { qos: 0, subscriptionId: 1 });
    index.add('a/#', 'c1', { qos: 2, rap: true, subscriptionId: 2 });
    index.add('a/b', 'c2', { qos: 1 });
    const m = byClient(index.match('a/b'));
    expect(m.size).toBe(2);
    expect(m.get('c1')!.target).toEqual({ qos: 2, rap: true, subIds: [1, 2] });
    expect(m.get('c2')!.target).toEqual({ qos: 1, rap: false, subIds: undefined });
  });

  it('No Local: the origin gets the merge of its other subscriptions only, or nothing [v5:MQTT-3.8.3-3]', () => {
    const index = new SubscriptionIndex();
    index.add('x/#', 'c1', { qos: 1, nl: true });
    index.add('x/y', 'c1', { qos: 0 });
    index.add('x/y', 'c2', { qos: 2, nl: true });
    const m = byClient(index.match('x/y'));
    expect(m.get('c1')!.forOrigin).toEqual({ qos: 0, rap: false, subIds: undefined });
    expect(m.get('c1')!.target.qos).toBe(1);
    expect(m.get('c2')!.forOrigin).toBeNull();
  });

  it('a change of subscriptions is seen by the next match of a cached topic', () => {
    const index = new SubscriptionIndex();
    index.add('t/1', 'c1', { qos: 0 });
    expect(index.match('t/1').map((m) => m.clientId)).toEqual(['c1']);
    index.add('t/+', 'c2', { qos: 1 });
    expect(index.match('t/1').map((m) => m.clientId).sort()).toEqual(['c1', 'c2']);
    index.add('t/1', 'c1', { qos: 2 }); // replaced options
    expect(byClient(index.match('t/1')).get('c1')!.target.qos).toBe(2);
    expect(index.remove('t/1', 'c1')).toBe(true);
    expect(index.match('t/1').map((m) => m.clientId)).toEqual(['c2']);
  });

  it('random subscribe/unsubscribe/match sequences agree with the reference matcher (cache included)', () => {
    const rng = mulberry32(0x5eed);
    const levels = ['a', 'b', 'c', '$SYS'];
    const filters = ['#', '+', 'a', 'a/#', 'a/+', 'a/b', '+/b', '+/+/c', 'a/b/c', 'b/#', '$SYS/#', '$SYS/+'];
    const topics: string[] = [];
    for (let i = 0; i < 40; i++) {
      const depth = 1 + Math.floor(rng() * 3);
      topics.push(Array.from({ length: depth }, (_, d) => (d === 0 ? pick(rng, levels) : pick(rng, levels.slice(0, 3)))).join('/'));
    }
    const index = new SubscriptionIndex();
    const model = new Map<string, Map<string, SubscriptionOptions>>(); // client -> filter -> options
    for (let step = 0; step < 5000; step++) {
      const client = `c${Math.floor(rng() * 5)}`;
      const filter = pick(rng, filters);
      if (chance(rng, 0.1)) {
        const subs = model.get(client) ?? new Map<string, SubscriptionOptions>();
        model.set(client, subs);
        const options: SubscriptionOptions = { qos: Math.floor(rng() * 3) as 0 | 1 | 2 };
        subs.set(filter, options);
        index.add(filter, client, options);
      } else if (chance(rng, 0.08)) {
        model.get(client)?.delete(filter);
        index.remove(filter, client);
      } else {
        const topic = pick(rng, topics);
        const expected = new Map<string, number>();
        for (const [c, subs] of model) for (const [f, o] of subs) if (referenceMatch(f, topic)) expected.set(c, Math.max(expected.get(c) ?? -1, o.qos));
        const got = new Map(index.match(topic).map((m) => [m.clientId, m.target.qos]));
        expect(got).toEqual(expected);
      }
    }
  });
});
