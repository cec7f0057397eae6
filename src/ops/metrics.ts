// The Prometheus series of one broker process, in a registry of its own. Every series is read
// from the broker's existing counters when scraped (collect callbacks): nothing is added to the
// hot path here. In a cluster each worker has one and the primary sums them (cluster-metrics.ts);
// `aggregator` says how a series combines over workers where a sum would be wrong.
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { Broker } from '../broker/broker.js';
import { ReasonCode } from '../protocol/index.js';

/** What a cluster node adds: its Redis bus (RedisBus has this shape). */
export interface BusGauges {
  /** Both Redis connections up and the node part of the cluster. */
  readonly connected: boolean;
  /** Messages other nodes sent here. */
  readonly received: number;
  readonly flow: { readonly outstandingTotal: number; readonly pauses: number };
  readonly backlog: { readonly bytes: number; readonly pauses: number };
}

const QOS_LABELS = ['0', '1', '2'] as const;

/** Reason code -> snake_case name (0x86 -> bad_user_name_or_password), for the reason label. */
const REASON_NAMES = new Map<number, string>(Object.entries(ReasonCode).map(([name, code]) => [code, name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').replace(/QoS/g, 'qos').toLowerCase()]));

/** Drop reasons are log texts; as label values they are shortened to a stable snake_case word list. */
export function dropReasonLabel(reason: string): string {
  return reason
    .replace(/\(.*\)/g, '')
    .trim()
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_|_$/g, '');
}

/**
 * Builds the registry of `broker` (and of its bus in a cluster). `processMetrics`: Node's own
 * series too (memory, CPU, event loop), as prom-client's defaults.
 */
export function createBrokerMetrics(broker: Broker, bus: BusGauges | undefined, processMetrics = true): Registry {
  const registry = new Registry();
  const registers = [registry];
  const c = broker.counters;
  const counter = (name: string, help: string, read: (metric: Counter) => void, labelNames: string[] = []): void => {
    new Counter({
      name,
      help,
      labelNames,
      registers,
      collect() {
        this.reset();
        read(this);
      },
    });
  };
  const gauge = (name: string, help: string, read: () => number | Promise<number>, aggregator: 'sum' | 'max' | 'min' = 'sum'): void => {
    new Gauge({
      name,
      help,
      registers,
      aggregator,
      async collect() {
        this.set(await read());
      },
    });
  };

  gauge('starling_connections', 'Clients connected now (CONNACK sent).', () => broker.connectedClients);
  gauge('starling_sockets', 'Open sockets, CONNECT not yet done included.', () => broker.connectionCount);
  counter('starling_connects_total', 'CONNECTs accepted since start.', (m) => m.inc(c.connectionsAccepted));
  counter('starling_connect_refusals_total', 'CONNECTs refused, by reason (the v5 reason code name; v3 clients get the matching return code).', (m) => {
    for (const [code, n] of c.refusals) m.inc({ reason: REASON_NAMES.get(code) ?? `0x${code.toString(16)}` }, n);
  }, ['reason']);
  counter('starling_messages_received_total', 'PUBLISH packets received from clients, by QoS.', (m) => {
    for (let q = 0; q < 3; q++) m.inc({ qos: QOS_LABELS[q] }, c.receivedByQos[q]);
  }, ['qos']);
  counter('starling_messages_sent_total', 'PUBLISH packets sent to clients (first sends; resends after a reconnect included), by QoS.', (m) => {
    for (let q = 0; q < 3; q++) m.inc({ qos: QOS_LABELS[q] }, c.sentByQos[q]);
  }, ['qos']);
  counter('starling_bytes_received_total', 'Bytes read from client sockets.', (m) => m.inc(c.bytesReceived));
  counter('starling_bytes_sent_total', 'Bytes written to client sockets.', (m) => m.inc(c.bytesSent));
  counter('starling_messages_dropped_total', 'Messages dropped, by reason (queue full, slow consumer, too large, denied, $SYS read-only...).', (m) => {
    for (const [reason, n] of c.droppedByReason) m.inc({ reason: dropReasonLabel(reason) }, n);
  }, ['reason']);
  counter('starling_duplicates_skipped_total', "Second copies a resumed session did not send again after a node's death.", (m) => m.inc(c.duplicatesSkipped));
  // One shared store in a cluster: every worker reads the same number, so the largest is it. While
  // Redis is away the last number read stands (a scrape must not fail then: starling_redis_up says it).
  let retained = 0;
  const readRetained = (): Promise<number> => broker.backend.retained.count().then((n) => (retained = n), () => retained);
  gauge('starling_retained_messages', 'Retained messages stored.', readRetained, 'max');
  gauge('starling_subscriptions', 'Subscriptions indexed on this node (online and parked sessions).', () => broker.subscriptionCount);
  gauge('starling_sessions', 'Sessions: connected clients plus persistent sessions parked offline.', () => broker.connectedClients + broker.offlineSessions);
  gauge('starling_sessions_offline', 'Persistent sessions parked while their clients are away.', () => broker.offlineSessions);
  gauge('starling_queued_messages', "QoS 1/2 messages held in memory behind connected clients' in-flight windows (a persistent session's overflow waits in the store, not counted).", () => broker.queueDepth().queued);
  gauge('starling_inflight_messages', 'QoS 1/2 messages sent to connected clients and not yet acknowledged.', () => broker.queueDepth().inflight);
  if (bus !== undefined) {
    gauge('starling_redis_up', '1 when every worker has its Redis connections up and is part of the cluster, else 0.', () => (bus.connected ? 1 : 0), 'min');
    gauge('starling_bus_unacked_bytes', 'Bytes of messages sent to other nodes and not yet acknowledged by them (how far behind they are).', () => bus.flow.outstandingTotal);
    gauge('starling_bus_pending_bytes', 'Bytes written to Redis and not yet answered (--redis-pending-bytes bounds it).', () => bus.backlog.bytes);
    counter('starling_bus_throttle_pauses_total', 'Publishers paused because a node was behind or Redis was slow (flow control).', (m) => m.inc(bus.flow.pauses + bus.backlog.pauses));
    counter('starling_bus_messages_received_total', 'Messages other nodes sent here over the bus.', (m) => m.inc(bus.received));
  }
  if (processMetrics) collectDefaultMetrics({ register: registry });
  return registry;
}
