// The one pino() call: JSON lines to stdout, or on a terminal one compact line each (log-format.ts).
// Every logger made here refuses duplicated keys (see uniqueKeys): a line is one JSON object
// whose keys each appear once, whatever child bindings and call sites pass.
import { pino, type DestinationStream, type Logger } from 'pino';
import type { LogFormat, LogLevel } from './config.js';
import { prettyStream } from './log-format.js';

export type { Logger };

export interface LoggerOptions {
  /** json, pretty, or auto (default): pretty when stdout is a terminal, JSON otherwise. */
  format?: LogFormat | undefined;
  /** Where lines go (default stdout); tests pass a stream they read. */
  stream?: DestinationStream | undefined;
}

export function createLogger(level: LogLevel, options: LoggerOptions = {}): Logger {
  const format = options.format ?? 'auto';
  const pretty = format === 'pretty' || (format === 'auto' && options.stream === undefined && process.stdout.isTTY === true);
  const settings = { level, base: { pid: process.pid }, hooks: { logMethod: uniqueKeys } };
  if (pretty) return pino(settings, prettyStream(options.stream ?? process.stdout, options.stream === undefined && process.stdout.isTTY === true));
  return options.stream === undefined ? pino(settings) : pino(settings, options.stream);
}

/** A logger that writes nothing (tests, embedding). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

/** Keys pino writes itself on every line (pid: base of createLogger), with the values they have. */
const SELF_WRITTEN = ['level', 'time', 'msg', 'pid', 'hostname'];
/** Per logger (a child has its own): the keys already on each of its lines, with their values where known. */
const boundFields = new WeakMap<Logger, ReadonlyMap<string, unknown>>();
/** Stands for a value no field can equal (level, time, msg). */
const UNEQUAL = Symbol('unequal');

/**
 * pino writes bindings and call-site fields side by side, so `log.child({ nodeId }).info({ nodeId })`
 * would print nodeId twice (and JSON.parse silently keep the last). A field that repeats a bound
 * one with the same value is left out; with another value, or clashing with level/time/msg, it is
 * kept as `_key`. Only lines at an enabled level get here; a line without such a clash is not copied.
 */
function uniqueKeys(this: Logger, args: unknown[], method: (...args: unknown[]) => void): void {
  const fields = args[0];
  if (typeof fields !== 'object' || fields === null || fields instanceof Error) return method.apply(this, args);
  let bound = boundFields.get(this);
  if (bound === undefined) {
    // bindings() leaves pid and hostname out; our base has pid.
    const known = new Map<string, unknown>(SELF_WRITTEN.map((key) => [key, key === 'pid' ? process.pid : UNEQUAL]));
    for (const [key, value] of Object.entries(this.bindings())) known.set(key, value);
    boundFields.set(this, (bound = known));
  }
  let copy: Record<string, unknown> | null = null;
  for (const key of Object.keys(fields)) {
    // A msg field only clashes when the line has a message of its own.
    if (!bound.has(key) || (key === 'msg' && typeof args[1] !== 'string')) continue;
    copy ??= { ...(fields as Record<string, unknown>) };
    const value = copy[key];
    delete copy[key];
    if (bound.get(key) !== value) copy[`_${key}`] = value;
  }
  if (copy !== null) args[0] = copy;
  method.apply(this, args);
}
