// Log lines as a logger wrote them: the raw JSON text of each (so duplicated keys, which
// JSON.parse would silently collapse, can be seen), parsed on demand, with a wait for a line.
import { createLogger, type Logger } from '../../src/log.js';
import type { LogLevel } from '../../src/config.js';
import { waitFor } from './wait.js';

export type LogLine = Record<string, unknown> & { level: number; msg: string };

export class LogCapture {
  readonly raw: string[] = [];
  readonly logger: Logger;

  constructor(level: LogLevel) {
    // Our own createLogger (its duplicate-key guard included), JSON into this capture.
    this.logger = createLogger(level, { format: 'json', stream: { write: (line: string) => void this.raw.push(line) } });
  }

  get lines(): LogLine[] {
    return this.raw.map((line) => JSON.parse(line) as LogLine);
  }

  /** The lines with this message (and, if given, this client id). */
  find(msg: string, clientId?: string): LogLine[] {
    return this.lines.filter((l) => l.msg === msg && (clientId === undefined || l.clientId === clientId));
  }

  /** Waits for the count-th line with this message (and client id); returns it. */
  async next(msg: string, clientId?: string, count = 1): Promise<LogLine> {
    await waitFor(() => this.find(msg, clientId).length >= count, `log line '${msg}'${clientId === undefined ? '' : ` for ${clientId}`}`);
    return this.find(msg, clientId)[count - 1]!;
  }
}

/** The keys that appear more than once in one object of this JSON text, at any depth. */
export function duplicatedKeys(json: string): string[] {
  const duplicates: string[] = [];
  let at = 0;
  const space = (): void => {
    while (/\s/.test(json[at] ?? '')) at++;
  };
  const string = (): string => {
    const start = at++;
    while (json[at] !== '"') at += json[at] === '\\' ? 2 : 1;
    at++;
    return JSON.parse(json.slice(start, at)) as string;
  };
  const value = (): void => {
    space();
    const c = json[at];
    if (c === '{') {
      at++;
      const seen = new Set<string>();
      space();
      while (json[at] !== '}') {
        space();
        const key = string();
        if (seen.has(key)) duplicates.push(key);
        seen.add(key);
        space();
        at++; // ':'
        value();
        space();
        if (json[at] === ',') at++;
        space();
      }
      at++;
    } else if (c === '[') {
      at++;
      space();
      while (json[at] !== ']') {
        value();
        space();
        if (json[at] === ',') at++;
        space();
      }
      at++;
    } else if (c === '"') string();
    else while (at < json.length && !/[,}\]\s]/.test(json[at]!)) at++;
  };
  value();
  return duplicates;
}
