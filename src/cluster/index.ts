// Cluster mode entry: `runCluster(config, log)` is called by the CLI when config.redis is set.
// In the primary process it forks config.workers workers (1 included: the primary then still
// re-forks it when it dies and has it recovered); in a worker it runs one broker node.
import cluster from 'node:cluster';
import type { BrokerConfig } from '../config.js';
import type { Logger } from '../log.js';
import { Primary } from './primary.js';
import { runWorker } from './worker.js';

export { Primary } from './primary.js';
export { runWorker } from './worker.js';

/** Environment variable naming the key prefix (several clusters or tests on one Redis). */
export const PREFIX_ENV = 'STARLING_REDIS_PREFIX';

export async function runCluster(config: BrokerConfig, log: Logger): Promise<void> {
  const prefix = process.env[PREFIX_ENV];
  if (cluster.isPrimary) {
    new Primary({ workers: config.workers, logger: log }).start();
    return;
  }
  await runWorker(config, log, prefix !== undefined ? { prefix } : {});
}
