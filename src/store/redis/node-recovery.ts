// The Redis side of dead-node recovery: atomic steps, so that two recoverers (the primary's
// pick and a heartbeat watcher on another host) can never both act on the same thing.
//
// - claimNode: SET {p}recovery:{node} NX; exactly one node recovers a dead node.
// - takeWill:  reads and deletes a client's will only if it still belongs to the dead node
//              (a newer connection elsewhere writes its own will, with its own node).
// - adoptClient: moves ownership of a client id from the dead node to us only if the dead node
//              still holds it, with a fresh fencing epoch (a client that already reconnected
//              elsewhere is left alone); the per-node client sets follow, as in a claim.
// - clientsAndMoved: the clients the dead node held, and those claimed away from it after it died
//              (its moved set), read together so that a claim in between is in one or the other.
// - markDone / state: {p}recovery:{node} becomes "done" when the dead node's limbo is delivered;
//              a node resuming one of its former clients waits for that (cluster/recovery.ts).
// - isGone:    neither of the node's Redis connections is open (CLIENT LIST by connection name).
import type { Message } from '../types.js';
import { decodeMessage } from './codec.js';
import { isCluster, type RedisConn } from './connection.js';
import type { RedisKeys } from './keys.js';
import { listeners } from './pubsub.js';
import { defineScript } from './script-preload.js';
import { storeScripts, type StoreScripts } from './scripts.js';

// KEYS: will hash. ARGV: dead node. Returns {msg, delay} and deletes the will, or nil.
const TAKE_WILL = `
local w = redis.call('HMGET', KEYS[1], 'msg', 'delay', 'node')
if not w[1] or w[3] ~= ARGV[1] then return nil end
redis.call('DEL', KEYS[1])
return { w[1], w[2] or '0' }`;

const DONE = 'done';

export interface TakenWill {
  message: Message;
  delaySeconds: number;
}

interface RecoveryCommands {
  starlingTakeWillBuffer(willKey: string, deadNode: string): Promise<[Buffer, Buffer] | null>;
}

export class NodeRecoveryStore {
  private readonly scripts: StoreScripts;

  constructor(
    private readonly redis: RedisConn,
    private readonly keys: RedisKeys,
    private readonly nodeId: string,
  ) {
    this.scripts = storeScripts(redis);
    // defineCommand: EVALSHA with a Buffer-returning variant (the will is binary).
    if (!('starlingTakeWill' in redis)) defineScript(redis, 'starlingTakeWill', { numberOfKeys: 1, lua: TAKE_WILL });
  }

  /** True for exactly one caller per dead node (the claim lasts a day: node ids never return). */
  async claimNode(deadNode: string): Promise<boolean> {
    return (await this.redis.set(this.keys.recovery(deadNode), this.nodeId, 'EX', 86_400, 'NX')) === 'OK';
  }

  /**
   * Whether the node still looks alive despite an expired heartbeat: its subscriber connection is
   * still open (a killed process's socket is closed by its kernel), and the heartbeat expired
   * less than graceMs ago (a host that vanished without closing its sockets is let go then).
   */
  async seemsAlive(nodeId: string, graceMs: number): Promise<boolean> {
    const [count, expiry] = await Promise.all([listeners(this.redis, this.keys.nodeChannel(nodeId)), this.redis.zscore(this.keys.nodes, nodeId)]);
    const listening = count > 0;
    const expiredFor = expiry === null ? Infinity : Date.now() - Number(expiry);
    return listening && expiredFor < graceMs;
  }

  /** [clients deadNode holds, clients claimed away from it since it stopped hearing takeovers], atomically. */
  async clientsAndMoved(deadNode: string): Promise<[string[], string[]]> {
    const replies = await this.redis.multi().smembers(this.keys.nodeClients(deadNode)).smembers(this.keys.moved(deadNode)).exec();
    const [held, moved] = (replies ?? []).map(([err, value]) => {
      if (err !== null) throw err;
      return value as string[];
    });
    return [held ?? [], moved ?? []];
  }

  /** Marks deadNode recovered: its limbo is delivered (the claim stays, so nobody recovers it again). */
  async markDone(deadNode: string): Promise<void> {
    await this.redis.set(this.keys.recovery(deadNode), DONE, 'EX', 86_400);
  }

  /** null: nobody recovers deadNode (yet); 'done'; or the id of the node recovering it. */
  state(deadNode: string): Promise<string | null> {
    return this.redis.get(this.keys.recovery(deadNode));
  }

  /**
   * True when neither Redis connection of nodeId is open: a killed process's sockets are closed by
   * its kernel. A node that only lost its subscriber for a moment, or a stalled or cut-off host
   * whose sockets Redis still holds, is not gone. Without CLIENT LIST (a restricted Redis user):
   * gone when its heartbeat expired.
   */
  async isGone(nodeId: string): Promise<boolean> {
    try {
      // On a cluster a node's connections are spread over every server: ask each master.
      const servers = isCluster(this.redis) ? this.redis.nodes('master') : [this.redis];
      const lists = (await Promise.all(servers.map((server) => server.client('LIST')))) as string[];
      const names = [`name=starling:${nodeId}:commands `, `name=starling:${nodeId}:subscriber `];
      return !lists.some((list) => list.split('\n').some((line) => names.some((name) => line.includes(name))));
    } catch {
      const expiry = await this.redis.zscore(this.keys.nodes, nodeId);
      return expiry === null || Number(expiry) < Date.now();
    }
  }

  async takeWill(clientId: string, deadNode: string): Promise<TakenWill | null> {
    const reply = await (this.redis as unknown as RecoveryCommands).starlingTakeWillBuffer(this.keys.will(clientId), deadNode);
    if (reply === null) return null;
    return { message: decodeMessage(reply[0]), delaySeconds: Number(reply[1].toString()) };
  }

  /** The new epoch, or null when deadNode no longer holds clientId. */
  async adoptClient(clientId: string, deadNode: string, connectionId: string): Promise<number | null> {
    const k = this.keys;
    // Into our set first (as a claim: ownership.ts), then the record, then out of the dead node's set.
    await this.redis.sadd(k.nodeClients(this.nodeId), clientId);
    const epoch = await this.scripts.ownerAdopt(k.owner(clientId), deadNode, this.nodeId, connectionId);
    // Not adopted: the entry stays (the id may be ours by a claim meanwhile; a stale one is skipped by the owner check).
    if (epoch === null) return null;
    await this.redis.srem(k.nodeClients(deadNode), clientId);
    return Number(epoch);
  }

  /** Drops what is left of the dead node once recovered. */
  async forget(deadNode: string): Promise<void> {
    await this.redis.del(this.keys.nodeClients(deadNode), this.keys.stats(deadNode), this.keys.limbo(deadNode), this.keys.moved(deadNode));
  }
}
