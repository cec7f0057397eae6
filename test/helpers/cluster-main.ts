// The CLI's cluster path for tests, run from source through tsx: parse flags, runCluster.
// (bin/starling.js reaches the same runCluster once src/cli.ts calls it when --redis is set.)
import { parseConfig } from '../../src/config.js';
import { createLogger } from '../../src/log.js';
import { runCluster } from '../../src/cluster/index.js';

const config = parseConfig(process.argv.slice(2));
runCluster(config, createLogger(config.logLevel)).catch((err: unknown) => {
  process.stderr.write(`starling: ${(err as Error)?.stack ?? String(err)}\n`);
  process.exit(1);
});
