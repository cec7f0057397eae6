// Messages between the coordinator and its worker processes.
import type { BenchOptions } from './options.js';
import type { ClientSpec } from './layout.js';

export interface WorkerCounters {
  connected: number;
  connectOk: number;
  connectFailed: number;
  /** Connections that closed while the run still wanted them. */
  dropped: number;
  errors: number;
  errorCodes: Record<string, number>;
  sent: number;
  acked: number;
  outstanding: number;
  /** Sum over sent messages of the number of subscribers that should get each. */
  expected: number;
  received: number;
  duplicates: number;
  /** Messages that were not ours or came from a publisher this subscriber should not hear. */
  unexpected: number;
  firstConnectStartMs: number;
  lastConnectDoneMs: number;
  /** Wall clock of the last new message received (ms), to rate deliveries over the time they took. */
  lastReceiveMs: number;
}

export type ToWorker =
  | { type: 'init'; opts: BenchOptions; clients: ClientSpec[]; rampPerSec: number }
  | { type: 'start' }
  | { type: 'stop' }
  | { type: 'report' }
  | { type: 'exit' };

export type FromWorker =
  | { type: 'progress'; counters: WorkerCounters }
  | { type: 'connected'; counters: WorkerCounters }
  /** Sent right after publishing stopped, so the coordinator knows `expected` is final. */
  | { type: 'stopped'; counters: WorkerCounters }
  | { type: 'final'; counters: WorkerCounters; latency: string; connectLatency: string; cpuUs: number; cpuWindowMs: number };

export function emptyCounters(): WorkerCounters {
  return {
    connected: 0, connectOk: 0, connectFailed: 0, dropped: 0, errors: 0, errorCodes: {}, sent: 0, acked: 0, outstanding: 0,
    expected: 0, received: 0, duplicates: 0, unexpected: 0, firstConnectStartMs: 0, lastConnectDoneMs: 0, lastReceiveMs: 0,
  };
}
