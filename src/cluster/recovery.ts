// Dead-node recovery: who recovers a node that died (kill -9, a lost host, or a clean stop, which
// marks its heartbeat expired on purpose), and in what order. The sessions themselves are handed
// to the broker (broker/), which delivers, queues, publishes wills and expires them exactly as it
// does for its own: this file has no matcher, queue or timer of its own.
//
// Triggered by the primary (a worker's 'exit'), by heartbeat expiry seen by any node, and by a
// node that resumes a client whose previous holder did not hear the takeover and is gone (see
// awaitRecovered); the claim in Redis (SET NX) lets exactly one node act. Then, in this order:
//   1. For each client the dead node held, still held by it: take its will atomically (once: the
//      take deletes it) and hand it to the broker (now, or after its delay); move ownership here
//      with a fresh epoch and hand a persistent session to the broker (broker.adopt: parked here,
//      its subscriptions in this node's index, its expiry timer here); clean sessions are released.
//      Clients claimed away from the dead node after it died (its moved set, or an adoption that
//      lost the race against the client's own claim) get a bridge (broker.bridgeFor): what is
//      routed here for them goes to their queue, and their node is told.
//   2. The dead node is announced gone: each node first pushes the frames it sent it in the last
//      seconds into its limbo (they may have died in its socket), then hands its routes to this node
//      (routes.ts handOver) and acks. So each message for the dead node's sessions went either to
//      its limbo (before a sender's hand-over) or here (after), never to both. THEN the adopted and
//      bridged filters are announced as this node's own (acked by every node) and the routes rewritten
//      (the handed-over ones nobody here needs go), THEN the limbo is replayed (broker.replay: only to
//      sessions subscribed when each message was published, and skipping what the dead node's copy
//      of a session had already taken), THEN the node is marked "done" and the bridges end BRIDGE_MS later.
// A node that resumes one of the dead node's clients waits (bounded) for "done" before taking its
// queue, so the dead node's messages come first, in order; a copy that also arrives directly is
// skipped there (broker/recent-copies.ts).
import type { Logger } from 'pino';
import type { RedisBackend } from '../store/redis/index.js';
import { NodeRecoveryStore, type TakenWill } from '../store/redis/node-recovery.js';
import type { AdoptingBroker } from '../broker/dead-node-sessions.js';
import type { SessionRecord, SubscriptionOptions } from '../store/types.js';


export interface RecoveryOptions {
  backend: RedisBackend;
  broker: AdoptingBroker;
  logger: Logger;
}

const ADOPTED_PREFIX = 'adopted:';
/** How long a node with an expired heartbeat but an open Redis connection is taken for stalled, not dead. */
const STALL_GRACE_MS = 60_000;
/** How long a resuming session waits for its dead previous node to be recovered before it goes on without. */
const SETTLE_TIMEOUT_MS = 3000;
const SETTLE_POLL_MS = 20;

export class DeadNodeRecovery {
  private readonly store: NodeRecoveryStore;
  private readonly running = new Map<string, Promise<void>>();
  private readonly log: Logger;

  constructor(private readonly options: RecoveryOptions) {
    const { backend } = options;
    this.store = new NodeRecoveryStore(backend.redis, backend.keys, backend.bus.nodeId);
    this.log = options.logger;
    // Heartbeat expiry can also mean a stalled event loop: such a node is left alone while its
    // connection to Redis is open (the primary's report of an exit needs no such check).
    backend.membership.onDeadNode((nodeId) => void this.recoverIfGone(nodeId));
    // A client resumed here was held by a node that did not hear the takeover.
    backend.ownership.onOrphaned((deadNode) => this.awaitRecovered(deadNode));
  }

  private async recoverIfGone(nodeId: string): Promise<void> {
    if (this.running.has(nodeId)) return;
    try {
      if (await this.store.seemsAlive(nodeId, STALL_GRACE_MS)) return;
    } catch {
      return; // Redis away: the next heartbeat retries
    }
    await this.recover(nodeId);
  }

  /** Recovers deadNode unless another node already does; resolves when done (or skipped). */
  recover(deadNode: string): Promise<void> {
    if (deadNode === this.options.backend.bus.nodeId) return Promise.resolve();
    let run = this.running.get(deadNode);
    if (run === undefined) {
      run = this.run(deadNode).finally(() => this.running.delete(deadNode));
      this.running.set(deadNode, run);
    }
    return run;
  }

  /**
   * Resolves once deadNode's limbo has been replayed (recovery "done"), recovering it here if
   * nobody does and it is gone; at once if it is not gone (a subscriber between reconnects, a
   * stalled host: whatever is owed arrives later through the moved set and a QUEUED notice); after
   * SETTLE_TIMEOUT_MS at the latest.
   */
  private async awaitRecovered(deadNode: string): Promise<void> {
    const started = Date.now();
    try {
      while (Date.now() - started < SETTLE_TIMEOUT_MS) {
        const state = await this.store.state(deadNode);
        if (state === 'done') {
          this.log.info({ deadNode, waitedMs: Date.now() - started }, 'recovery: a resumed session waited for its previous node\'s recovery');
          return;
        }
        if (state === null) {
          if (!(await this.store.isGone(deadNode))) return;
          await this.recover(deadNode);
          continue;
        }
        await (this.running.get(deadNode) ?? new Promise((resolve) => setTimeout(resolve, SETTLE_POLL_MS)));
      }
      this.log.warn({ deadNode, waitedMs: Date.now() - started }, 'recovery: a resumed session stopped waiting for its previous node\'s recovery; what it is owed comes later');
    } catch (err) {
      this.log.warn({ err, deadNode }, 'recovery: could not wait for a dead node\'s recovery; what a resumed session is owed comes later');
    }
  }

