// The end-of-run summary: the numbers, then the text and JSON renderings of them.
import type { BenchOptions } from './options.js';
import type { LatencySummary } from './histogram.js';
import type { WorkerCounters } from './ipc.js';

export interface BenchSummary {
  url: string;
  recipe: string | null;
  interrupted: boolean;
  config: { publishers: number; subscribers: number; idleClients: number; topics: string; qos: number; payloadBytes: number; ratePerPublisher: number | 'max'; inflight: number; durationSec: number; protocolVersion: number; clean: boolean; workers: number };
  connections: { attempted: number; succeeded: number; failed: number; successRate: number; dropped: number; ratePerSec: number; latency: LatencySummary };
  messages: { qos: number; sent: number; expected: number; received: number; lost: number; duplicated: number; unexpected: number };
  /** receivedPerSec is over deliverSeconds: from the start of publishing to the last message received. */
  throughput: { publishSeconds: number; deliverSeconds: number; sentPerSec: number; receivedPerSec: number };
  latency: LatencySummary;
  errors: Record<string, number>;
  swarm: { workers: number; cores: number; cpuPercentOfCores: number; limited: boolean };
  broker: { pid: number; pids: number[]; rssBeforeBytes: number; rssAfterBytes: number; rssPerConnectionBytes: number } | null;
  warnings: string[];
}

export function sumCounters(all: WorkerCounters[]): WorkerCounters {
  const total = all.reduce((acc, c) => {
    for (const key of ['connected', 'connectOk', 'connectFailed', 'dropped', 'errors', 'sent', 'acked', 'outstanding', 'expected', 'received', 'duplicates', 'unexpected'] as const) acc[key] += c[key];
    for (const [code, n] of Object.entries(c.errorCodes)) acc.errorCodes[code] = (acc.errorCodes[code] ?? 0) + n;
    acc.firstConnectStartMs = acc.firstConnectStartMs === 0 ? c.firstConnectStartMs : Math.min(acc.firstConnectStartMs, c.firstConnectStartMs || Infinity);
    acc.lastConnectDoneMs = Math.max(acc.lastConnectDoneMs, c.lastConnectDoneMs);
    acc.lastReceiveMs = Math.max(acc.lastReceiveMs, c.lastReceiveMs);
    return acc;
  }, { connected: 0, connectOk: 0, connectFailed: 0, dropped: 0, errors: 0, errorCodes: {} as Record<string, number>, sent: 0, acked: 0, outstanding: 0, expected: 0, received: 0, duplicates: 0, unexpected: 0, firstConnectStartMs: 0, lastConnectDoneMs: 0, lastReceiveMs: 0 });
  return total;
}

export function configOf(opts: BenchOptions, workers: number): BenchSummary['config'] {
  return {
    publishers: opts.publishers, subscribers: opts.subscribers, idleClients: opts.idleClients, topics: opts.topics, qos: opts.qos, payloadBytes: opts.payloadBytes,
    ratePerPublisher: opts.rate > 0 ? opts.rate : 'max', inflight: opts.inflight, durationSec: opts.durationSec, protocolVersion: opts.protocolVersion, clean: opts.clean, workers,
  };
}

const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
const lat = (l: LatencySummary): string => (l.count === 0 ? 'n/a' : `p50 ${l.p50Ms} ms  p90 ${l.p90Ms} ms  p99 ${l.p99Ms} ms  max ${l.maxMs} ms`);

export function formatText(s: BenchSummary): string {
  const c = s.config;
  const lines = [
    `starling bench ${s.recipe ?? '(custom)'} -> ${s.url}${s.interrupted ? '  [INTERRUPTED: partial results]' : ''}`,
    `  clients     ${c.publishers} publishers, ${c.subscribers} subscribers, ${c.idleClients} idle; topics ${c.topics}; QoS ${c.qos}; payload ${c.payloadBytes} B; rate ${c.ratePerPublisher === 'max' ? 'flat out' : `${c.ratePerPublisher} msg/s per publisher`}; MQTT ${c.protocolVersion === 5 ? '5' : '3.1.1'}`,
    `  connections ${fmt(s.connections.succeeded)}/${fmt(s.connections.attempted)} ok (${(s.connections.successRate * 100).toFixed(1)}%), ${fmt(s.connections.ratePerSec)} conn/s, dropped ${s.connections.dropped}`,
    `  connect     ${lat(s.connections.latency)}`,
  ];
  if (c.publishers > 0) {
    const m = s.messages;
    lines.push(
      `  QoS ${m.qos}       sent ${fmt(m.sent)}  expected ${fmt(m.expected)}  received ${fmt(m.received)}  lost ${fmt(m.lost)}  duplicated ${fmt(m.duplicated)}${m.unexpected ? `  unexpected ${fmt(m.unexpected)}` : ''}`,
      `  throughput  ${fmt(s.throughput.sentPerSec)} msg/s out, ${fmt(s.throughput.receivedPerSec)} msg/s in (sent over ${s.throughput.publishSeconds.toFixed(1)} s, received over ${s.throughput.deliverSeconds.toFixed(1)} s)`,
      `  latency     ${lat(s.latency)}`,
    );
  }
  if (s.broker) lines.push(`  broker      pid ${s.broker.pids.join(',')}: RSS ${fmt(s.broker.rssBeforeBytes / 1024)} KiB -> ${fmt(s.broker.rssAfterBytes / 1024)} KiB, ${fmt(s.broker.rssPerConnectionBytes)} B per connection`);
  if (Object.keys(s.errors).length > 0) lines.push(`  errors      ${Object.entries(s.errors).map(([k, v]) => `${k}: ${v}`).join(', ')}`);
  lines.push(`  swarm       ${s.swarm.workers} workers on ${s.swarm.cores} cores, CPU ${s.swarm.cpuPercentOfCores.toFixed(0)}% of them${s.swarm.limited ? ' -- THE SWARM WAS THE LIMIT: results understate the broker' : ''}`);
  for (const w of s.warnings) lines.push(`  warning     ${w}`);
  return lines.join('\n');
}
