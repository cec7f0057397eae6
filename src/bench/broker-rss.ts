// Resident memory of the broker under test: VmRSS of a pid plus all its descendants,
// so a clustered broker (primary + workers) is measured as a whole.
import { readdirSync, readFileSync } from 'node:fs';

function vmRssBytes(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

function parentPid(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may contain spaces; the fields after the closing paren are fixed.
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return -1;
  }
}

export function descendantsOf(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid)) continue;
    const ppid = parentPid(pid);
    if (!children.has(ppid)) children.set(ppid, []);
    children.get(ppid)!.push(pid);
  }
  const out: number[] = [];
  const stack = [root];
  while (stack.length > 0) {
    const pid = stack.pop()!;
    out.push(pid);
    stack.push(...(children.get(pid) ?? []));
  }
  return out;
}

/** Returns undefined when a pid does not exist (or /proc is not readable). */
export function brokerRssBytes(pids: number[]): number | undefined {
  if (pids.some((pid) => vmRssBytes(pid) === 0)) return undefined;
  const all = new Set(pids.flatMap((pid) => descendantsOf(pid)));
  let sum = 0;
  for (const p of all) sum += vmRssBytes(p);
  return sum;
}
