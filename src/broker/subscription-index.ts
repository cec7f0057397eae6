// The local subscriptions: a TopicTree of (filter, client id) -> options, and in front of it a
// bounded cache of match results per topic, already merged per client.
//
// Most brokers see the same topics again and again (a sensor publishes on its own topic every
// few seconds), so deliverLocal would otherwise split the topic, walk the trie and merge
// overlapping subscriptions for every message. Subscriptions change rarely compared with
// messages: any change clears the cache (like the match cache of NATS' sublist). The cache holds
// at most MAX_CACHED topics, dropping the oldest first, so a stream of unique topics costs one
// failed lookup and one insert per message and no more memory.
import type { SubscriptionOptions } from '../store/types.js';
import type { Target } from './outgoing.js';
import { TopicTree } from './topic-tree.js';

const MAX_CACHED = 4096;

/** One client's merged view of every subscription of it matching a topic. */
export interface MatchedClient {
  readonly clientId: string;
  /** Overlapping subscriptions merged: highest QoS, any RAP, every subscription identifier [MQTT-3.3.4-3]. */
  readonly target: Readonly<Target>;
  /**
   * The same merge over the subscriptions without No Local, for a message this client published
   * itself [v5:MQTT-3.8.3-3]; null when all of them have No Local. Same object as target when none has it.
   */
  readonly forOrigin: Readonly<Target> | null;
}

function merge(into: Target | null, options: SubscriptionOptions): Target {
  if (into === null) return { qos: options.qos, rap: options.rap === true, subIds: options.subscriptionId !== undefined ? [options.subscriptionId] : undefined };
  if (options.qos > into.qos) into.qos = options.qos;
  if (options.rap === true) into.rap = true;
  if (options.subscriptionId !== undefined) (into.subIds ??= []).push(options.subscriptionId);
  return into;
}

export class SubscriptionIndex {
  private readonly tree = new TopicTree<SubscriptionOptions>();
  private readonly cache = new Map<string, readonly MatchedClient[]>();

  /** Number of (filter, client) subscriptions. */
  get size(): number {
    return this.tree.size;
  }

  /** Adds or replaces; true when the filter had no subscriber before (a route to announce). */
  add(filter: string, clientId: string, options: SubscriptionOptions): boolean {
    this.cache.clear();
    return this.tree.add(filter, clientId, options);
  }

  /** True when the filter has no subscriber left (a route to withdraw). */
  remove(filter: string, clientId: string): boolean {
    this.cache.clear();
    return this.tree.remove(filter, clientId);
  }

  /** The clients with a subscription matching topic, merged per client. Do not modify the result. */
  match(topic: string): readonly MatchedClient[] {
    let matched = this.cache.get(topic);
    if (matched === undefined) {
      matched = this.compute(topic);
      if (this.cache.size >= MAX_CACHED) this.cache.delete(this.cache.keys().next().value as string);
      this.cache.set(topic, matched);
    }
    return matched;
  }

  private compute(topic: string): readonly MatchedClient[] {
    const all = new Map<string, { target: Target | null; forOrigin: Target | null; noLocal: boolean }>();
    this.tree.match(topic, (clientId, options) => {
      let entry = all.get(clientId);
      if (entry === undefined) all.set(clientId, (entry = { target: null, forOrigin: null, noLocal: false }));
      entry.target = merge(entry.target, options);
      if (options.nl === true) entry.noLocal = true;
      else entry.forOrigin = merge(entry.forOrigin, options);
    });
    const out: MatchedClient[] = [];
    for (const [clientId, e] of all) out.push({ clientId, target: e.target!, forOrigin: e.noLocal ? e.forOrigin : e.target });
    return out;
  }
}
