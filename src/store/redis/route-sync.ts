// Keeps this node's view of the cluster current: this node's own routes in Redis, and the
// route table of the other live nodes (which nodes are live: membership.ts).
//
// Why a route announcement is safe against every race with a node starting up: a node first
// SUBSCRIBEs to the routes channel, then registers, then loads every live node's routes hash.
// An announcer HSETs before it PUBLISHes, so a starting node either loads the route or hears
// it (or both; applying twice is harmless). Announcements that arrive while a hash is being
// loaded are logged and replayed after the load, so a reply racing on the other connection
// cannot undo a newer add or remove.
import { isCluster, type RedisConn } from './connection.js';
import { publishIn } from './pubsub.js';
import type { NodeRegistry } from './membership.js';
import { encodeRouteAnnouncement, type RouteAnnouncement } from './node-frames.js';
import { RouteTable } from './routes.js';

export interface BusKeys {
  nodeChannel(nodeId: string): string;
  routesChannel: string;
  routesHash(nodeId: string): string;
  limbo(nodeId: string): string;
}

export class RouteSync {
  readonly table = new RouteTable();
  /**
   * This node's own filters with a count of holders (the broker core, and recovery's adopted
   * sessions, may both want one filter): the source of truth to rewrite its hash after Redis
   * comes back.
   */
  readonly ownRoutes = new Map<string, number>();
  private loadsInFlight = 0;
  private loadLog: RouteAnnouncement[] = [];

  constructor(
    private readonly redis: RedisConn,
    private readonly keys: BusKeys,
    private readonly nodeId: string,
    private readonly members: Pick<NodeRegistry, 'liveNodes'>,
  ) {}

  /** Rewrites this node's routes hash from ownRoutes and tells everyone to reload it. */
  async publishOwnRoutes(): Promise<void> {
    const hash = this.keys.routesHash(this.nodeId);
    const multi = this.redis.multi().del(hash);
    if (this.ownRoutes.size > 0) multi.hset(hash, Object.fromEntries([...this.ownRoutes.keys()].map((f) => [f, '1'])));
    publishIn(multi, isCluster(this.redis), this.keys.routesChannel, encodeRouteAnnouncement({ kind: 'rejoin', nodeId: this.nodeId }));
    await multi.exec();
  }

  /** Loads the routes of every live node but this one, replacing what the table held. */
  async loadAll(): Promise<void> {
    await this.load(async () => {
      const nodes = (await this.members.liveNodes()).filter((id) => id !== this.nodeId);
      const pipeline = this.redis.pipeline();
      for (const id of nodes) pipeline.hkeys(this.keys.routesHash(id));
      const replies = (await pipeline.exec()) ?? [];
      const fresh = new Map<string, string[]>();
      nodes.forEach((id, i) => {
        const [err, filters] = replies[i] ?? [new Error('no reply'), null];
        // A node whose routes could not be read is not a node without routes: fail the load (the
        // caller retries) rather than drop its routes and stop sending it what it subscribed to.
        if (err !== null) throw err;
        fresh.set(id, filters as string[]);
      });
      for (const id of this.table.nodes()) if (!fresh.has(id)) this.table.dropNode(id);
      for (const [id, filters] of fresh) this.table.replaceNode(id, filters);
      return new Set(fresh.keys());
    });
  }

  async loadNode(nodeId: string): Promise<void> {
    await this.load(async () => {
      this.table.replaceNode(nodeId, await this.redis.hkeys(this.keys.routesHash(nodeId)));
      return new Set([nodeId]);
    });
  }

  /** Applies an announcement from another node (and logs it if a load is racing it). */
  apply(a: RouteAnnouncement): void {
    if (this.loadsInFlight > 0) this.loadLog.push(a);
    this.applyNow(a);
  }

  private applyNow(a: RouteAnnouncement): void {
    if (a.kind === 'add') this.table.add(a.nodeId, a.filter);
    else if (a.kind === 'remove') this.table.remove(a.nodeId, a.filter);
    // Its routes pass to the recovering node (never to ourselves: the table holds other nodes' routes).
    else if (a.kind === 'gone') {
      if (a.origin === this.nodeId) this.table.dropNode(a.nodeId);
      else this.table.handOver(a.nodeId, a.origin);
    }
  }

  private async load(run: () => Promise<Set<string>>): Promise<void> {
    this.loadsInFlight++;
    try {
      const loaded = await run();
      // Replay what arrived while the replies were on their way: they are newer than the load or equal.
      for (const a of this.loadLog) if (loaded.has(a.nodeId) && a.kind !== 'rejoin') this.applyNow(a);
    } finally {
      if (--this.loadsInFlight === 0) this.loadLog = [];
    }
  }
}
