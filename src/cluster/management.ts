// --http in a cluster: the primary serves /metrics, /healthz and /readyz for every worker of the
// host. It asks each listening worker over IPC (ProbeMessage) and sums their series with
// prom-client's AggregatorRegistry.aggregate (counters and most gauges summed; see metrics.ts for
// the exceptions). A worker that does not answer within PROBE_TIMEOUT_MS is left out of the sum
// (starling_workers_scraped says how many were in it) and makes the host not ready.
//
// Ready: at least one worker listening, and every listening worker answered and has its Redis
// connections up. The primary never connects to Redis itself: the workers' view is the one that
// matters to clients.
import type { Worker } from 'node:cluster';
import { AggregatorRegistry, type MetricObjectWithValues, type MetricValue } from 'prom-client';
import type { ProbeMessage, ProbeReplyMessage } from './messages.js';
import type { ManagementSource } from '../ops/http-server.js';

const PROBE_TIMEOUT_MS = 2000;

interface PendingProbe {
  replies: Map<Worker, ProbeReplyMessage>;
  asked: Worker[];
  done: () => void;
}

export class ClusterManagement implements ManagementSource {
  private nextId = 0;
  private readonly pending = new Map<number, PendingProbe>();

  constructor(
    /** The workers that reported ready (listening) and are alive. */
    private readonly listening: () => Worker[],
    /** Why the host is not ready whatever the workers say (shutting down), or null. */
    private readonly blocked: () => string | null,
  ) {}

  /** A worker's answer (the primary's IPC handler passes it on). */
  reply(worker: Worker, message: ProbeReplyMessage): void {
    const probe = this.pending.get(message.id);
    if (probe === undefined) return; // too late
    probe.replies.set(worker, message);
    if (probe.replies.size >= probe.asked.length) probe.done();
  }

  async metrics(): Promise<{ contentType: string; body: string }> {
    const { asked, replies } = await this.probe(true);
    const all = [...replies.values()].flatMap((r) => (r.metrics === undefined ? [] : [r.metrics as MetricObjectWithValues<MetricValue<string>>[]]));
    const summed = AggregatorRegistry.aggregate(all);
    const own = [
      '# HELP starling_workers Workers listening on this host.',
      '# TYPE starling_workers gauge',
      `starling_workers ${asked.length}`,
      '# HELP starling_workers_scraped Workers whose series are in this scrape (answered in time).',
      '# TYPE starling_workers_scraped gauge',
      `starling_workers_scraped ${all.length}`,
      '',
    ].join('\n');
    return { contentType: summed.contentType, body: `${await summed.metrics()}\n${own}` };
  }

  async notReady(): Promise<string | null> {
    const blocked = this.blocked();
    if (blocked !== null) return blocked;
    const { asked, replies } = await this.probe(false);
    if (asked.length === 0) return 'no worker listening yet';
    const silent = asked.length - replies.size;
    if (silent > 0) return `${silent} of ${asked.length} workers did not answer within ${PROBE_TIMEOUT_MS} ms`;
    const down = [...replies.values()].filter((r) => !r.ready).length;
    if (down > 0) return `Redis unreachable from ${down} of ${asked.length} workers`;
    return null;
  }

  /** Asks every listening worker; resolves when all answered or PROBE_TIMEOUT_MS passed. */
  private probe(metrics: boolean): Promise<{ asked: Worker[]; replies: Map<Worker, ProbeReplyMessage> }> {
    const id = ++this.nextId;
    const asked = this.listening().filter((w) => w.isConnected());
    const replies = new Map<Worker, ProbeReplyMessage>();
    return new Promise((resolve) => {
      const finish = (): void => {
        clearTimeout(timer);
        this.pending.delete(id);
        resolve({ asked, replies });
      };
      const timer = setTimeout(finish, PROBE_TIMEOUT_MS);
      this.pending.set(id, { asked, replies, done: finish });
      if (asked.length === 0) return finish();
      const message: ProbeMessage = { starling: 'probe', id, metrics };
      for (const worker of asked) worker.send(message);
    });
  }
}
