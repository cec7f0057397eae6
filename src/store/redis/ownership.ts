// SessionOwnership over Redis, fenced by epochs rather than a best-effort broadcast.
//
// The owner record (keys.ts) holds {node, conn, epoch}. A claim is one Lua script on it: take the
// next epoch (Redis' clock, growing per id), read the previous holder, write ourselves. The
// per-node client sets read by dead-node recovery live in the control slot, apart from the
// client's: the id is added to ours BEFORE the claim (a node that dies between the two has it in
// its set, and recovery, which checks the owner record, does the right thing), and taken out of
// the previous node's set after it (a stale entry there is skipped by the same check). Then the
// previous holder is told to close: on this node, the handlers run before claim() resolves
// (as with the memory store); on another node, a TAKEOVER frame is PUBLISHed on that node's
// channel before claim() resolves, and the bus there calls handleRemoteTakeover. A release
// only frees the id if the owner record still carries the releaser's epoch.
//
// A claim that takes the id from another node also puts it into that node's moved set
// ({p}moved:{node}); the node removes it when it handles the TAKEOVER. A TAKEOVER that nobody
// heard (PUBLISH answered 0) usually means the node is dead and not yet recovered: messages routed
// to it for this client sit in its limbo (or in other nodes' replay buffers). Recovery forwards
// those to every client in the moved set (see cluster/recovery.ts), and settle() lets the new
// connection wait for that before it drains its queue: the claim remembers the node it took the
// id from, and settle, if that node did not hear the TAKEOVER (or has no subscriber any more by
// then: a node killed a moment ago still counts as one until Redis sees its socket close), hands
// it to the handler recovery registers with onOrphaned.
//
// A TAKEOVER frame published while the old node's subscriber is disconnected is lost. So the
// node remembers the ids it holds, and whenever its command connection comes back after an
// outage it re-reads their owner records (one pipelined HMGET each) and runs the takeover
// handlers for every id that a newer claim took in the meantime.
import type { SessionOwnership } from '../types.js';
import { isCluster, type RedisConn } from './connection.js';
import type { RedisKeys } from './keys.js';
import { encodeQueued, encodeTakeover } from './node-frames.js';
import { listeners, publish } from './pubsub.js';
import { storeScripts, type StoreScripts } from './scripts.js';
import { WriteTracker } from './write-tracker.js';

type TakeoverHandler = (clientId: string, connectionId: string, epoch: number, remote: boolean, clean: boolean) => void;
/** Resolves when what deadNode's limbo held for its former clients is in their queues (or gives up). */
type OrphanHandler = (deadNode: string) => Promise<void>;

export interface OwnerRecord {
  nodeId: string;
  connectionId: string;
  epoch: number;
}

export class RedisOwnership implements SessionOwnership {
  private readonly handlers: TakeoverHandler[] = [];
  private readonly scripts: StoreScripts;
  private readonly writes: WriteTracker;
  /** Ids this node claimed from another node, until settle(): clientId -> that node, and whether it heard the TAKEOVER. */
  private readonly takenFrom = new Map<string, { node: string; heard: boolean }>();
  private orphanHandler: OrphanHandler | null = null;
  private readonly toNotify = new Set<string>();
  private notifyScheduled = false;
  /** Ids held by connections of this node: clientId -> {connection, epoch}. */
  private readonly held = new Map<string, { connectionId: string; epoch: number }>();

  constructor(
    private readonly redis: RedisConn,
    private readonly keys: RedisKeys,
    private readonly nodeId: string,
  ) {
    this.scripts = storeScripts(redis);
    // A release is two steps (the owner record, then our client set): tracked as one.
    this.writes = new WriteTracker(redis, false);
    redis.on('ready', () => void this.recheck().catch(() => {}));
  }

  async claim(clientId: string, connectionId: string, clean = false): Promise<number> {
    const k = this.keys;
    // Into our set first. On one connection the two leave together and run in order; on a
    // cluster they go to different shards, so the claim waits for the set's reply.
    const listed = this.redis.sadd(k.nodeClients(this.nodeId), clientId);
    if (isCluster(this.redis)) await listed;
    else listed.catch(() => {}); // the claim behind it fails too, and says so
    const [epochText, prevNode, prevConn, prevEpochText] = await this.scripts.ownerClaim(k.owner(clientId), this.nodeId, connectionId);
    const epoch = Number(epochText);
    this.held.set(clientId, { connectionId, epoch });
    if (prevNode === '' || prevNode === undefined || prevConn === undefined) return epoch;
    const prevEpoch = Number(prevEpochText);
    if (prevNode !== this.nodeId) {
      // Out of its set and into its moved set until it handles the TAKEOVER: one MULTI (both in
      // the control slot), so recovery finds the id in one or the other; done before the TAKEOVER
      // goes out, so a recovery the unheard TAKEOVER leads to finds it there.
      await this.redis.multi().srem(k.nodeClients(prevNode), clientId).sadd(k.moved(prevNode), clientId).exec();
    }
    if (prevNode === this.nodeId) {
      if (prevConn !== connectionId) this.handleRemoteTakeover(clientId, prevConn, prevEpoch, false, clean);
    } else {
      // Nobody listening means that node is gone (or its subscriber is between reconnects: its
      // recheck then finds the newer epoch), and its connection with it.
      const heard = await publish(this.redis, k.nodeChannel(prevNode), encodeTakeover(clientId, prevConn, prevEpoch, clean));
      this.takenFrom.set(clientId, { node: prevNode, heard: heard > 0 });
    }
    return epoch;
  }

