// offline-sessions: the sessions this node indexes with no connection of its own — parked (expiry
// timer running here) and bridges (the client is back elsewhere; a short while of forwarding).
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { OfflineSessions, type OfflineSession } from '../../../src/broker/offline-sessions.js';
import type { SubscriptionOptions } from '../../../src/store/types.js';

const NEVER = 0xffff_ffff;
const subsA: ReadonlyMap<string, SubscriptionOptions> = new Map([['a/#', { qos: 1, since: 1 }]]);
const subsB: ReadonlyMap<string, SubscriptionOptions> = new Map([['b', { qos: 2 }]]);

let expired: ReturnType<typeof vi.fn<(clientId: string, session: OfflineSession) => void>>;
let bridgeEnded: ReturnType<typeof vi.fn<(clientId: string, session: OfflineSession) => void>>;
let offline: OfflineSessions;

beforeEach(() => {
  vi.useFakeTimers();
  expired = vi.fn();
  bridgeEnded = vi.fn();
  offline = new OfflineSessions(expired, bridgeEnded);
});
afterEach(() => {
  offline.close();
  vi.useRealTimers();
});

describe('OfflineSessions: parked', () => {
  // Fails if the interval is taken as ms rather than seconds (it would expire at once), if the
  // timer is not armed, or if the entry stays after its expiry (the index would keep it).
  it('expires after the interval in seconds, not before, and removes the entry', () => {
    offline.park('c1', 7, subsA, 30);
    expect(offline.size).toBe(1);
    expect(offline.get('c1')).toMatchObject({ epoch: 7, subscriptions: subsA, mode: 'parked' });
    vi.advanceTimersByTime(29_999);
    expect(expired).not.toHaveBeenCalled();
    expect(offline.get('c1')).toBeDefined();
    vi.advanceTimersByTime(1);
    expect(expired).toHaveBeenCalledTimes(1);
    expect(expired.mock.calls[0]![0]).toBe('c1');
    expect(expired.mock.calls[0]![1]).toMatchObject({ epoch: 7, subscriptions: subsA });
    expect(offline.get('c1')).toBeUndefined();
    expect(offline.size).toBe(0);
    expect(bridgeEnded).not.toHaveBeenCalled();
  });

  // Fails if an adopted session's remaining time is ignored (its expiry would start over at
  // adoption: a session offline for 20 s of its 30 would live 30 s more instead of 10) or if
  // 0xFFFFFFFF were armed because a remaining time was given.
  it('given what is left of the expiry (an adopted session), expires after that', () => {
    offline.park('c1', 7, subsA, 30, 10_000);
    vi.advanceTimersByTime(9_999);
    expect(expired).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(expired).toHaveBeenCalledTimes(1);
    offline.park('c2', 8, subsA, NEVER, 10_000);
    vi.advanceTimersByTime(1_000_000);
    expect(offline.get('c2')).toBeDefined();
  });

  // Fails if 0xFFFFFFFF is armed like any other interval (5.0 §3.1.2.11.2: it never expires), or
  // if the check is off by one (0xFFFFFFFE must still expire, ~136 years on).
  it('never expires with 0xFFFFFFFF; 0xFFFFFFFE does', () => {
    offline.park('forever', 1, subsA, NEVER);
    offline.park('long', 1, subsA, NEVER - 1);
    vi.advanceTimersByTime((NEVER - 1) * 1000);
    expect(expired).toHaveBeenCalledTimes(1);
    expect(expired.mock.calls[0]![0]).toBe('long');
    vi.advanceTimersByTime(10 * NEVER * 1000);
    expect(expired).toHaveBeenCalledTimes(1);
    expect(offline.get('forever')?.timer).toBeNull();
    expect(offline.size).toBe(1);
  });

  // Fails if take() leaves the expiry timer running (a client back on this node would later have
  // its session deleted under it) or does not remove/return the entry.
  it('take() returns and removes the entry and cancels its expiry', () => {
    offline.park('c1', 3, subsA, 5);
    const taken = offline.take('c1');
    expect(taken).toMatchObject({ epoch: 3, subscriptions: subsA, mode: 'parked' });
    expect(offline.get('c1')).toBeUndefined();
    expect(offline.size).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(60_000);
    expect(expired).not.toHaveBeenCalled();
    expect(offline.take('c1')).toBeUndefined();
  });

  // Fails if park() over an existing entry does not first take it: the old expiry timer would
  // still fire (and the identity check in ended() is then all that saves the new entry), or size
  // would count the client twice.
  it('parking again replaces the entry and its timer', () => {
    offline.park('c1', 1, subsA, 5);
    vi.advanceTimersByTime(4_000);
    offline.park('c1', 2, subsB, 10);
    expect(offline.size).toBe(1);
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(9_999);
    expect(expired).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(expired).toHaveBeenCalledTimes(1);
    expect(expired.mock.calls[0]![1]).toMatchObject({ epoch: 2, subscriptions: subsB });
  });
});

