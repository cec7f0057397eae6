// A cluster worker's side of --http: answers the primary's probe with its readiness and, when
// asked, its metrics (the primary serves /metrics and /readyz for the whole host).
import type { Registry } from 'prom-client';
import type { ProbeMessage, ProbeReplyMessage } from './messages.js';

export async function answerProbe(probe: ProbeMessage, metrics: Registry | null, ready: () => boolean): Promise<void> {
  const reply: ProbeReplyMessage = { starling: 'probe-reply', id: probe.id, ready: ready() };
  if (probe.metrics && metrics !== null) {
    try {
      reply.metrics = await metrics.getMetricsAsJSON();
    } catch {
      // A series that could not be read (Redis away for the retained count): the primary sees no metrics from this worker.
    }
  }
  process.send?.(reply);
}
