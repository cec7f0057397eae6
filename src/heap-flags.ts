// V8 heap settings for the broker process (and its cluster workers, which run this entry too).
// Imported first by main.ts, so it runs before the rest of the program is loaded; the library
// (index.ts) never changes the flags of an embedding application.
//
// Why: an idle connection holds ~1.6 KiB of live JS heap (net.Socket with its stream state,
// Connection, Session), but with V8's defaults RSS grows by 5-6 KiB per connection in a single
// process and by 12+ KiB in a cluster worker. The rest is heap slack: a connection storm keeps
// every new socket alive across scavenges, so V8 grows the young generation (semi-spaces up to
// 16 MiB each, 32 MiB of young space that is never given back), and the garbage of the connect
// path (ioredis commands and auto-pipelines in a worker) is promoted and piles up in old space
// until a full GC far above the live size. One flag bounds the first (see docs/benchmarks.md,
// "Idle memory per connection"):
// - --semi-space-growth-factor=1: the young generation keeps its startup size (1-2 MiB semi-spaces).
//   This is the one setting V8 reads when it grows new space, so it works after start, unlike
//   --max-semi-space-size, which only a command line can set (and `node bin/starling.js` has none).
//   Its cost in broker CPU per message is within this machine's noise: pairs and fan-out showed
//   none; qos1-pairs none in one 3-run A/B and a median +20% in a 5-run one (GC works more often
//   with a small young generation). A deployment that wants the CPU back and not the memory runs
//   `node --semi-space-growth-factor=2 bin/starling.js` (any semi-space flag turns this file off).
// Not --optimize-for-size: it also saved memory, but cost 40-50% more broker CPU per message in
// qos1-pairs (V8 then optimizes less), measured side by side (docs/benchmarks.md, "Idle memory per connection").
// A command line that sets either family of flags itself is left alone; so is `starling bench`.
import { setFlagsFromString } from 'node:v8';

const given = [...process.execArgv, ...(process.env.NODE_OPTIONS ?? '').split(/\s+/)];
if (process.argv[2] !== 'bench' && !given.some((flag) => /semi-space|optimize-for-size/.test(flag))) {
  setFlagsFromString('--semi-space-growth-factor=1');
}
