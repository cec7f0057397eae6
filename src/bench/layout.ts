// Who publishes where and who should receive what. The expected deliveries per publisher
// (its fan-out) follow from the topic layout, which is what makes lost/duplicate counts exact.
import type { BenchOptions } from './options.js';

export interface PublisherSpec { role: 'pub'; clientId: string; publisherId: number; topic: string; fanout: number }
export interface SubscriberSpec { role: 'sub'; clientId: string; filter: string; /** publisher ids this subscriber should hear from; 'all' for shared/wildcard */ expectsFrom: number[] | 'all' }
export interface IdleSpec { role: 'idle'; clientId: string }
export type ClientSpec = PublisherSpec | SubscriberSpec | IdleSpec;

export function buildLayout(opts: BenchOptions, runId: string): ClientSpec[] {
  const prefix = `starling-bench/${runId}`;
  const P = opts.publishers;
  const S = opts.subscribers;
  const specs: ClientSpec[] = [];
  for (let j = 0; j < S; j++) {
    const clientId = `sb-${runId}-s${j}`;
    if (opts.topics === 'shared') specs.push({ role: 'sub', clientId, filter: `${prefix}/shared`, expectsFrom: 'all' });
    else if (opts.topics === 'wildcard') specs.push({ role: 'sub', clientId, filter: `${prefix}/w/+`, expectsFrom: 'all' });
    else specs.push({ role: 'sub', clientId, filter: `${prefix}/pair/${j % P}`, expectsFrom: [j % P] });
  }
  for (let i = 0; i < P; i++) {
    const clientId = `sb-${runId}-p${i}`;
    if (opts.topics === 'shared') specs.push({ role: 'pub', clientId, publisherId: i, topic: `${prefix}/shared`, fanout: S });
    else if (opts.topics === 'wildcard') specs.push({ role: 'pub', clientId, publisherId: i, topic: `${prefix}/w/${i}`, fanout: S });
    else {
      // Subscriber j listens to pair j % P, so publisher i has one subscriber per j ≡ i (mod P).
      const fanout = S > i ? Math.floor((S - 1 - i) / P) + 1 : 0;
      specs.push({ role: 'pub', clientId, publisherId: i, topic: `${prefix}/pair/${i}`, fanout });
    }
  }
  for (let k = 0; k < opts.idleClients; k++) specs.push({ role: 'idle', clientId: `sb-${runId}-i${k}` });
  return specs;
}

/** Round-robin, so each worker gets a fair share of subscribers, publishers and idle clients. */
export function splitAmongWorkers(specs: ClientSpec[], workers: number): ClientSpec[][] {
  const shares: ClientSpec[][] = Array.from({ length: workers }, () => []);
  specs.forEach((spec, i) => shares[i % workers]!.push(spec));
  return shares.filter((s) => s.length > 0);
}
