// Broker counters, read by the $SYS publisher. Kept behind a small interface so a cluster can
// sum the counters of every worker (see StatsSource) and publish one set of $SYS topics.

/** Monotonic counters bumped on the hot path (plain fields, no locking, no allocation). */
export class BrokerCounters {
  messagesReceived = 0;
  messagesSent = 0;
  /** Messages not delivered because a limit was hit (queue cap, slow consumer, packet size). */
  messagesDropped = 0;
  bytesReceived = 0;
  bytesSent = 0;
  /** Connections that completed CONNECT since start. */
  connectionsAccepted = 0;
  /** Second copies of a message a resumed session did not send again (after a node's death; recent-copies.ts). */
  duplicatesSkipped = 0;
  /** messagesReceived and messagesSent split by QoS (index 0..2), for /metrics: one array slot bumped, no lookup. */
  readonly receivedByQos = [0, 0, 0];
  readonly sentByQos = [0, 0, 0];
  /** Refused CONNECTs by reason code (rare: a Map is fine here). */
  readonly refusals = new Map<number, number>();
  /** messagesDropped by reason (the DropLog's reason text): drops are the exception, not the hot path. */
  readonly droppedByReason = new Map<string, number>();

  /** `count` messages dropped because of `reason`. */
  drop(reason: string, count = 1): void {
    this.messagesDropped += count;
    this.droppedByReason.set(reason, (this.droppedByReason.get(reason) ?? 0) + count);
  }

  /** A CONNECT refused with `reasonCode` (v5 code; the v3 CONNACK is derived from it). */
  refused(reasonCode: number): void {
    this.refusals.set(reasonCode, (this.refusals.get(reasonCode) ?? 0) + 1);
  }
}

export interface BrokerStats {
  clientsConnected: number;
  /** Connected clients plus offline persistent sessions (Mosquitto's clients/total). */
  clientsTotal: number;
  messagesReceived: number;
  messagesSent: number;
  messagesDropped: number;
  bytesReceived: number;
  bytesSent: number;
  subscriptions: number;
  retainedMessages: number;
}

/** Where $SYS gets its numbers: one broker, or (cluster) the sum over workers. */
export interface StatsSource {
  stats(): Promise<BrokerStats>;
}

/** Field-wise sum, for a cluster adding up its workers' snapshots. */
export function sumStats(all: readonly BrokerStats[]): BrokerStats {
  const total: BrokerStats = {
    clientsConnected: 0, clientsTotal: 0, messagesReceived: 0, messagesSent: 0, messagesDropped: 0,
    bytesReceived: 0, bytesSent: 0, subscriptions: 0, retainedMessages: 0,
  };
  for (const s of all) {
    for (const key of Object.keys(total) as (keyof BrokerStats)[]) total[key] += s[key];
  }
  return total;
}
