// The terminal form of log lines (src/log-format.ts). Fails if formatLine drops the message, the
// fields or the level, quotes plain values (or stops quoting ones with spaces), prints pid, loses
// an error's stack, or fails on a line that is not JSON.
import { describe, expect, it } from 'vitest';
import { formatLine, formatValue, prettyStream } from '../../src/log-format.js';

/** The local time of day formatLine prints for ms. */
function clock(ms: number): string {
  const d = new Date(ms);
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

const time = Date.UTC(2026, 0, 2, 3, 4, 5, 67);

describe('formatLine', () => {
  it('prints time, level, message and key=value fields on one line, without pid', () => {
    const json = JSON.stringify({ level: 30, time, pid: 42, clientId: 'c1', address: '127.0.0.1', keepalive: 60, cleanStart: true, username: undefined, msg: 'client connected' });
    expect(formatLine(`${json}\n`)).toBe(`${clock(time)} INFO  client connected clientId=c1 address=127.0.0.1 keepalive=60 cleanStart=true\n`);
  });

  it('quotes values with spaces, quotes or =, and prints objects as JSON', () => {
    const json = JSON.stringify({ level: 20, time, msg: 'subscribed', clientId: 'a b', subscriptions: [{ filter: 'a/#', granted: 1 }] });
    expect(formatLine(json)).toBe(`${clock(time)} DEBUG subscribed clientId="a b" subscriptions=[{"filter":"a/#","granted":1}]\n`);
    expect(formatValue('x=y')).toBe('"x=y"');
    expect(formatValue('')).toBe('""');
    expect(formatValue(null)).toBe('null');
  });

  it('prints an error as its message, its stack on the lines below', () => {
    const json = JSON.stringify({ level: 50, time, msg: 'could not publish a will', err: { type: 'Error', message: 'boom', stack: 'Error: boom\n    at f (a.js:1:1)\n    at g (b.js:2:2)' } });
    expect(formatLine(json)).toBe(`${clock(time)} ERROR could not publish a will err=boom\n    at f (a.js:1:1)\n    at g (b.js:2:2)\n`);
  });

  it('colors the level when asked, and passes a line that is not JSON through', () => {
    expect(formatLine(JSON.stringify({ level: 40, time, msg: 'redis unavailable' }), true)).toBe(`${clock(time)} \x1b[33mWARN \x1b[0m redis unavailable\n`);
    expect(formatLine('not json')).toBe('not json\n');
  });

  it('prettyStream writes the formatted line to its output', () => {
    const out: string[] = [];
    prettyStream({ write: (s: string) => void out.push(s) }, false).write(`${JSON.stringify({ level: 10, time, msg: 'packet', cmd: 'pingreq' })}\n`);
    expect(out).toEqual([`${clock(time)} TRACE packet cmd=pingreq\n`]);
  });
});
