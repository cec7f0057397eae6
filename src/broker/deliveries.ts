// Where a routed message goes on this node: to each matching client's session when it is
// connected here, to the store queue of a persistent session that is not (parked, bridged or still
// connecting), through the authorizeDelivery hook when there is one (hooks/delivery-gate.ts). The
// broker routes (publish(): retained store, here, the bus); this file delivers. Retained messages
// on SUBSCRIBE and a dead node's replayed messages come through here too, so the ACL, the hooks
// and the queue limits (queue-writer.ts) apply to every copy in one place.
import type { Message, SubscriptionOptions } from '../store/types.js';
import type { Connection } from './connection.js';
import { DeliveryGate } from './hooks/delivery-gate.js';
import type { Hooks } from './hooks/hooks.js';
import type { ClientInfo } from './hooks/types.js';
import type { LocalSubscriptions } from './local-subscriptions.js';
import type { OfflineSessions } from './offline-sessions.js';
import type { QueueWriter } from './queue-writer.js';
import { FanOut, isExpired, ownPayload, queuedCopy, type Target } from './outgoing.js';

export interface DeliveryDeps {
  /** Client id → the connection holding it (connecting or connected). */
  online: ReadonlyMap<string, Connection>;
  offline: OfflineSessions;
  /** The local subscription index (set once the broker has made it: it calls back into to()). */
  local: () => LocalSubscriptions;
  hooks: Hooks | null;
  /** Counts store writes a delivery makes (a PUBACK waits for the store's flush when it grew). */
  writes: { count: number };
  /** Writes store queues (retries what no publisher waits for). */
  queue: QueueWriter;
}

export class Deliveries {
  /** authorizeDelivery between routing and sessions (null without that hook). */
  readonly gate: DeliveryGate | null;

  constructor(private readonly deps: DeliveryDeps) {
    const hooks = deps.hooks;
    this.gate = hooks?.has.authorizeDelivery === true ? new DeliveryGate(hooks, (clientId) => this.clientOf(clientId), (clientId, fan, target) => this.now(clientId, fan, target)) : null;
  }

  /**
   * Delivers to the (non-shared) subscribers of sessions owned by this node; returns the FanOut if
   * it made one. awaited: a PUBLISH on this node, whose acknowledgement waits for the store (FanOut).
   */
  local(message: Message, originClientId?: string, awaited = false): FanOut | undefined {
    const now = Date.now();
    if (isExpired(message, now)) return undefined;
    const matched = this.deps.local().index.match(message.topic);
    if (matched.length === 0) return undefined;
    const fan = new FanOut(message, now, awaited);
    for (let i = 0; i < matched.length; i++) {
      const { clientId, target: merged, forOrigin } = matched[i]!;
      const target = clientId === originClientId ? forOrigin : merged; // No Local [v5:MQTT-3.8.3-3]
      if (target !== null) this.to(clientId, fan, target);
    }
    return fan;
  }

  /** One client's copy, through the authorizeDelivery hook when there is one. */
  to(clientId: string, fan: FanOut, target: Readonly<Target>): void {
    if (this.gate === null) this.now(clientId, fan, target);
    else this.gate.route(clientId, fan, target);
  }

  /** One client's copy: online → its session, offline persistent (QoS > 0) → the store queue. */
  private now(clientId: string, fan: FanOut, target: Readonly<Target>): void {
    const message = fan.message;
    // Delivered QoS = min(published, granted) [v3:MQTT-3.8.4-6] [v5:MQTT-3.8.4-8]; RETAIN cleared unless Retain As Published [v3:MQTT-3.3.1-9] [v5:MQTT-3.3.1-12].
    const qos = (message.qos < target.qos ? message.qos : target.qos) as 0 | 1 | 2;
    const retain = target.rap && message.retain;
    const conn = this.deps.online.get(clientId);
    if (conn !== undefined && conn.state === 'connected' && conn.session !== null) {
      conn.session.deliver(fan, qos, retain, target.subIds);
    } else if (qos > 0) {
      const offline = conn === undefined ? this.deps.offline.get(clientId) : undefined;
      // Parked with an ACL: what the client may not read takes no room in its queue (checked again when sent).
      const acl = offline?.acl;
      if (acl !== undefined && acl !== null && !acl.canReadOnce(fan, message.topic)) return;
      // A bridge: the client is on another node, which is told to take it from the queue.
      const bridged = offline?.mode === 'bridge';
      // The acknowledgement of the PUBLISH waits for this write (broker.publish: the store's flush).
      this.deps.writes.count++;
      void this.enqueue(clientId, queuedCopy(message, qos, retain, target.subIds), bridged, undefined, fan.awaited);
      // Still connecting: this may land behind the queue's drain; look again once connected.
      if (conn !== undefined && conn.session !== null) conn.session.queueChanged();
    }
  }

  /**
   * Stores a message for an offline persistent session, within --max-queued/--max-queued-bytes
   * (queue-writer.ts: a write no publisher waits for is retried when the store fails). A message
   * from the bus records that this node's copy of the session took it (replay skips it); a
   * replayed one (replayedFrom: the dead node) is skipped if that node's copy had taken it.
   * notifyHolder: the client is held on another node, which is told to take it. awaited: the
   * publisher's acknowledgement waits for this write.
   */
  enqueue(clientId: string, message: Message, notifyHolder = false, replayedFrom?: string, awaited = false): Promise<void> {
    return this.deps.queue.write(clientId, ownPayload(message), { awaited, notifyHolder, replayedFrom });
  }

  /** A dead node's message for one of its sessions (recovery): queued if authorizeDelivery allows, like any delivery. */
  enqueueReplayed(clientId: string, message: Message, notifyHolder: boolean, replayedFrom: string | undefined): Promise<void> {
    const gate = this.gate;
    if (gate === null) return this.enqueue(clientId, message, notifyHolder, replayedFrom);
    return new Promise<void>((resolve) => gate.queue(clientId, message, (allowed) => (allowed ? this.enqueue(clientId, message, notifyHolder, replayedFrom).then(resolve) : resolve())));
  }

  /** The retained messages matching a new subscription, to its session, RETAIN set [v3:MQTT-3.3.1-6] [v3:MQTT-3.3.1-8] [v5:MQTT-3.3.1-9]. */
  async retained(conn: Connection, messages: readonly Message[], options: SubscriptionOptions): Promise<void> {
    const hooks = this.deps.hooks;
    // authorizeDelivery asked for all of them together; sent in order.
    const client = conn.client;
    const verdicts = hooks !== null && hooks.has.authorizeDelivery ? await Promise.all(messages.map((m) => (client === null ? null : hooks.authorizeDelivery(client, m)))) : null;
    const session = conn.session;
    if (session === null || conn.state !== 'connected') return;
    const now = Date.now();
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i]!;
      if (isExpired(m, now) || (verdicts !== null && verdicts[i] !== null)) continue;
      const qos = (m.qos < options.qos ? m.qos : options.qos) as 0 | 1 | 2;
      const properties = options.subscriptionId !== undefined ? { ...m.properties, subscriptionIdentifiers: [options.subscriptionId] } : m.properties;
      session.deliverMessage({ topic: m.topic, payload: m.payload, qos, retain: true, properties, expiresAt: m.expiresAt });
    }
  }

  /** Who clientId is, for a hook asked about a delivery to it: as it connected (here), or only its id. */
  private clientOf(clientId: string): ClientInfo {
    return this.deps.online.get(clientId)?.client ?? this.deps.offline.get(clientId)?.client ?? { clientId, username: undefined, address: undefined, protocolVersion: undefined };
  }
}
