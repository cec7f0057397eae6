// Medians, ratios and the Markdown of scripts/compare.
import type { BenchSummary } from '../../src/bench/summary.js';

/** One swarm run, plus the CPU seconds the broker's processes (and its redis) used meanwhile. */
export type ComparedRun = BenchSummary & { brokerCpuSeconds: number };

export interface Metric { label: string; pick: (s: ComparedRun) => number; digits: number; higherIsBetter: boolean }

const rxRate: Metric = { label: 'msg/s received', pick: (s) => s.throughput.receivedPerSec, digits: 0, higherIsBetter: true };
const p50: Metric = { label: 'p50 ms', pick: (s) => s.latency.p50Ms, digits: 2, higherIsBetter: false };
const p99: Metric = { label: 'p99 ms', pick: (s) => s.latency.p99Ms, digits: 2, higherIsBetter: false };
const lostPct: Metric = { label: 'lost %', pick: (s) => (s.messages.expected ? (100 * s.messages.lost) / s.messages.expected : 0), digits: 2, higherIsBetter: false };
const connRate: Metric = { label: 'connects/s', pick: (s) => s.connections.ratePerSec, digits: 0, higherIsBetter: true };
const connP99: Metric = { label: 'connect p99 ms', pick: (s) => s.connections.latency.p99Ms, digits: 1, higherIsBetter: false };
const rssPerConn: Metric = { label: 'RSS/connection (KiB)', pick: (s) => (s.broker?.rssPerConnectionBytes ?? NaN) / 1024, digits: 1, higherIsBetter: false };
// Work per delivered message, whatever the swarm could push: the broker's capacity is about
// 1 s of CPU (one pinned core) divided by this.
const cpuPerMsg: Metric = { label: 'broker CPU µs/msg', pick: (s) => (s.messages.received > 0 ? (s.brokerCpuSeconds * 1e6) / s.messages.received : NaN), digits: 1, higherIsBetter: false };
const connOk: Metric = { label: 'connected', pick: (s) => s.connections.succeeded, digits: 0, higherIsBetter: true };

export const METRICS: Record<string, Metric[]> = {
  'fan-in': [rxRate, cpuPerMsg, p50, p99, lostPct],
  'fan-out': [rxRate, cpuPerMsg, p50, p99, lostPct],
  pairs: [rxRate, cpuPerMsg, p50, p99, lostPct],
  'qos1-pairs': [rxRate, cpuPerMsg, p50, p99, lostPct],
  latency: [p50, p99, rxRate],
  'connection-storm': [connRate, connP99, connOk],
  idle: [connRate, rssPerConn, connOk],
};

export function median(values: number[]): number {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const mid = v.length >> 1;
  return v.length % 2 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2;
}

/** Recipe → row label (a broker, or broker+transport) → runs. */
export type Results = Map<string, Map<string, ComparedRun[]>>;

const show = (n: number, digits: number): string => (Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : 'n/a');

export function recipeTable(recipe: string, byBroker: Map<string, ComparedRun[]>): string {
  const metrics = METRICS[recipe] ?? [rxRate, p50, p99];
  const header = `| broker | ${metrics.map((m) => m.label).join(' | ')} | swarm CPU (max) | swarm the limit? | runs |`;
  const lines = [header, `|${'---|'.repeat(metrics.length + 4)}`];
  const medians = new Map<string, number[]>();
  for (const [broker, runs] of byBroker) {
    const meds = metrics.map((m) => median(runs.map(m.pick)));
    medians.set(broker, meds);
    const cpu = Math.max(...runs.map((r) => r.swarm.cpuPercentOfCores));
    const limited = runs.filter((r) => r.swarm.limited).length;
    lines.push(`| ${broker} | ${meds.map((v, i) => show(v, metrics[i]!.digits)).join(' | ')} | ${cpu.toFixed(0)}% | ${limited ? `**yes** (${limited}/${runs.length})` : 'no'} | ${runs.length} |`);
  }
  const pairs: Array<readonly [string, string]> = [['starling', 'aedes'], ['starling', 'mosquitto'], ['starling-cluster', 'aedes-cluster'], ['starling-cluster', 'starling'], ['starling-cluster-1', 'starling'], ['starling-cluster', 'starling-cluster-noflow'], ['starling-cluster', 'starling-cluster-rr']];
  // Over TLS/WebSocket: against the others over the same transport, and against Starling over TCP.
  for (const transport of ['mqtts', 'ws', 'wss']) pairs.push([`starling+${transport}`, `aedes+${transport}`], [`starling+${transport}`, `mosquitto+${transport}`], [`starling+${transport}`, 'starling']);
  for (const [starling, other] of pairs) {
    const a = medians.get(starling);
    const b = medians.get(other);
    if (!a || !b) continue;
    lines.push(`| *${starling}/${other}* | ${a.map((v, i) => (Number.isFinite(v / b[i]!) ? `${(v / b[i]!).toFixed(2)}x` : 'n/a')).join(' | ')} | | | |`);
  }
  return lines.join('\n');
}