  private async run(deadNode: string): Promise<void> {
    const { backend, broker } = this.options;
    try {
      if (!(await this.store.claimNode(deadNode))) return;
    } catch {
      return; // Redis away: retried by the next trigger
    }
    try {
      const started = Date.now();
      const [clients, movedIds] = await this.store.clientsAndMoved(deadNode);
      const moved = new Set(movedIds);
      // The Redis side of each client first: ownership moved here (or found moved on), will taken, session read.
      const taken = await Promise.all(clients.map((clientId) => this.takeClient(clientId, deadNode)));
      for (const t of taken) if (t.epoch === null) moved.add(t.clientId);
      const bridges: Array<{ clientId: string; record: SessionRecord }> = [];
      await Promise.all(
        [...moved].map(async (clientId) => {
          const record = await backend.sessions.load(clientId);
          if (record !== null && record.expiryInterval > 0) bridges.push({ clientId, record }); // else a clean session now: owed nothing
        }),
      );
      /** The dead node's sessions, adopted or bridged: what its limbo is replayed into. */
      const scope = new Map<string, ReadonlyMap<string, SubscriptionOptions>>();
      /** Routes of the adopted and bridged sessions, announced once the dead node's are handed over. */
      const routes: string[] = [];
      // Then, in one turn, the sessions into the broker and the dead node out of our routes: a message
      // published here goes to the dead node's limbo before this turn and to the adopted sessions after.
      let wills = 0;
      let adopted = 0;
      for (const { clientId, epoch, will, record, remainingMs } of taken) {
        if (epoch === null) continue;
        if (will !== null) {
          wills++;
          broker.adoptWill(clientId, will.message, will.delaySeconds, record?.expiryInterval ?? 0);
        }
        if (record === null || record.expiryInterval === 0) {
          backend.ownership.release(clientId, epoch);
          continue;
        }
        adopted++;
        scope.set(clientId, record.subscriptions);
        broker.adopt(clientId, record, epoch, routes, remainingMs);
      }
      for (const { clientId, record } of bridges) {
        scope.set(clientId, record.subscriptions);
        broker.bridgeFor(clientId, record.subscriptions, routes);
      }
      await backend.bus.announceGone(deadNode);
      // A client that came back while we adopted it (its takeover notice found nothing yet): a bridge.
      await Promise.all(
        taken.map(async ({ clientId, epoch, connectionId }) => {
          if (epoch === null || !scope.has(clientId)) return;
          const owner = await backend.ownership.ownerOf(clientId);
          if (owner?.connectionId !== connectionId) broker.endBridge(clientId);
        }),
      );
      await broker.announceRoutes(routes);
      await backend.bus.rewriteRoutes();
      const writes: Promise<void>[] = [];
      const drained = await backend.bus.drainLimbo(deadNode, (message, groups) => broker.replay(message, groups, deadNode, scope, writes));
      // Queued (and their holders told) before "done": a resuming session that waited for it finds them.
      await Promise.all(writes);
      await this.store.forget(deadNode);
      await this.store.markDone(deadNode);
      for (const clientId of moved) broker.endBridge(clientId);
      this.log.warn({ deadNode, clients: clients.length, wills, adopted, bridged: bridges.length, drained, ms: Date.now() - started }, 'recovery: recovered a dead node');
    } catch (err) {
      this.log.error({ err, deadNode }, 'recovery: failed; the node stays expired and is retried on the next heartbeat');
      await backend.redis.del(backend.keys.recovery(deadNode)).catch(() => {});
    }
  }

  /** Moves clientId's ownership here if the dead node still holds it (epoch null: it does not), takes its will, reads its session. */
  private async takeClient(clientId: string, deadNode: string): Promise<{ clientId: string; connectionId: string; epoch: number | null; will: TakenWill | null; record: SessionRecord | null; remainingMs: number | undefined }> {
    const { backend } = this.options;
    const connectionId = `${ADOPTED_PREFIX}${backend.bus.nodeId}:${clientId}`;
    const epoch = await this.store.adoptClient(clientId, deadNode, connectionId);
    if (epoch === null) return { clientId, connectionId, epoch, will: null, record: null, remainingMs: undefined }; // reconnected elsewhere already
    const [will, record] = await Promise.all([this.store.takeWill(clientId, deadNode), backend.sessions.load(clientId)]);
    // Offline on the dead node already: what is left of its expiry, not all of it again.
    const remainingMs = record?.offlineAt === undefined ? undefined : Math.max(1, record.offlineAt + record.expiryInterval * 1000 - Date.now());
    return { clientId, connectionId, epoch, will, record, remainingMs };
  }
}
