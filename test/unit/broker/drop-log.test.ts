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

  // Fails if every drop is logged (a burst would be thousands of lines), if the interval is
  // measured from the first drop of a burst rather than from the last line, if the bound becomes
  // `<=` (one ms late), or if the count is not reset after a line.
  it('logs at most one line per interval, with the number dropped since the last line', () => {
    const { log, lines } = fakeLog();
    const drops = new DropLog(new BrokerCounters(), log, 1000);
    drops.dropped('c1', 'queue full'); // line 1: 1
    vi.advanceTimersByTime(400);
    for (let i = 0; i < 4; i++) drops.dropped('c1', 'queue full');
    vi.advanceTimersByTime(599); // 999 ms after line 1
    drops.dropped('c1', 'queue full');
    expect(lines.map((l) => l.obj.dropped)).toEqual([1]);
    vi.advanceTimersByTime(1); // 1000 ms after line 1
    drops.dropped('c1', 'queue full'); // line 2: the 4 + 1 + this one
    expect(lines.map((l) => l.obj.dropped)).toEqual([1, 6]);
    vi.advanceTimersByTime(999);
    drops.dropped('c1', 'queue full');
    vi.advanceTimersByTime(5000);
    drops.dropped('c1', 'queue full'); // line 3: 2
    expect(lines.map((l) => l.obj.dropped)).toEqual([1, 6, 2]);
  });

  // Fails if the state is kept for the broker as a whole rather than per client (one noisy
  // client would silence the lines, or take the counts, of every other).
  it('keeps each client to its own interval and count', () => {
    const { log, lines } = fakeLog();
    const drops = new DropLog(new BrokerCounters(), log, 1000);
    drops.dropped('c1', 'queue full'); // c1 line at T0
    vi.advanceTimersByTime(500);
    drops.dropped('c1', 'queue full');
    drops.dropped('c2', 'queue full'); // c2's first: logged although c1's interval is running
    vi.advanceTimersByTime(500);
    drops.dropped('c2', 'queue full'); // c2: 500 ms since its line
    drops.dropped('c1', 'queue full'); // c1: 1000 ms since its line
    expect(lines.map((l) => [l.obj.clientId, l.obj.dropped])).toEqual([['c1', 1], ['c2', 1], ['c1', 2]]);
    vi.advanceTimersByTime(499);
    drops.dropped('c2', 'queue full');
    expect(lines).toHaveLength(3);
    vi.advanceTimersByTime(1);
    drops.dropped('c2', 'queue full'); // c2: 1000 ms since its line
    expect(lines.map((l) => [l.obj.clientId, l.obj.dropped])).toEqual([['c1', 1], ['c2', 1], ['c1', 2], ['c2', 3]]);
  });

  // Fails if the default interval (LOG_INTERVAL_MS) is not 10 s.
  it('defaults to one line per 10 s', () => {
    const { log, lines } = fakeLog();
    const drops = new DropLog(new BrokerCounters(), log);
    drops.dropped('c1', 'queue full');
    vi.advanceTimersByTime(9_999);
    drops.dropped('c1', 'queue full');
    expect(lines).toHaveLength(1);
    vi.advanceTimersByTime(1);
    drops.dropped('c1', 'queue full');
    expect(lines.map((l) => l.obj.dropped)).toEqual([1, 2]);
  });

  // Fails if the clean-up of old clients (past 1000 known) also forgets a client with drops not
  // yet logged (its next line would under-report), or forgets nothing (the map grows with every
  // client ever seen).
  it('past 1000 clients, forgets idle ones but keeps a client with unlogged drops', () => {
    const { log, lines } = fakeLog();
    const drops = new DropLog(new BrokerCounters(), log, 1000);
    drops.dropped('pending', 'queue full');
    drops.dropped('pending', 'queue full'); // 1 logged, 1 unlogged
    for (let i = 0; i < 1000; i++) drops.dropped(`idle-${i}`, 'queue full');
    const known = (drops as unknown as { clients: Map<string, unknown> }).clients;
    expect(known.size).toBe(1001);
    vi.advanceTimersByTime(1001);
    drops.dropped('newcomer', 'queue full'); // > 1000 known: the clean-up runs
    expect(known.size).toBe(2);
    drops.dropped('pending', 'queue full');
    expect(lines.at(-1)!.obj).toMatchObject({ clientId: 'pending', dropped: 2 });
  });
});
