// drop-log: every drop is counted ($SYS .../messages/dropped); the log gets at most one line per
// client per interval, carrying how many were dropped since that client's last line.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DropLog } from '../../../src/broker/drop-log.js';
import { BrokerCounters } from '../../../src/broker/stats.js';
import type { Logger } from '../../../src/log.js';

const T0 = 1_764_000_000_000;

type Line = { obj: Record<string, unknown>; msg: string };
function fakeLog(): { log: Logger; lines: Line[] } {
  const lines: Line[] = [];
  const log = { warn: (obj: Record<string, unknown>, msg: string) => lines.push({ obj, msg }) } as unknown as Logger;
  return { log, lines };
}

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(T0);
});
afterEach(() => {
  vi.useRealTimers();
});

describe('DropLog', () => {
  // Fails if the counter is bumped only when a line is logged (the $SYS figure would count lines,
  // not messages) or not at all.
  it('counts every drop, logged or not', () => {
    const counters = new BrokerCounters();
    const { log, lines } = fakeLog();
    const drops = new DropLog(counters, log, 1000);
    for (let i = 0; i < 50; i++) drops.dropped('c1', 'queue full');
    drops.dropped('c2', 'too large');
    expect(counters.messagesDropped).toBe(51);
    expect(lines).toHaveLength(2);
  });

  // Fails if the first drop of a client waits for an interval before it is logged, or if the line
  // loses the client id, the count, the reason or the caller's details.
  it('logs the first drop at once, with client, count, reason and details', () => {
    const { log, lines } = fakeLog();
    const drops = new DropLog(new BrokerCounters(), log, 1000);
    drops.dropped('c1', 'too large for the client', { size: 5000, maximumPacketSize: 1024 });
    expect(lines).toEqual([{
      obj: { clientId: 'c1', dropped: 1, reason: 'too large for the client', size: 5000, maximumPacketSize: 1024 },
      msg: 'dropped messages for a client: too large for the client',
    }]);
  });

  // Fails if every drop is logged (a burst would be thousands of lines), if the drops of an interval
  // are not written when it ends (a burst's last drops never logged: the client may never drop
  // again), or if the count is not reset after a line.
  it('writes one line per interval with the number dropped in it, the last ones included', () => {
    const { log, lines } = fakeLog();
    const drops = new DropLog(new BrokerCounters(), log, 1000);
    drops.dropped('c1', 'queue full'); // at once: 1
    for (let i = 0; i < 4; i++) drops.dropped('c1', 'queue full');
    vi.advanceTimersByTime(999);
    expect(lines.map((l) => l.obj.dropped)).toEqual([1]);
    vi.advanceTimersByTime(1); // the interval ends: the 4
    expect(lines.map((l) => l.obj.dropped)).toEqual([1, 4]);
    drops.dropped('c1', 'queue full');
    drops.dropped('c1', 'queue full');
    vi.advanceTimersByTime(1000); // the 2 of the second interval, though no drop follows
    expect(lines.map((l) => l.obj.dropped)).toEqual([1, 4, 2]);
  });

  // Fails if a client quiet for a whole interval is not forgotten (the map would hold every client
  // that ever dropped) or if its next drop then waits for the interval instead of being said at once.
  it('forgets a client quiet for an interval; its next drop is logged at once', () => {
    const { log, lines } = fakeLog();
    const drops = new DropLog(new BrokerCounters(), log, 1000);
    drops.dropped('c1', 'queue full');
    const known = (drops as unknown as { clients: Map<string, unknown> }).clients;
    vi.advanceTimersByTime(1000); // nothing more: nothing written, still known for one interval
    expect(lines).toHaveLength(1);
    vi.advanceTimersByTime(1000);
    expect(known.size).toBe(0);
    drops.dropped('c1', 'too large');
    expect(lines.map((l) => [l.obj.dropped, l.obj.reason])).toEqual([[1, 'queue full'], [1, 'too large']]);
  });

  // Fails if the state is kept for the broker as a whole rather than per client (one noisy client
  // would silence the first line of another, or take its counts).
  it('keeps each client to its own count', () => {
    const { log, lines } = fakeLog();
    const drops = new DropLog(new BrokerCounters(), log, 1000);
    drops.dropped('c1', 'queue full');
    drops.dropped('c1', 'queue full');
    drops.dropped('c2', 'queue full'); // c2's first: logged although c1 is dropping
    drops.dropped('c2', 'queue full');
    drops.dropped('c2', 'queue full');
    vi.advanceTimersByTime(1000);
    expect(lines.map((l) => [l.obj.clientId, l.obj.dropped])).toEqual([['c1', 1], ['c2', 1], ['c1', 1], ['c2', 2]]);
  });

  // Fails if the default interval (LOG_INTERVAL_MS) is not 10 s.
  it('defaults to one line per 10 s', () => {
    const { log, lines } = fakeLog();
    const drops = new DropLog(new BrokerCounters(), log);
    drops.dropped('c1', 'queue full');
    drops.dropped('c1', 'queue full');
    vi.advanceTimersByTime(9_999);
    expect(lines).toHaveLength(1);
    vi.advanceTimersByTime(1);
    expect(lines.map((l) => l.obj.dropped)).toEqual([1, 1]);
  });

  // Fails if close() leaves drops unwritten or the timer running.
  it('close() writes what is pending and stops the timer', () => {
    const { log, lines } = fakeLog();
    const drops = new DropLog(new BrokerCounters(), log, 1000);
    drops.dropped('c1', 'queue full');
    drops.dropped('c1', 'queue full');
    drops.close();
    expect(lines.map((l) => l.obj.dropped)).toEqual([1, 1]);
    expect(vi.getTimerCount()).toBe(0);
  });
});
