// Whom a replayed message is for. After a node's death, the frames it had received and perhaps
// not handed on are replayed into the sessions it held (adopted elsewhere, or already back on
// another node). A message goes only to a session that was subscribed when it was published:
// each subscription carries the time it began (SubscriptionOptions.since), each replayed message
// the time its sender sent it. Clocks of one cluster's hosts are assumed to agree to within the
// time between a subscription and a message published because of it (NTP does much better).
import { isSharedSubscription } from '../protocol/index.js';
import type { SubscriptionOptions } from '../store/types.js';
import type { Target } from './outgoing.js';
import { topicMatchesFilter } from './topic-match.js';

/** Whether a subscription existed when a message sent at sentAt was published (unknown times: yes). */
export function subscribedAt(options: SubscriptionOptions, sentAt: number | undefined): boolean {
  return sentAt === undefined || options.since === undefined || options.since <= sentAt;
}

/**
 * The delivery target of topic for one session's subscriptions that existed at sentAt (shared
 * subscriptions aside: a group gets a replayed message through one member, chosen by the caller),
 * merged as the live index merges them: highest QoS, Retain As Published if any, every id.
 */
export function replayTarget(topic: string, subscriptions: ReadonlyMap<string, SubscriptionOptions>, sentAt: number | undefined): Target | null {
  let target: Target | null = null;
  for (const [filter, options] of subscriptions) {
    if (isSharedSubscription(filter) || !subscribedAt(options, sentAt) || !topicMatchesFilter(topic, filter)) continue;
    target ??= { qos: 0, rap: false, subIds: undefined };
    if (options.qos > target.qos) target.qos = options.qos;
    if (options.rap === true) target.rap = true;
    if (options.subscriptionId !== undefined) (target.subIds ??= []).push(options.subscriptionId);
  }
  return target;
}
