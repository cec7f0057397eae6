// CPU time a broker used during a run: utime + stime of its processes (and their children) from
// /proc. When the swarm is the limit, msg/s says what the swarm could push; broker CPU per message
// still says how much work each message cost the broker, which is what its capacity depends on.
import { readFileSync } from 'node:fs';
import { descendantsOf } from '../../src/bench/broker-rss.js';

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

function cpuTicks(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[11], fields[12]: utime, stime (the 14th and 15th fields of /proc/PID/stat)
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return NaN; // gone: the broker crashed, or a child exited
  }
}

/** Per-process CPU seconds so far, for pids and their descendants (workers come and go rarely). */
export function cpuSnapshot(pids: number[]): Map<number, number> {
  const snapshot = new Map<number, number>();
  for (const pid of new Set(pids.flatMap((p) => descendantsOf(p)))) snapshot.set(pid, cpuTicks(pid) / TICKS_PER_SECOND);
  return snapshot;
}

/**
 * CPU seconds used between two snapshots (a process that appeared in between counts from 0, one
 * that exited counts what it had). NaN when one of the broker's own processes (roots) is gone
 * after the run: it crashed under the load, so its CPU is unknown and left out of the medians.
 */
export function cpuSecondsBetween(before: Map<number, number>, after: Map<number, number>, roots: readonly number[]): number {
  if (roots.some((pid) => !Number.isFinite(after.get(pid) ?? NaN))) return NaN;
  let total = 0;
  for (const [pid, seconds] of after) {
    const was = before.get(pid) ?? 0;
    if (Number.isFinite(seconds) && Number.isFinite(was) && seconds > was) total += seconds - was;
  }
  return total;
}
