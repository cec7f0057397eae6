// The sessions of a dead node, handed to this node's broker core by dead-node recovery
// (cluster/recovery.ts decides who recovers whom and in what order; this is what the core does
// with what it is given). Nothing here delivers, queues or times anything itself: an adopted
// session is parked in OfflineSessions like one whose client went offline here, a will goes to
// Wills, and every message goes through the broker's own queueing (host.enqueue).
import type { Message, MessageBus, SessionRecord, SubscriptionOptions } from '../store/types.js';
import type { LocalSubscriptions } from './local-subscriptions.js';
import type { OfflineSessions } from './offline-sessions.js';
import { isExpired, queuedCopy, type Target } from './outgoing.js';
import { replayTarget, subscribedAt } from './replay-target.js';
import type { Wills } from './wills.js';

/** What recovery hands over (cluster/recovery.ts calls these, in its order). */
export interface AdoptingBroker {
  adopt(clientId: string, record: SessionRecord, epoch: number, deferredRoutes: string[], remainingMs?: number): void;
  adoptWill(clientId: string, will: Message, delaySeconds: number, expiryInterval: number): void;
  bridgeFor(clientId: string, subscriptions: ReadonlyMap<string, SubscriptionOptions>, deferredRoutes: string[]): void;
  announceRoutes(filters: readonly string[]): Promise<void>;
  endBridge(clientId: string): void;
  replay(message: Message, groups: readonly string[] | undefined, deadNode: string, scope: ReadonlyMap<string, ReadonlyMap<string, SubscriptionOptions>>, writes: Promise<void>[]): void;
}

/** The parts of the broker core this needs (broker.ts builds it). */
export interface DeadNodeSessionsHost {
  local: LocalSubscriptions;
  offline: OfflineSessions;
  wills: Wills;
  bus: MessageBus;
  /** A connection of this node holds clientId (connecting or connected). */
  holds(clientId: string): boolean;
  /** Whatever this node still indexes for clientId without a connection gives way. */
  dropStale(clientId: string): void;
  /** The broker's queueing of a message for a client without a connection here (broker.ts enqueueOffline). */
  enqueue(clientId: string, message: Message, notifyHolder: boolean, replayedFrom?: string): Promise<void>;
}

/** A bridge opened during a dead node's recovery lasts until endBridge (bounded all the same). */
const BRIDGE_OPEN_MS = 60_000;
/** How long a bridge outlives the end of its recovery (as after a takeover: broker.ts BRIDGE_MS). */
const BRIDGE_MS = 3000;
/** For index additions whose routes are deferred (nothing is pushed here). */
const NO_ROUTES: Promise<void>[] = [];

export class DeadNodeSessions implements AdoptingBroker {
  constructor(private readonly host: DeadNodeSessionsHost) {}

  /**
   * A persistent session adopted from a dead node: parked here, as if its client had gone offline
   * here. Its new routes are pushed onto `deferred`, for the caller to announce once the dead node's
   * routes are handed to this node (until then they still lead to the dead node's limbo).
   * remainingMs: what is left of its expiry when it was offline on the dead node already.
   */
  adopt(clientId: string, record: SessionRecord, epoch: number, deferred: string[], remainingMs?: number): void {
    const { host } = this;
    if (host.holds(clientId)) return; // back here already: its own session has it
    host.dropStale(clientId);
    for (const [filter, options] of record.subscriptions) host.local.add(clientId, filter, options, false, NO_ROUTES, deferred);
    host.offline.park(clientId, epoch, record.subscriptions, record.expiryInterval, remainingMs);
  }

  /** Announces routes deferred by adopt/bridgeFor; resolves when every node has them. */
  announceRoutes(filters: readonly string[]): Promise<void> {
    return Promise.all(filters.map((filter) => this.host.bus.addRoute(filter))).then(() => undefined);
  }

  /** The will of an adopted session: now, or after its delay unless the client comes back first [v5:MQTT-3.1.3-9]. */
  adoptWill(clientId: string, will: Message, delaySeconds: number, expiryInterval: number): void {
    if (delaySeconds <= 0) this.host.wills.publishNow(will);
    else this.host.wills.publishLater(clientId, will, Math.min(delaySeconds, expiryInterval));
  }

  /**
   * A client the dead node held that is back on another node already: what is still routed here
   * for it goes to its queue, its holder told, until endBridge (a client back on this node needs none).
   */
  bridgeFor(clientId: string, subscriptions: ReadonlyMap<string, SubscriptionOptions>, deferred: string[]): void {
    const { host } = this;
    if (host.holds(clientId) || host.offline.get(clientId) !== undefined) return;
    for (const [filter, options] of subscriptions) host.local.add(clientId, filter, options, false, NO_ROUTES, deferred);
    host.offline.bridge(clientId, BRIDGE_OPEN_MS, subscriptions);
  }

  /** The bridge for clientId (or its adopted session, whose client came back meanwhile) ends BRIDGE_MS from now. */
  endBridge(clientId: string): void {
    this.host.offline.bridge(clientId, BRIDGE_MS);
  }

  /**
   * One message a dead node received and may not have handed on, for the sessions it held (`scope`:
   * client id -> its subscriptions): queued for each that was subscribed when it was published and
   * whose copy on the dead node had not taken it; `groups`, the shared subscription groups the dead
   * node was chosen for, through one member each. The queue writes are pushed onto `writes`.
   */
  replay(message: Message, groups: readonly string[] | undefined, deadNode: string, scope: ReadonlyMap<string, ReadonlyMap<string, SubscriptionOptions>>, writes: Promise<void>[]): void {
    if (message.qos === 0 || isExpired(message, Date.now())) return;
    const sentAt = message.publishedAt;
    if (groups !== undefined) {
      for (const group of groups) {
        for (const [clientId, subscriptions] of scope) {
          const options = subscriptions.get(group);
          if (options === undefined || options.qos === 0 || !subscribedAt(options, sentAt)) continue;
          writes.push(this.replayTo(clientId, message, { qos: options.qos, rap: options.rap === true, subIds: undefined }, deadNode));
          break;
        }
      }
    }
    for (const [clientId, subscriptions] of scope) {
      const target = replayTarget(message.topic, subscriptions, sentAt);
      if (target !== null && target.qos > 0) writes.push(this.replayTo(clientId, message, target, deadNode));
    }
  }

  private replayTo(clientId: string, message: Message, target: Readonly<Target>, deadNode: string): Promise<void> {
    const qos = (message.qos < target.qos ? message.qos : target.qos) as 1 | 2;
    // Parked here: taken at its resume. Held by a connection (here or elsewhere): its node is told.
    const parkedHere = this.host.offline.get(clientId)?.mode === 'parked';
    return this.host.enqueue(clientId, queuedCopy(message, qos, target.rap && message.retain, target.subIds), !parkedHere, deadNode);
  }
}
