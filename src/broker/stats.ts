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
