// A numbered stream at a fixed rate from one mqtt.js client, and a counter of what a subscriber
// received: failure tests count every message (lost, repeated), they do not sample.
import type { MqttClient } from 'mqtt';

export interface RateStream {
  /** Sequence numbers sent so far (0 .. sent-1). */
  readonly sent: number;
  /** Sequence numbers whose PUBLISH the broker acknowledged (PUBACK, or PUBCOMP for QoS 2). */
  readonly acked: Set<number>;
  /** Stops sending; resolves when every message sent has been acknowledged or failed. */
  stop(timeoutMs?: number): Promise<void>;
}

/** Publishes `${prefix}/${seq}` with payload seq at `perSecond`, in ticks of 5 ms. */
export function startRateStream(publisher: MqttClient, prefix: string, qos: 1 | 2, perSecond: number): RateStream {
  const acked = new Set<number>();
  let sent = 0;
  let settled = 0;
  const started = Date.now();
  const timer = setInterval(() => {
    const due = Math.floor(((Date.now() - started) * perSecond) / 1000);
    while (sent < due) {
      const seq = sent++;
      publisher.publish(`${prefix}/${seq}`, String(seq), { qos }, (err) => {
        settled++;
        if (!err) acked.add(seq);
      });
    }
  }, 5);
  return {
    get sent() {
      return sent;
    },
    acked,
    async stop(timeoutMs = 20_000) {
      clearInterval(timer);
      const deadline = Date.now() + timeoutMs;
      while (settled < sent && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    },
  };
}

/** Counts, per sequence number, how often a client's 'message' event delivered it. */
export class ReceiptCounter {
  readonly counts = new Map<number, number>();
  total = 0;

  constructor(client: MqttClient, prefix: string) {
    client.on('message', (topic, payload) => {
      if (!topic.startsWith(`${prefix}/`)) return;
      const seq = Number(payload.toString());
      this.total++;
      this.counts.set(seq, (this.counts.get(seq) ?? 0) + 1);
    });
  }

  missing(expected: Iterable<number>): number[] {
    const out: number[] = [];
    for (const seq of expected) if (!this.counts.has(seq)) out.push(seq);
    return out;
  }

  /** Sequence numbers delivered more than once. */
  repeated(): number[] {
    return [...this.counts].filter(([, n]) => n > 1).map(([seq]) => seq);
  }
}
