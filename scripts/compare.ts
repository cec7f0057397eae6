// Runs the same `starling bench` recipes against Starling, Aedes and Mosquitto and writes a Markdown
// table of medians and ratios (docs/benchmarks.md, between the compare markers).
//   node --import tsx scripts/compare.ts [--unpinned] [--rate N] [--reps 3] [--duration 10] [--recipes fan-in,fan-out,...]
//        [--brokers starling,aedes,mosquitto,starling-cluster,aedes-cluster] [--out FILE] [--protocol 3.1.1|5]
//        [--transports mqtt,mqtts,ws,wss]   (a row per broker and transport: starling+wss; TLS with a test certificate)
// Each run gets a fresh broker pinned to CPU 0 (with its workers and redis); the swarm is pinned to
// CPU 1 (--unpinned: nothing is pinned; a second section of the page). Runs are interleaved (A B C A B C ...) so slow drift on the host hits every broker alike.
import { spawn, execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { BenchSummary } from '../src/bench/summary.js';
import { BROKER_CPU, BROKER_NAMES, setPinned, startBroker, TRANSPORTS, transportUrl, type BrokerName, type TlsFiles, type Transport } from './compare/brokers.js';
import { makeTestCertificate } from './compare/certificate.js';
import { cpuSecondsBetween, cpuSnapshot } from './compare/cpu.js';
import { recipeTable, type ComparedRun, type Results } from './compare/report.js';
import { isRecipe, RECIPES } from '../src/bench/recipes.js';

const SWARM_CPU = '1';
const ROOT = fileURLToPath(new URL('../', import.meta.url));

interface CompareOptions { reps: number; durationSec: number; recipes: string[]; brokers: BrokerName[]; transports: Transport[]; out: string; idleClients: number; stormClients: number; unpinned: boolean; rate: number; protocol: '3.1.1' | '5' }

function parseArgs(argv: string[]): CompareOptions {
  const o: CompareOptions = { reps: 3, durationSec: 10, recipes: ['fan-in', 'fan-out', 'pairs', 'qos1-pairs', 'latency', 'connection-storm', 'idle'], brokers: ['starling', 'aedes', 'mosquitto'], transports: ['mqtt'], out: 'docs/benchmarks.md', idleClients: 5000, stormClients: 1000, unpinned: false, rate: 0, protocol: '3.1.1' };
  for (let i = 0; i < argv.length; i += 2) {
    if (argv[i] === '--unpinned') {
      o.unpinned = true;
      i--;
      continue;
    }
    const [flag, value] = [argv[i]!, argv[i + 1]];
    const n = Number(value);
    if (value === undefined) throw new Error(`${flag}: missing value`);
    if (flag === '--reps' && Number.isInteger(n) && n >= 1) o.reps = n;
    else if (flag === '--duration' && n > 0) o.durationSec = n;
    else if (flag === '--idle-clients' && Number.isInteger(n) && n > 0) o.idleClients = n;
    else if (flag === '--storm-clients' && Number.isInteger(n) && n > 0) o.stormClients = n;
    else if (flag === '--rate' && Number.isInteger(n) && n >= 0) o.rate = n;
    else if (flag === '--out') o.out = value;
    else if (flag === '--protocol' && (value === '3.1.1' || value === '5')) o.protocol = value;
    else if (flag === '--recipes') {
      o.recipes = value.split(',');
      for (const r of o.recipes) if (!isRecipe(r)) throw new Error(`--recipes: unknown recipe ${r}; expected ${Object.keys(RECIPES).join(',')}`);
    } else if (flag === '--transports') {
      o.transports = value.split(',') as Transport[];
      for (const t of o.transports) if (!TRANSPORTS.includes(t)) throw new Error(`--transports: unknown transport ${t}; expected ${TRANSPORTS.join(',')}`);
    } else if (flag === '--brokers') {
      o.brokers = value.split(',') as BrokerName[];
      for (const b of o.brokers) if (!BROKER_NAMES.includes(b)) throw new Error(`--brokers: unknown broker ${b}; expected ${BROKER_NAMES.join(',')}`);
    } else throw new Error(`${flag}: unknown flag or bad value ${JSON.stringify(value)}`);
  }
  return o;
}

function swarmArgs(o: CompareOptions, recipe: string, url: string, brokerPids: number[], ca: string | undefined): string[] {
  const args = [recipe, '--url', url, '--json'];
  if (ca !== undefined) args.push('--ca', ca);
  if (recipe === 'idle') args.push('--clients', String(o.idleClients), '--duration', '1', '--broker-pid', brokerPids.join(','));
  else if (recipe === 'connection-storm') args.push('--clients', String(o.stormClients));
  else args.push('--duration', String(o.durationSec));
  // A fixed rate per publisher (not for latency, which has its own): the same work for every
  // broker, so broker CPU per message compares them below saturation.
  if (o.rate > 0 && recipe !== 'latency' && recipe !== 'idle' && recipe !== 'connection-storm') args.push('--rate', String(o.rate));
  if (o.protocol === '5') args.push('--protocol', '5');
  return args;
}

// What is running now, so Ctrl-C / SIGTERM can stop it instead of leaving a pinned broker behind.
let current: { broker?: { stop(): Promise<void> }; swarm?: ReturnType<typeof spawn> } = {};
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    process.stderr.write(`compare: ${signal}, stopping the running broker and swarm\n`);
    current.swarm?.kill('SIGTERM');
    void (current.broker?.stop() ?? Promise.resolve()).finally(() => process.exit(130));
  });
}

