// The terminal form of a log line: `12:01:02.345 INFO  client connected clientId=c1 keepalive=60`.
// pino writes JSON; on a terminal each line is parsed once more and printed compact (a person reads
// it, so the parse is cheap next to the reader). Pipes and files keep the JSON (log.ts).
import type { DestinationStream } from 'pino';

const LEVELS: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const COLORS: Record<number, string> = { 10: '\x1b[90m', 20: '\x1b[90m', 40: '\x1b[33m', 50: '\x1b[31m', 60: '\x1b[31m' };
const RESET = '\x1b[0m';
/** Fields every line has that a terminal reader does not need (one process: one pid). */
const HIDDEN = new Set(['level', 'time', 'msg', 'pid', 'hostname']);

/** One pino JSON line (with or without its newline) as one compact line and a newline; anything else as it came. */
export function formatLine(json: string, color = false): string {
  let line: Record<string, unknown>;
  try {
    line = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json.endsWith('\n') ? json : `${json}\n`;
  }
  const level = typeof line.level === 'number' ? line.level : 30;
  const label = (LEVELS[level] ?? String(line.level)).padEnd(5);
  const parts = [clock(typeof line.time === 'number' ? line.time : Date.now()), color && COLORS[level] !== undefined ? `${COLORS[level]}${label}${RESET}` : label];
  if (typeof line.msg === 'string' && line.msg !== '') parts.push(line.msg);
  let stack = '';
  for (const [key, value] of Object.entries(line)) {
    if (HIDDEN.has(key) || value === undefined) continue;
    if (key === 'err' && typeof value === 'object' && value !== null) {
      const err = value as { message?: unknown; stack?: unknown };
      parts.push(`err=${formatValue(err.message ?? value)}`);
      // The stack's first line repeats the message.
      if (typeof err.stack === 'string') stack = err.stack.split('\n').slice(1).map((l) => `\n    ${l.trim()}`).join('');
      continue;
    }
    parts.push(`${key}=${formatValue(value)}`);
  }
  return `${parts.join(' ')}${stack}\n`;
}

/** Bare when it reads unambiguously (no spaces, quotes or '='), JSON otherwise. */
export function formatValue(value: unknown): string {
  if (typeof value === 'string') return value !== '' && /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value);
  if (typeof value === 'object' && value !== null) return JSON.stringify(value);
  return String(value);
}

/** Local time of day, to the millisecond. */
function clock(ms: number): string {
  const d = new Date(ms);
  const pad = (n: number, width = 2): string => String(n).padStart(width, '0');
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

/** A pino destination writing formatLine's form to out (colored levels if color). */
export function prettyStream(out: DestinationStream, color: boolean): DestinationStream {
  return { write: (json: string) => void out.write(formatLine(json, color)) };
}
