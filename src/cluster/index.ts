// Cluster mode entry: `runCluster(config, log)` is called by the CLI when the store is in Redis (usesRedis).
// In the primary process it forks config.workers workers (1 included: the primary then still
// re-forks it when it dies and has it recovered); in a worker it runs one broker node.
import cluster from 'node:cluster';
import type { BrokerConfig } from '../config.js';
import { redisTargetOf } from '../config-redis.js';
import type { Reread } from './messages.js';
import type { Logger } from '../log.js';
import { Primary } from './primary.js';
import { runWorker, StartError } from './worker.js';
import type { StartFailedMessage } from './messages.js';

export { Primary } from './primary.js';
export { runWorker } from './worker.js';

/** Environment variable naming the key prefix (several clusters or tests on one Redis). */
export const PREFIX_ENV = 'STARLING_REDIS_PREFIX';

/** `reread`: SIGHUP's fresh read of the config (null after one error line when it is bad). */
export async function runCluster(config: BrokerConfig, log: Logger, reread?: Reread): Promise<void> {
  const prefix = process.env[PREFIX_ENV];
  if (cluster.isPrimary) {
    const redisTarget = redisTargetOf(config);
    new Primary({ workers: config.workers, logger: log, ...(redisTarget !== undefined ? { redisTarget } : {}), redisTimeoutMs: config.redisTimeoutMs, http: config.http, ...(reread !== undefined ? { reread } : {}) }).start();
    return;
  }
  try {
    await runWorker(config, log, { ...(prefix !== undefined ? { prefix } : {}), ...(reread !== undefined ? { reread } : {}) });
  } catch (err) {
    // Tell the primary why, in one line, and exit 1: it decides whether to fork again or give up.
    const fatal = err instanceof StartError && err.fatal;
    if (!fatal) log.error({ err }, 'worker: could not start');
    const report: StartFailedMessage = { starling: 'start-failed', reason: (err as Error)?.message ?? String(err), fatal };
    process.send?.(report, () => process.exit(1));
    setTimeout(() => process.exit(1), 1000);
  }
}
