// The primary's accept balance: who is told to stop or start accepting, from the workers' reports.
import { describe, expect, it } from 'vitest';
import { AcceptBalance } from '../../../src/cluster/accept-balance.js';

describe('AcceptBalance', () => {
  it('leaves workers within the slack of the mean alone', () => {
    const balance = new AcceptBalance<string>({ slack: 64 });
    expect(balance.report('a', 100, true)).toEqual([]);
    expect(balance.report('b', 0, true)).toEqual([]); // mean 50, limit 114
    expect(balance.report('a', 114, true)).toEqual([]);
  });

  it('stops a worker above mean + slack, and starts it again once it is back at the mean', () => {
    const balance = new AcceptBalance<string>({ slack: 64 });
    balance.report('b', 0, true);
    expect(balance.report('a', 150, true)).toEqual([['a', false, 'above its share']]); // mean 75, limit 139
    expect(balance.wants('a')).toBe(false);
    // Reports in between (the pause confirmed, b filling up) ask nothing again.
    expect(balance.report('a', 150, false)).toEqual([]);
    expect(balance.report('b', 100, true)).toEqual([]); // mean 125: a is above it
    expect(balance.report('b', 150, true)).toEqual([['a', true, 'back at its share']]); // mean 150: a is at it
    expect(balance.wants('a')).toBe(true);
  });

  it('uses the share of the mean as slack when that is larger', () => {
    const balance = new AcceptBalance<string>({ slack: 64, slackShare: 0.5 });
    balance.report('b', 1000, true);
    expect(balance.report('a', 1600, true)).toEqual([]); // mean 1300, limit 1950
    expect(balance.report('a', 3000, true)).toEqual([]); // mean 2000, limit 3000: not above
    expect(balance.report('a', 3100, true)).toEqual([['a', false, 'above its share']]); // mean 2050, limit 3075
  });

  it('never stops the last worker that accepts', () => {
    const balance = new AcceptBalance<string>({ slack: 0, slackShare: 0 });
    balance.report('a', 0, true);
    balance.report('b', 0, true);
    balance.report('c', 0, true);
    // a is above the mean: stopped while b and c accept.
    expect(balance.report('a', 30, true)).toEqual([['a', false, 'above its share']]);
    balance.report('a', 30, false);
    // b reports it stopped accepting on its own (a failed listen): c is the only one left.
    balance.report('b', 0, false);
    expect(balance.report('c', 100, true)).toEqual([['a', true, 'back at its share']]); // a is now below the mean (43)
    // c is far above, but a has not confirmed it accepts again and b does not accept: c stays.
    expect(balance.report('c', 200, true)).toEqual([]);
    expect(balance.wants('c')).toBe(true);
    // Once a confirms, c may stop.
    expect(balance.report('a', 30, true)).toEqual([['c', false, 'above its share']]);
  });

  it('starts every stopped worker when a worker dies and leaves one alone', () => {
    const balance = new AcceptBalance<string>({ slack: 10 });
    balance.report('b', 0, true);
    expect(balance.report('a', 100, true)).toEqual([['a', false, 'above its share']]);
    balance.report('a', 100, false);
    expect(balance.remove('b')).toEqual([['a', true, 'the only worker']]);
    expect(balance.remove('b')).toEqual([]);
  });

  it('a new worker (a replacement) makes the loaded ones stop until it has caught up', () => {
    const balance = new AcceptBalance<string>({ slack: 64 });
    balance.report('a', 500, true);
    balance.report('b', 500, true);
    expect(balance.report('c', 0, true)).toEqual([['a', false, 'above its share'], ['b', false, 'above its share']]); // mean 333, limit 397
    balance.report('a', 500, false);
    balance.report('b', 500, false);
    expect(balance.report('c', 400, true)).toEqual([]); // mean 467: a and b still above
    expect(balance.report('c', 500, true)).toEqual([['a', true, 'back at its share'], ['b', true, 'back at its share']]);
  });

  it('a worker silent for staleMs does not count as accepting: the stopped ones are told to accept again', () => {
    const balance = new AcceptBalance<string>({ slack: 10, staleMs: 3000 });
    balance.report('b', 0, true, 0);
    expect(balance.report('a', 100, true, 0)).toEqual([['a', false, 'above its share']]);
    balance.report('a', 100, false, 500);
    expect(balance.tick(3000)).toEqual([]); // b was heard at 0: not stale yet
    expect(balance.tick(3001)).toEqual([['a', true, 'no other worker is heard accepting']]);
    expect(balance.tick(3500)).toEqual([]);
    // b is heard again: a, still far above its share, stops again.
    expect(balance.report('b', 0, true, 3600)).toEqual([['a', false, 'above its share']]);
  });
});
