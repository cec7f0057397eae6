// Stand-alone entry for the swarm (used by scripts/compare and for running it without the broker CLI):
//   node --import tsx src/bench/main.ts fan-in --url mqtt://127.0.0.1:1883
import { runBenchCli } from './cli.js';

process.exitCode = await runBenchCli(process.argv.slice(2));
