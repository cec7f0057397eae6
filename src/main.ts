// Process entry (bin/starling.js imports the compiled form of this file).
import './heap-flags.js'; // first: V8 heap settings before anything else is loaded
import { runCli } from './cli.js';

runCli(process.argv.slice(2)).then(
  (result) => {
    if (result !== 'running') process.exit(result);
  },
  (err: unknown) => {
    process.stderr.write(`starling: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(1);
  },
);
