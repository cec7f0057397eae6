// `starling bench ...`: parse, run, print. Returns the exit code (0 ok, 1 no client connected, 2 bad usage, 130 interrupted).
import { OptionError, parseBenchArgs, USAGE } from './options.js';
import { runBench } from './coordinator.js';
import { formatText } from './summary.js';

export async function runBenchCli(argv: string[]): Promise<number> {
  let opts;
  try {
    opts = parseBenchArgs(argv);
  } catch (err) {
    if (err instanceof OptionError) {
      process.stderr.write(`starling bench: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  if (opts === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  let onSigint: () => void = () => {};
  const interrupt = new Promise<void>((resolve) => {
    let count = 0;
    onSigint = () => {
      // First Ctrl-C: stop and report what was measured; a second one leaves at once.
      if (++count > 1) process.exit(130);
      process.stderr.write('\nstarling bench: interrupted, collecting results (Ctrl-C again to quit at once)\n');
      resolve();
    };
    process.on('SIGINT', onSigint);
  });
  try {
    const summary = await runBench(opts, { interrupt, progress: !opts.json && process.stderr.isTTY === true, status: (line) => process.stderr.write(`${process.stderr.isTTY ? "\r\x1b[K" : ""}starling bench: ${line}\n`) });
    process.stdout.write(opts.json ? `${JSON.stringify(summary, null, 2)}\n` : `${formatText(summary)}\n`);
    if (summary.interrupted) return 130;
    return summary.connections.succeeded === 0 ? 1 : 0;
  } finally {
    process.off('SIGINT', onSigint);
  }
}