  /**
   * Called by the core once the session's routes are in place, before it drains the queue: if the
   * claim took the id from a node that did not hear it (dead, not yet recovered), waits until that
   * node's limbo has been forwarded into the queue (the handler bounds the wait). `wait` false
   * (a clean start: nothing is owed) only forgets the note.
   */
  async settle(clientId: string, wait = true): Promise<void> {
    const from = this.takenFrom.get(clientId);
    if (from === undefined) return;
    this.takenFrom.delete(clientId);
    if (!wait || this.orphanHandler === null) return;
    if (from.heard) {
      // Redis counts a process killed a moment ago as a subscriber until it sees its socket close
      // (our route announcement then waited for its ack): look again, now that time has passed.
      if ((await listeners(this.redis, this.keys.nodeChannel(from.node))) > 0) return;
    }
    await this.orphanHandler(from.node);
  }

  /** Dead-node recovery registers how to wait for a dead node's limbo (see settle). */
  onOrphaned(handler: OrphanHandler): void {
    this.orphanHandler = handler;
  }

  release(clientId: string, epoch: number): void {
    if (this.held.get(clientId)?.epoch === epoch) {
      this.held.delete(clientId);
      this.takenFrom.delete(clientId);
    }
    const k = this.keys;
    // Out of our client set only once the record is freed: a node dying in between still lists the id, and its recovery finds it free.
    this.writes.track(this.scripts.ownerRelease(k.owner(clientId), this.expiringKeys(clientId), epoch).then((freed) => (freed === 1 ? this.redis.srem(k.nodeClients(this.nodeId), clientId) : 0)));
  }

  onTakeover(handler: TakeoverHandler): void {
    this.handlers.push(handler);
  }

  /**
   * A newer claim took clientId from connectionId on this node: the bus calls this for TAKEOVER
   * frames (fromOtherNode: the claim put the id into our moved set; we are alive, so nothing of
   * ours needs forwarding: take it out).
   */
  handleRemoteTakeover(clientId: string, connectionId: string, epoch: number, fromOtherNode = false, clean = false): void {
    if (fromOtherNode) this.redis.srem(this.keys.moved(this.nodeId), clientId).catch(() => {});
    const held = this.held.get(clientId);
    if (held !== undefined && held.epoch <= epoch) this.held.delete(clientId);
    for (const handler of this.handlers) handler(clientId, connectionId, epoch, fromOtherNode, clean);
  }

  /** Tells the node holding clientId (this one too) that its queue got messages: one QUEUED frame per client per turn. */
  notifyQueued(clientId: string): void {
    this.toNotify.add(clientId);
    if (this.notifyScheduled) return;
    this.notifyScheduled = true;
    setImmediate(() => {
      this.notifyScheduled = false;
      const clientIds = [...this.toNotify];
      this.toNotify.clear();
      for (const id of clientIds) {
        // Nobody holds it (offline, not parked anywhere): its next resume takes the queue.
        this.redis
          .hget(this.keys.owner(id), 'node')
          .then((node) => (node === null ? 0 : publish(this.redis, this.keys.nodeChannel(node), encodeQueued(id))))
          .catch(() => {}); // Redis away: the messages wait in the queue for the client's next take
      }
    });
  }

  /** The current holder of clientId, or null. */
  async ownerOf(clientId: string): Promise<OwnerRecord | null> {
    const [node, conn, epoch] = await this.redis.hmget(this.keys.owner(clientId), 'node', 'conn', 'epoch');
    if (node === null || node === undefined || conn === null || conn === undefined) return null;
    return { nodeId: node, connectionId: conn, epoch: Number(epoch) };
  }

  /**
   * Runs the takeover handlers for every id this node holds that a newer claim has taken (the
   * notice may have been lost during an outage). Called on each reconnect; safe to call any time.
   */
  async recheck(): Promise<number> {
    const mine = [...this.held];
    if (mine.length === 0) return 0;
    const owners = await Promise.all(mine.map(([clientId]) => this.redis.hget(this.keys.owner(clientId), 'epoch')));
    let taken = 0;
    mine.forEach(([clientId, { connectionId, epoch }], i) => {
      const current = owners[i];
      // Absent: freed (our release, or expiry); only a newer epoch means someone took it.
      if (current === null || current === undefined || Number(current) <= epoch) return;
      if (this.held.get(clientId)?.epoch !== epoch) return;
      taken++;
      this.handleRemoteTakeover(clientId, connectionId, epoch, true);
    });
    return taken;
  }

  /** Client ids held by nodeId (dead-node recovery). */
  clientsOf(nodeId: string): Promise<string[]> {
    return this.redis.smembers(this.keys.nodeClients(nodeId));
  }

  /** Resolves when every release issued so far is applied; rejects if one failed. */
  flush(): Promise<void> {
    return this.writes.flush();
  }

  /** The session hash first (it holds the expiry), then everything that expires with it; the will is left to recovery. */
  private expiringKeys(clientId: string): string[] {
    const k = this.keys;
    return [k.session(clientId), k.subs(clientId), k.queue(clientId), k.inflight(clientId), k.inflightOrder(clientId), k.qos2(clientId)];
  }
}
