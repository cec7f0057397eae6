// Match throughput of TopicTree with 10k and 100k subscriptions (mixed exact and wildcard).
// Run: npx tsx scripts/bench-topic-tree.ts [seconds per size, default 1]
import { TopicTree } from '../src/broker/topic-tree.js';
import { mulberry32 as rng } from '../test/helpers/prng.js';

const seconds = Number(process.argv[2] ?? 1);


const METRICS = ['temp', 'humidity', 'power', 'status'];

/** Filters shaped like a device fleet: mostly exact topics, some per-site and per-device wildcards. */
function buildTree(subscriptions: number, sites: number, devices: number, r: () => number): TopicTree<number> {
  const tree = new TopicTree<number>();
  for (let i = 0; i < subscriptions; i++) {
    const site = Math.floor(r() * sites);
    const device = Math.floor(r() * devices);
    const metric = METRICS[Math.floor(r() * METRICS.length)];
    const x = r();
    let filter: string;
    if (x < 0.8) filter = `fleet/${site}/${device}/${metric}`;
    else if (x < 0.9) filter = `fleet/${site}/+/${metric}`;
    else if (x < 0.97) filter = `fleet/${site}/${device}/#`;
    else if (x < 0.995) filter = `fleet/+/${device}/+`;
    else filter = `fleet/${site}/#`;
    tree.add(filter, `client-${i}`, i);
  }
  return tree;
}

function run(subscriptions: number): void {
  const r = rng(subscriptions);
  const sites = 100;
  const devices = Math.max(10, Math.floor(subscriptions / sites / 2));
  const built = performance.now();
  const tree = buildTree(subscriptions, sites, devices, r);
  const buildMs = performance.now() - built;
  const topics: string[] = [];
  for (let i = 0; i < 4096; i++) topics.push(`fleet/${Math.floor(r() * sites)}/${Math.floor(r() * devices)}/${METRICS[Math.floor(r() * METRICS.length)]}`);

  let visited = 0;
  const visit = (): void => {
    visited++;
  };
  for (let i = 0; i < 20_000; i++) tree.match(topics[i & 4095], visit); // warm-up
  visited = 0;
  let ops = 0;
  const start = performance.now();
  const deadline = start + seconds * 1000;
  while (performance.now() < deadline) {
    for (let i = 0; i < 1000; i++) tree.match(topics[(ops + i) & 4095], visit);
    ops += 1000;
  }
  const elapsed = (performance.now() - start) / 1000;
  console.log(
    `${subscriptions} subscriptions (${tree.filterCount} filters, ${tree.nodeCount} nodes, built in ${buildMs.toFixed(0)} ms): ` +
      `${Math.round(ops / elapsed).toLocaleString('en-US')} match/s, ${(visited / ops).toFixed(2)} entries visited per match`,
  );
}

run(10_000);
run(100_000);
