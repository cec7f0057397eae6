// replay-target: whom a dead node's replayed message is for — only subscriptions that existed
// when it was sent, shared ones left to the caller, overlapping ones merged like the live index.
import { describe, expect, it } from 'vitest';
import { replayTarget, subscribedAt } from '../../../src/broker/replay-target.js';
import type { SubscriptionOptions } from '../../../src/store/types.js';

const T = 1_764_000_000_000;
const subs = (entries: Array<[string, SubscriptionOptions]>): ReadonlyMap<string, SubscriptionOptions> => new Map(entries);

describe('subscribedAt', () => {
  // Fails if the comparison becomes `<` (a subscription made in the same millisecond as the
  // message would lose it) or is flipped (a later subscription would get an older message).
  it('counts a subscription that began before or at the send time, not one that began after', () => {
    expect(subscribedAt({ qos: 1, since: T - 1 }, T)).toBe(true);
    expect(subscribedAt({ qos: 1, since: T }, T)).toBe(true);
    expect(subscribedAt({ qos: 1, since: T + 1 }, T)).toBe(false);
  });

  // Fails if an unknown time (a subscription from an older store record, or a message without a
  // send time) is treated as "too late": replay would then lose messages rather than risk nothing.
  it('counts unknown times: no since, no sentAt, or neither', () => {
    expect(subscribedAt({ qos: 1 }, T)).toBe(true);
    expect(subscribedAt({ qos: 1, since: T + 1000 }, undefined)).toBe(true);
    expect(subscribedAt({ qos: 0 }, undefined)).toBe(true);
  });
});

describe('replayTarget', () => {
  // Fails if the subscribedAt check is dropped from replayTarget (a session that subscribed after
  // the message was published would receive it on replay).
  it('ignores a matching subscription that began after the message was sent', () => {
    expect(replayTarget('a/b', subs([['a/b', { qos: 2, since: T + 1 }]]), T)).toBeNull();
    expect(replayTarget('a/b', subs([['a/b', { qos: 2, since: T + 1 }]]), undefined)).toEqual({ qos: 2, rap: false, subIds: undefined });
  });

  // Fails if a later overlapping subscription spoils the merge of the earlier one: only the
  // subscription that existed at sentAt contributes its QoS, rap and id.
  it('merges only the overlapping subscriptions that existed at the send time', () => {
    const target = replayTarget('a/b', subs([
      ['a/+', { qos: 1, since: T - 10, subscriptionId: 4 }],
      ['a/#', { qos: 2, rap: true, since: T + 10, subscriptionId: 5 }],
      ['#', { qos: 0 }],
    ]), T);
    expect(target).toEqual({ qos: 1, rap: false, subIds: [4] });
  });

  // Fails if the isSharedSubscription check goes. A '$share/g/<f>' filter never matches an
  // ordinary topic as a literal, so the check only shows on a topic that spells out the share
  // prefix; the second case pins that a group's inner filter is not matched either (the caller
  // replays to a group through one member; merging it here would give it a copy per member).
  it('skips shared subscriptions, even one whose text matches the topic', () => {
    expect(replayTarget('$share/g/a', subs([['$share/g/a', { qos: 2, subscriptionId: 9 }], ['$share/g/#', { qos: 1 }]]), T)).toBeNull();
    const target = replayTarget('a/b', subs([
      ['$share/g/a/#', { qos: 2, rap: true, subscriptionId: 9 }],
      ['a/b', { qos: 1, subscriptionId: 1 }],
    ]), T);
    expect(target).toEqual({ qos: 1, rap: false, subIds: [1] });
  });

  // Fails if QoS is taken from the first or last match instead of the highest, if rap needs every
  // match (or only the last) instead of any, or if ids are overwritten instead of collected
  // [MQTT-3.3.4-3, 3.3.4-5].
  it('merges overlapping matches: highest QoS, rap if any, every subscription id', () => {
    const target = replayTarget('sport/tennis/player1', subs([
      ['sport/#', { qos: 1, rap: true, subscriptionId: 3 }],
      ['sport/tennis/+', { qos: 2, subscriptionId: 7 }],
      ['sport/tennis/player1', { qos: 0, rap: false, subscriptionId: 11 }],
      ['other/#', { qos: 2, rap: true, subscriptionId: 99 }],
    ]), T);
    expect(target).not.toBeNull();
    expect(target!.qos).toBe(2);
    expect(target!.rap).toBe(true);
    expect([...target!.subIds!].sort((a, b) => a - b)).toEqual([3, 7, 11]);
  });

  // Fails if subIds starts as [] (the delivery would then carry an empty id list rather than none)
  // or if a match without an id pushes undefined into the list.
  it('leaves subIds undefined when no match has an id, and lists only the ids there are', () => {
    expect(replayTarget('a', subs([['a', { qos: 1 }], ['#', { qos: 0 }]]), T)).toEqual({ qos: 1, rap: false, subIds: undefined });
    expect(replayTarget('a', subs([['a', { qos: 1 }], ['+', { qos: 0, subscriptionId: 2 }]]), T)).toEqual({ qos: 1, rap: false, subIds: [2] });
  });

  // Fails if a QoS 0 match is confused with no match (the caller tells "no target" from "target
  // at QoS 0"), or if null is replaced by a default target when nothing matches.
  it('returns null when nothing matches, a QoS 0 target when a QoS 0 subscription does', () => {
    expect(replayTarget('a/b', subs([]), T)).toBeNull();
    expect(replayTarget('a/b', subs([['a/c', { qos: 2 }], ['a/b/c', { qos: 2 }], ['+', { qos: 1 }]]), T)).toBeNull();
    expect(replayTarget('a/b', subs([['a/b', { qos: 0 }]]), T)).toEqual({ qos: 0, rap: false, subIds: undefined });
  });

  // Fails if matching stops following MQTT-4.7.2-1: '#' must not replay $SYS messages.
  it('does not match a $ topic with a wildcard-first filter', () => {
    expect(replayTarget('$SYS/x', subs([['#', { qos: 1 }], ['+/x', { qos: 1 }]]), T)).toBeNull();
    expect(replayTarget('$SYS/x', subs([['$SYS/#', { qos: 1 }]]), T)).toEqual({ qos: 1, rap: false, subIds: undefined });
  });

  // Fails if the merged target is shared between calls (a module-level object mutated in place):
  // a second message would inherit the first one's QoS and ids.
  it('builds a fresh target per call', () => {
    const s = subs([['a', { qos: 2, subscriptionId: 1 }], ['b', { qos: 1 }]]);
    const first = replayTarget('a', s, T);
    const second = replayTarget('b', s, T);
    expect(second).toEqual({ qos: 1, rap: false, subIds: undefined });
    expect(first).toEqual({ qos: 2, rap: false, subIds: [1] });
  });
});
