// SIGHUP: the config (file, environment and flags, as at start) read again and compared with the
// running one. What can change while clients are connected is applied (LIVE_FLAGS); every other
// change is logged as needing a restart. A bad file changes nothing: one error line.
import { ConfigError, OPTIONS, type BrokerConfig } from './config.js';
import { loadConfig } from './config-file.js';
import type { Broker } from './broker/broker.js';
import type { Logger } from './log.js';

/**
 * The keys applied live. Limits take effect for what happens next: max-queued/max-queued-bytes
 * on the next message queued; max-write-buffer on the next QoS 0 delivery; connect-timeout on the
 * next sweep (at most a second late); max-inflight and max-keepalive for connections made after.
 */
export const LIVE_FLAGS: readonly string[] = ['log-level', 'max-queued', 'max-queued-bytes', 'max-write-buffer', 'connect-timeout', 'max-inflight', 'max-keepalive'];

export interface ConfigChanges {
  /** Flags (file keys) whose new value was applied. */
  live: string[];
  /** Flags whose new value waits for a restart. */
  restart: string[];
}

/** The flags (and `listeners`) whose values differ between the running config and the one read again. */
export function configChanges(running: BrokerConfig, next: BrokerConfig): ConfigChanges {
  const changes: ConfigChanges = { live: [], restart: [] };
  const differs = (key: keyof BrokerConfig): boolean => JSON.stringify(running[key]) !== JSON.stringify(next[key]);
  for (const option of OPTIONS) {
    if (!differs(option.key)) continue;
    (LIVE_FLAGS.includes(option.flag) ? changes.live : changes.restart).push(option.flag);
  }
  // listeners: a file key (a list), not a flag of OPTIONS unless one is added for it.
  if (!OPTIONS.some((o) => o.key === 'listeners') && differs('listeners')) changes.restart.push('listeners');
  return changes;
}

/** loadConfig again with the start's argv and env; null (after one error line) when the file is now bad. */
export function rereadConfig(argv: readonly string[], env: NodeJS.ProcessEnv, log: Logger): BrokerConfig | null {
  try {
    return loadConfig(argv, env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    log.error(`config not reloaded, nothing changed: ${err.message}`);
    return null;
  }
}

/**
 * Applies the live part of `next` to the broker and loggers, logs what changed and what needs a
 * restart, and returns the config now running (the old one with the live keys changed).
 */
export function applyConfig(running: BrokerConfig, next: BrokerConfig, broker: Broker, loggers: readonly Logger[], log: Logger): BrokerConfig {
  const { live, restart } = configChanges(running, next);
  const now = { ...running };
  for (const option of OPTIONS) if (live.includes(option.flag)) (now as unknown as Record<string, unknown>)[option.key] = next[option.key];
  if (live.length === 0 && restart.length === 0) log.info('config reloaded: no changes');
  // Said before the level changes, so a quieter level still shows what was done.
  if (live.length > 0) log.info({ applied: Object.fromEntries(live.map((flag) => [flag, valueOf(next, flag)])) }, `config reloaded: applied ${live.join(', ')}`);
  for (const flag of restart) log.warn({ key: flag }, `config reloaded: ${flag} changed, needs a restart`);
  for (const logger of loggers) logger.level = now.logLevel;
  broker.setLiveLimits(now);
  // TLS certificates are re-read by SIGHUP itself (RunningBroker.reloadListeners in cli.ts and
  // cluster/worker.ts), whether or not the config changed.
  return now;
}

function valueOf(config: BrokerConfig, flag: string): unknown {
  const option = OPTIONS.find((o) => o.flag === flag);
  return option === undefined ? undefined : config[option.key];
}