describe('OfflineSessions: bridges', () => {
  // Fails if bridge() keeps the parked entry's expiry timer (the session, now held elsewhere,
  // would be deleted from the store), if it counts the bridge in size, or if the end does not
  // remove the entry and call onBridgeEnd (not onExpired).
  it('turns a parked entry into a bridge that ends after ms', () => {
    offline.park('c1', 4, subsA, 2);
    expect(offline.bridge('c1', 3_000)).toBeUndefined(); // not new: the caller indexed it already
    expect(offline.get('c1')).toMatchObject({ epoch: 4, subscriptions: subsA, mode: 'bridge' });
    expect(offline.size).toBe(0);
    expect(offline.bridgeCount).toBe(1);
    vi.advanceTimersByTime(2_999); // past the 2 s expiry
    expect(expired).not.toHaveBeenCalled();
    expect(bridgeEnded).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(bridgeEnded).toHaveBeenCalledTimes(1);
    expect(bridgeEnded.mock.calls[0]![0]).toBe('c1');
    expect(bridgeEnded.mock.calls[0]![1]).toMatchObject({ epoch: 4, mode: 'bridge' });
    expect(offline.get('c1')).toBeUndefined();
    expect(offline.bridgeCount).toBe(0);
    expect(offline.size).toBe(0);
    expect(expired).not.toHaveBeenCalled();
  });

  // Fails if an unknown id with subscriptions is ignored (a client claimed from a dead node would
  // get no forwarding), if the new entry is not returned (the caller would not index it), or if it
  // is counted as parked.
  it('opens a bridge for an unknown id given subscriptions, and returns it', () => {
    const created = offline.bridge('c2', 1_000, subsB);
    expect(created).toMatchObject({ epoch: 0, subscriptions: subsB, mode: 'bridge' });
    expect(offline.get('c2')).toBe(created);
    expect(offline.size).toBe(0);
    expect(offline.bridgeCount).toBe(1);
    vi.advanceTimersByTime(999);
    expect(bridgeEnded).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(bridgeEnded).toHaveBeenCalledWith('c2', created);
    expect(offline.bridgeCount).toBe(0);
  });

  // Fails if bridge() without subscriptions creates an entry for an unknown id (with no
  // subscriptions to index) or arms a timer for it.
  it('does nothing for an unknown id without subscriptions', () => {
    expect(offline.bridge('nobody', 1_000)).toBeUndefined();
    expect(offline.get('nobody')).toBeUndefined();
    expect(offline.bridgeCount).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(5_000);
    expect(bridgeEnded).not.toHaveBeenCalled();
  });

  // Fails if given subscriptions replace those of an entry already here (the caller indexed the
  // old ones and would be told nothing new), or the existing entry is reported as new.
  it('keeps an existing entry\'s subscriptions when given others', () => {
    offline.park('c1', 1, subsA, NEVER);
    expect(offline.bridge('c1', 1_000, subsB)).toBeUndefined();
    expect(offline.get('c1')!.subscriptions).toBe(subsA);
  });

  // Fails if re-bridging leaves the first end timer running (the bridge would end early, maybe
  // twice) or counts the same bridge again (bridgeCount would never get back to 0).
  it('re-bridging re-arms the end and counts the bridge once', () => {
    offline.bridge('c1', 3_000, subsA);
    vi.advanceTimersByTime(2_000);
    expect(offline.bridge('c1', 3_000)).toBeUndefined();
    expect(offline.bridgeCount).toBe(1);
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(2_999); // 4,999 ms after the first: past its end
    expect(bridgeEnded).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(bridgeEnded).toHaveBeenCalledTimes(1);
    expect(offline.bridgeCount).toBe(0);
    vi.advanceTimersByTime(10_000);
    expect(bridgeEnded).toHaveBeenCalledTimes(1);
  });

  // Fails if take() forgets to decrement bridgeCount for a bridge (locally published messages
  // would be numbered forever) or leaves its end timer running.
  it('take() of a bridge decrements bridgeCount and cancels its end', () => {
    offline.bridge('c1', 1_000, subsA);
    offline.park('c2', 1, subsB, NEVER);
    offline.bridge('c2', 1_000);
    expect(offline.bridgeCount).toBe(2);
    expect(offline.take('c1')).toMatchObject({ mode: 'bridge', subscriptions: subsA });
    expect(offline.bridgeCount).toBe(1);
    vi.advanceTimersByTime(1_000);
    expect(bridgeEnded).toHaveBeenCalledTimes(1);
    expect(bridgeEnded.mock.calls[0]![0]).toBe('c2');
    expect(offline.bridgeCount).toBe(0);
  });

  // Fails if park() over a bridge does not take it first (bridgeCount would stay 1 and size would
  // read 0 for a parked session), or the bridge's end timer survives and removes the parked entry.
  it('parking over a bridge makes it a parked session again', () => {
    offline.bridge('c1', 1_000, subsA);
    offline.park('c1', 9, subsB, NEVER);
    expect(offline.bridgeCount).toBe(0);
    expect(offline.size).toBe(1);
    vi.advanceTimersByTime(5_000);
    expect(bridgeEnded).not.toHaveBeenCalled();
    expect(offline.get('c1')).toMatchObject({ epoch: 9, mode: 'parked' });
  });

  // Fails if size and bridgeCount are not kept apart: size is parked sessions only.
  it('size counts parked sessions, bridgeCount bridges', () => {
    offline.park('p1', 1, subsA, NEVER);
    offline.park('p2', 1, subsA, 60);
    offline.park('p3', 1, subsA, 60);
    offline.bridge('p3', 1_000);
    offline.bridge('b1', 1_000, subsB);
    expect(offline.size).toBe(2);
    expect(offline.bridgeCount).toBe(2);
  });
});

describe('OfflineSessions: close', () => {
  // Fails if close() leaves expiry or bridge timers running (a shutting-down node would delete
  // sessions from the store, or fire callbacks into a closed broker), or drops the entries.
  it('stops every timer and keeps the entries', () => {
    offline.park('p', 1, subsA, 1);
    offline.bridge('b', 1_000, subsB);
    offline.close();
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(60_000);
    expect(expired).not.toHaveBeenCalled();
    expect(bridgeEnded).not.toHaveBeenCalled();
    expect(offline.get('p')).toBeDefined();
    expect(offline.size).toBe(1);
    expect(offline.bridgeCount).toBe(1);
  });
});