/** The swarm runs as its own process pinned to CPU 1 (its worker processes inherit the pinning). */
function runSwarm(args: string[], unpinned: boolean): Promise<BenchSummary> {
  const command = [process.execPath, '--import', 'tsx', 'src/bench/main.ts', ...args];
  const child = unpinned ? spawn(command[0]!, command.slice(1), { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] }) : spawn('taskset', ['-c', SWARM_CPU, ...command], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  current.swarm = child;
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => { stdout += d; });
  child.stderr.on('data', (d) => { stderr += d; });
  return new Promise((resolve, reject) => {
    child.on('exit', (code) => {
      try {
        resolve(JSON.parse(stdout) as BenchSummary);
      } catch {
        reject(new Error(`swarm exited ${code} without a JSON summary: ${stderr.slice(-1000)}`));
      }
    });
  });
}

function hostLine(): string {
  const mosq = (() => { try { return execFileSync('/usr/sbin/mosquitto', ['-h'], { encoding: 'utf8' }).split('\n')[0]; } catch (err) { return String((err as { stdout?: string }).stdout ?? '').split('\n')[0]; } })();
  const aedes = (() => { try { return (JSON.parse(readFileSync(`${ROOT}node_modules/aedes/package.json`, 'utf8')) as { version: string }).version; } catch { return '?'; } })();
  return `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}, ${mosq}, Aedes ${aedes}`;
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  setPinned(!o.unpinned);
  const results: Results = new Map();
  const started = new Date();
  // TLS and WebSocket: every broker serves one test certificate; the swarm trusts its CA.
  const tls: TlsFiles | undefined = o.transports.some((t) => t !== 'mqtt') ? makeTestCertificate() : undefined;
  // A row per broker and transport: "starling" over plain MQTT, "starling+wss" over WebSocket/TLS.
  const label = (name: BrokerName, transport: Transport): string => (transport === 'mqtt' ? name : `${name}+${transport}`);
  for (const recipe of o.recipes) {
    const byBroker = new Map<string, ComparedRun[]>(o.brokers.flatMap((b) => o.transports.map((t) => [label(b, t), []] as [string, ComparedRun[]])));
    results.set(recipe, byBroker);
    for (let rep = 1; rep <= o.reps; rep++) {
      for (const name of o.brokers) for (const transport of o.transports) {
        const broker = await startBroker(name, tls);
        current = { broker };
        try {
          const cpuBefore = cpuSnapshot(broker.pids);
          const summary = await runSwarm(swarmArgs(o, recipe, transportUrl(broker, transport), broker.pids, transport === 'mqtts' || transport === 'wss' ? tls?.cert : undefined), o.unpinned);
          const s: ComparedRun = { ...summary, brokerCpuSeconds: cpuSecondsBetween(cpuBefore, cpuSnapshot(broker.pids), broker.pids) };
          byBroker.get(label(name, transport))!.push(s);
          process.stderr.write(`${recipe} rep ${rep} ${label(name, transport)}: ${s.throughput.receivedPerSec.toFixed(0)} msg/s in, p50 ${s.latency.p50Ms} ms, p99 ${s.latency.p99Ms} ms, conn ${s.connections.succeeded}/${s.connections.attempted} at ${s.connections.ratePerSec.toFixed(0)}/s, lost ${s.messages.lost}, broker CPU ${Number.isFinite(s.brokerCpuSeconds) ? `${s.brokerCpuSeconds.toFixed(2)} s` : 'unknown (a broker process exited during the run)'}, swarm CPU ${s.swarm.cpuPercentOfCores.toFixed(0)}%${s.swarm.limited ? ' (LIMIT)' : ''}\n`);
        } finally {
          await broker.stop();
          current = {};
        }
      }
    }
  }
  const command = `node --import tsx scripts/compare.ts ${process.argv.slice(2).join(' ')}`.trim();
  const anyLimited = [...results.values()].some((m) => [...m.values()].some((runs) => runs.some((r) => r.swarm.limited)));
  const md = [
    `# ${o.unpinned ? 'Unpinned: ' : ''}${o.rate > 0 ? `At ${o.rate} msg/s per publisher: ` : ''}Starling vs Aedes vs Mosquitto (scripts/compare)`,
    '',
    `Measured ${started.toISOString()} on ${hostLine()}.`,
    '',
    `Command: \`${command}\``,
    '',
    `Method: every run starts a fresh broker ${o.unpinned ? 'with no CPU pinning: the broker, its workers, its redis-server and the swarm (starling bench, mqtt.js clients) all share every core, so a cluster can use more than one core while the swarm takes its share' : `pinned with \`taskset -c ${BROKER_CPU}\` (its cluster workers and redis-server too) while the swarm (\`starling bench\`, mqtt.js clients) runs with \`taskset -c ${SWARM_CPU}\``}; runs are interleaved broker by broker over ${o.reps} repetitions and each cell is the median. Publishing recipes ran ${o.durationSec} s each${o.rate > 0 ? ` at a fixed ${o.rate} msg/s per publisher` : ', flat out'} (payload 64 B, MQTT ${o.protocol}, clean sessions); connection-storm used ${o.stormClients} clients, idle ${o.idleClients} clients held 1 s (RSS per connection = broker VmRSS, summed over its processes, after minus before, divided by connections). Node's default socket options are kept on both sides (Nagle on, no TCP_NODELAY), as are Mosquitto's defaults; this inflates small-message latency for every broker alike. "broker CPU µs/msg" is the CPU time (user + system) of the broker's processes, its redis-server included, over the whole run divided by the messages delivered: it measures each broker's cost per message even when the swarm is the limit; with one pinned core, 1,000,000 divided by it is the most msg/s that broker could deliver, and the inverse of its ratio row is the capacity ratio.`,
    '',
    `"swarm the limit?" is **yes** when the swarm used >= 90% of its one core during the measured window: such a figure is what the load generator could push, not what the broker could take.${anyLimited ? ' **Some runs below were swarm-limited; read their throughput as a lower bound for every broker and their ratios with care.**' : ' No run was swarm-limited.'}`,
    '',
    ...[...results].flatMap(([recipe, byBroker]) => [`## ${recipe}`, '', `${RECIPES[recipe as keyof typeof RECIPES]?.describe ?? ''}`, '', recipeTable(recipe, byBroker), '']),
  ].join('\n');
  writeFileSync(new URL(o.out, `file://${ROOT}`), replaceSection(readIfExists(new URL(o.out, `file://${ROOT}`)), md, `compare${o.unpinned ? '-unpinned' : ''}${o.rate > 0 ? '-rate' : ''}`));
  process.stderr.write(`wrote ${o.out}\n`);
}

/** The results go between the markers, so the rest of the page (codec figures, notes) stays. */
function replaceSection(page: string, md: string, marker: string): string {
  const START = `<!-- ${marker}:start (written by scripts/compare.ts) -->`;
  const END = `<!-- ${marker}:end -->`;
  const section = `${START}\n${md.replace(/^# /, '## ').replace(/\n## /g, '\n### ')}\n${END}`;
  const start = page.indexOf(START);
  const end = page.indexOf(END);
  if (start === -1 || end === -1) return `${page.trimEnd()}\n\n${section}\n`;
  return page.slice(0, start) + section + page.slice(end + END.length);
}

function readIfExists(url: URL): string {
  try {
    return readFileSync(url, 'utf8');
  } catch {
    return '';
  }
}

main().catch((err) => {
  process.stderr.write(`compare: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
