// recent-copies: a resumed session remembers, for a while, which origins (sender, seq) it sent, so
// a second copy of a message (direct route and store queue after a node's death) is skipped.
import { describe, expect, it } from 'vitest';
import { RecentCopies } from '../../../src/broker/recent-copies.js';

const T0 = 1_764_000_000_000;
const WATCH_MS = 10_000;
const MAX_REMEMBERED = 200_000;

describe('RecentCopies', () => {
  // Fails if has() ignores the sender or the seq (different origins would be taken for copies and
  // a message lost), or if add() does not record.
  it('knows an origin only once added, per sender and seq', () => {
    const copies = new RecentCopies(T0);
    expect(copies.has('n1', 1)).toBe(false);
    copies.add('n1', 1);
    expect(copies.has('n1', 1)).toBe(true);
    expect(copies.has('n1', 2)).toBe(false);
    expect(copies.has('n2', 1)).toBe(false);
    copies.add('n2', 1);
    expect(copies.has('n2', 1)).toBe(true);
    expect(copies.has('n1', 1)).toBe(true);
  });

  // Fails if seqs are keyed as 32-bit numbers or strings that collide: bus sequence numbers go
  // past 2^32 (bus-frames.test.ts uses 2^40 + n).
  it('tells large sequence numbers apart', () => {
    const copies = new RecentCopies(T0);
    copies.add('n1', 2 ** 40 + 7);
    expect(copies.has('n1', 2 ** 40 + 7)).toBe(true);
    expect(copies.has('n1', 7)).toBe(false);
    expect(copies.has('n1', 2 ** 40 + 8)).toBe(false);
  });

  // Fails if WATCH_MS changes, if the bound becomes `<=` (active one ms too long), or if the watch
  // is measured from the first add() rather than from construction.
  it('is active for WATCH_MS after construction, then not', () => {
    const copies = new RecentCopies(T0);
    expect(copies.active(T0)).toBe(true);
    expect(copies.active(T0 + WATCH_MS - 1)).toBe(true);
    expect(copies.active(T0 + WATCH_MS)).toBe(false);
    expect(copies.active(T0 + 10 * WATCH_MS)).toBe(false);
  });

  // Fails if extend() adds WATCH_MS to the old end instead of to now, or does nothing once the
  // watch is over (a forwarded-messages notice after 10 s must restart the check).
  it('extend(now) keeps watching WATCH_MS from now, also after the watch ran out', () => {
    const copies = new RecentCopies(T0);
    copies.extend(T0 + 4_000);
    expect(copies.active(T0 + 4_000 + WATCH_MS - 1)).toBe(true);
    expect(copies.active(T0 + 4_000 + WATCH_MS)).toBe(false);
    copies.extend(T0 + 60_000);
    expect(copies.active(T0 + 60_000)).toBe(true);
    expect(copies.active(T0 + 60_000 + WATCH_MS - 1)).toBe(true);
    expect(copies.active(T0 + 60_000 + WATCH_MS)).toBe(false);
  });

  // Fails if the size bound is removed (the set grows without limit under a long busy watch), if
  // it becomes `<=` (one more than MAX_REMEMBERED), or if size counts senders instead of origins.
  it('gives up at MAX_REMEMBERED origins, within the watch; extend() does not revive it', () => {
    const copies = new RecentCopies(T0);
    for (let seq = 0; seq < MAX_REMEMBERED - 1; seq++) copies.add(seq % 2 === 0 ? 'n1' : 'n2', seq);
    expect(copies.active(T0)).toBe(true);
    copies.add('n3', 0);
    expect(copies.active(T0)).toBe(false);
    copies.extend(T0 + 1);
    expect(copies.active(T0 + 1)).toBe(false);
    // What it holds is still right (the caller drops the object, but nothing is misreported).
    expect(copies.has('n1', 0)).toBe(true);
    expect(copies.has('n2', MAX_REMEMBERED - 3)).toBe(true); // odd: added under n2
    expect(copies.has('n3', 0)).toBe(true);
  });

  // Fails if add() bumps the count for an origin it already holds (the check would give up early
  // on a session that is sent the same origin repeatedly, e.g. a resend).
  it('counts the same origin once', () => {
    const copies = new RecentCopies(T0);
    for (let seq = 0; seq < MAX_REMEMBERED - 1; seq++) copies.add('n1', seq);
    for (let i = 0; i < 10; i++) copies.add('n1', 5);
    copies.add('n1', 0);
    expect(copies.active(T0)).toBe(true);
    copies.add('n2', 0); // the same seq from another sender is another origin
    expect(copies.active(T0)).toBe(false);
  });
});
