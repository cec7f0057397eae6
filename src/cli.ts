// `starling [options]` runs the broker; `starling bench ...` runs the load-test tool;
// `starling passwd ...` edits a password file (src/passwd/).
import { ConfigError, envName, HelpRequested, OPTIONS, usage } from './config.js';
import { usesRedis } from './config-redis.js';
import { loadConfig } from './config-file.js';
import { printConfig } from './config-print.js';
import { applyConfig, rereadConfig } from './config-reload.js';
import { reloadCredentials } from './broker/auth/credentials.js';
import { loadPasswordFile, PasswordFileError } from './broker/auth/password-file.js';
import { createLogger, type Logger } from './log.js';
import { startBroker } from './index.js';
import { Acl, AclError } from './broker/acl/acl.js';
import { PluginError } from './broker/hooks/load.js';
import { existsSync, readFileSync } from 'node:fs';

/** Bound on shutdown: clients are told and wills published, but we never hang on a stuck peer. */
const SHUTDOWN_TIMEOUT_MS = 5000;

/** package.json's version, read next to this module (src/ under tsx, dist/ when built). */
function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

export async function runCli(argv: readonly string[]): Promise<number | 'running'> {
  if (argv[0] === 'bench') {
    // A variable specifier: the bench module is built separately and only loaded on demand.
    const benchPath = './bench/cli.js';
    const bench = (await import(benchPath)) as { runBenchCli(argv: string[]): Promise<number> };
    return bench.runBenchCli(argv.slice(1));
  }
  if (argv[0] === 'passwd') {
    const { runPasswdCli } = await import('./passwd/cli.js');
    return runPasswdCli(argv.slice(1));
  }
  if (argv.includes('--version')) {
    process.stdout.write(`${packageVersion()}\n`);
    return 0;
  }
  let config;
  try {
    config = loadConfig(argv);
  } catch (err) {
    if (err instanceof HelpRequested) {
      process.stdout.write(`${usage()}\n`);
      return 0;
    }
    if (err instanceof ConfigError) {
      process.stderr.write(`starling: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  if (argv.includes('--print-config')) {
    process.stdout.write(printConfig(config));
    return 0;
  }
  // SIGHUP reads the same argv, environment and --config file again.
  const reread = (log: Logger) => rereadConfig(argv, process.env, log);
  if (config.aclFile !== undefined) {
    // A bad ACL file stops the start with one line (file:line: what is wrong), in every mode.
    try {
      Acl.load(config.aclFile);
    } catch (err) {
      if (!(err instanceof AclError)) throw err;
      process.stderr.write(`starling: --acl-file: ${err.message}\n`);
      return 2;
    }
  }
  // A plugin path that is not a file stops the start here, before any worker is forked.
  const missing = config.plugins.find((path) => !existsSync(path));
  if (missing !== undefined) {
    process.stderr.write(`starling: --plugins: ${missing}: no such file\n`);
    return 2;
  }
  const log = createLogger(config.logLevel, { format: config.logFormat });
  // Said once: by the primary, not again by each cluster worker (node sets NODE_UNIQUE_ID in those).
  if (process.env.NODE_UNIQUE_ID === undefined) {
    for (const { flag } of OPTIONS.filter((o) => o.secret === true)) {
      if (!argv.some((a) => a === `--${flag}` || a.startsWith(`--${flag}=`))) continue;
      const instead = flag === 'password' ? 'use --password-file, or STARLING_PASSWORD in the environment' : `use ${envName(flag)} in the environment`;
      log.warn(`--${flag} on the command line is visible to other users of this machine (ps); ${instead}`);
    }
  }
  if (config.passwordFile !== undefined) {
    // Checked before anything starts (a cluster's primary too): one line naming the bad line, exit 1.
    try {
      loadPasswordFile(config.passwordFile);
    } catch (err) {
      if (!(err instanceof PasswordFileError)) throw err;
      process.stderr.write(`starling: ${err.message}\n`);
      return 1;
    }
  }
  if (usesRedis(config)) {
    // Cluster mode: the primary forks the workers; each worker runs a broker on the Redis backend.
    const { runCluster } = await import('./cluster/index.js');
    await runCluster(config, log, reread);
    return 'running';
  }
  let running;
  try {
    running = await startBroker(config, undefined, { logger: log });
  } catch (err) {
    if (err instanceof PasswordFileError) {
      process.stderr.write(`starling: ${err.message}\n`);
      return 1;
    }
    if (err instanceof PluginError || err instanceof ConfigError) {
      process.stderr.write(`starling: ${err.message}\n`);
      return 2;
    }
    process.stderr.write(`starling: could not listen on ${config.host}:${config.port}: ${(err as Error).message}\n`);
    return 1;
  }
  log.info({ host: config.host, port: running.port }, 'listening');
  const shutdown = (signal: string): void => {
    log.info({ signal }, 'shutting down');
    const timer = setTimeout(() => process.exit(0), SHUTDOWN_TIMEOUT_MS);
    timer.unref();
    running.close().then(
      () => process.exit(0),
      () => process.exit(0),
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
  // Like Mosquitto: SIGHUP re-reads the password file, --acl-file and TLS certificates (a bad file
  // keeps the old one: one error line); connected clients stay. The config is read again too: live
  // keys applied, the others logged as needing a restart (config-reload.ts).
  let current = config;
  process.on('SIGHUP', () => {
    const next = reread(log);
    if (next !== null) current = applyConfig(current, next, running.broker, [log], log);
    reloadCredentials(running.broker.credentials, log);
    running.broker.reloadAcl();
    running.reloadListeners();
  });
  return 'running';
}
