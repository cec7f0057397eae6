// RetainedStore over Redis, with an index so a wildcard never scans every retained topic, laid
// out so it spreads over the shards of a Redis Cluster (keys.ts): no command or script here ever
// touches two keys, and no script builds a key name.
//
// A retained message is one string key per topic ({p}rmsg:{topic}). The index is a trie of topic
// levels, one hash per node ({p}rtree:{path}): the root's path is '', a topic prefix's path is
// '/' + its levels joined by '/' ('/a', '/a/b', '/' for a first level that is empty). A node maps
// each child level name to the NUMBER of retained topics below it through that child, and the
// marker "\0" to 1 when a retained topic ends there (MQTT forbids U+0000 in topics, so no level
// can collide with it).
//
// Why counts and not sets of names: the nodes of one topic sit on different shards, so a write
// cannot update them together atomically, and with sets two racing writers of sibling topics
// (set a/x, clear a/y) could not tell whether 'a' still has children. With counts every level
// is updated on its own by one single-key script (retained-scripts.ts: HINCRBY, the field removed
// at 0), and increments and decrements commute: whatever order they land in, the counts end
// exact. Who updates them is decided on the message key alone: set() is SET ... GET, and only a
// setter that finds no previous value (exactly one of racing setters of a new topic) adds +1 to
// every level, the marker and {p}{c}:rcount; a clear is DEL, and only the one deleter that
// removed the key subtracts 1. A clear's decrement may land before the matching set's increment:
// the transient -1 returns to 0 and is removed; lookups take only counts > 0 as present. A node
// left with no fields disappears (Redis removes empty hashes): clearing every topic leaves no key.
// flush() waits for each write's whole chain (message, then its index updates): unordered
// WriteTracker, as the replies of several shards come back in any order.
// Not repaired: a level update lost with the connection after its message was written (flush()
// rejects) or applied twice (ioredis resends unanswered commands after a quick reconnect) leaves
// that path's counts off by one for good. Too high costs lookups a read; too low hides the topic
// from wildcards, and after its clear, siblings sharing the path. A rebuild from the {p}rmsg: keys
// would repair it.
//
// match(filter) walks the filter level by level over a frontier of trie paths:
//   exact level  -> extend each path, no Redis command (a path that does not exist just finds nothing)
//   '+'          -> HGETALL of every frontier node: its child levels
//   '#'          -> the whole subtree: such rounds depth by depth, collecting markers
//                   ('a/#' also matches 'a' itself: the marker of the node where '#' starts)
// then one GET per topic found. Commands of a round are issued together (on one Redis they leave
// in one write, the connection corks per turn; on a cluster each goes to its shard), at most
// READ_WINDOW in the air. Cost grows with the levels of the filter and the number of trie nodes
// and topics that match it, never with the number of retained topics.
// [MQTT-4.7.2-1] '+' or '#' as the first level never descends into a '$' child of the root.
import type { Message, RetainedStore } from '../types.js';
import { decodeMessage, encodeMessage } from './codec.js';
import type { RedisConn } from './connection.js';
import type { RedisKeys } from './keys.js';
import { retainedScripts, type RetainedScripts } from './retained-scripts.js';
import type { ReplicaWait } from './replica-wait.js';
import { WriteTracker } from './write-tracker.js';

const MARKER = '\0';
/** Most commands one lookup keeps in the air at once. */
const READ_WINDOW = 1000;

export class RedisRetainedStore implements RetainedStore {
  /** Redis commands issued by match() so far (tests prove the index is used; diagnostics). */
  matchCommands = 0;
  private readonly scripts: RetainedScripts;
  private readonly writes: WriteTracker;

  constructor(
    private readonly redis: RedisConn,
    private readonly keys: RedisKeys,
    replicas: ReplicaWait | null = null,
  ) {
    this.scripts = retainedScripts(redis);
    // Unordered: a tracked write is a chain of commands on several keys (shards).
    this.writes = new WriteTracker(redis, false, replicas);
  }

  set(topic: string, message: Message | null): void {
    const key = this.keys.retainedMessage(topic);
    if (message === null) {
      this.writes.track(this.redis.del(key).then((removed) => (removed === 1 ? this.index(topic, -1) : undefined)));
    } else {
      this.writes.track(this.redis.setBuffer(key, encodeMessage(message), 'GET').then((previous) => (previous === null ? this.index(topic, 1) : undefined)));
    }
  }

  async match(filter: string): Promise<Message[]> {
    const topics = await this.matchTopics(filter);
    return this.fetch(topics);
  }

  async count(): Promise<number> {
    const value = await this.redis.get(this.keys.retainedCount);
    // Negative only for a moment (a clear's DECR before its set's INCR).
    return value === null ? 0 : Math.max(0, Number(value));
  }

  flush(): Promise<void> {
    return this.writes.flush();
  }

  /** Topics that may have a retained message matching filter, found through the trie. */
  async matchTopics(filter: string): Promise<string[]> {
    const levels = filter.split('/');
    if (!filter.includes('+') && !filter.includes('#')) return [filter];
    let frontier: string[] = [''];
    for (let i = 0; i < levels.length && frontier.length > 0; i++) {
      const level = levels[i]!;
      const atRoot = i === 0;
      if (level === '#') return this.subtree(frontier, atRoot);
      if (level === '+') {
        const next: string[] = [];
        const children = await this.children(frontier);
        for (let j = 0; j < frontier.length; j++) {
          for (const child of children[j]!) {
            if (child === MARKER || (atRoot && child.startsWith('$'))) continue;
            next.push(`${frontier[j]}/${child}`);
          }
        }
        frontier = next;
      } else {
        frontier = frontier.map((path) => `${path}/${level}`);
      }
    }
    // Paths are '/'+topic: the GETs of fetch() find nothing where no topic ends.
    return frontier.map((path) => path.slice(1));
  }

  /** +1 (a new topic) or -1 (a removed one) on every level of its path, its marker and the count. */
  private index(topic: string, delta: 1 | -1): Promise<unknown> {
    const updates: Array<Promise<number>> = [];
    let path = '';
    for (const level of topic.split('/')) {
      updates.push(this.scripts.level(this.keys.retainedTrie(path), level, delta));
      path = `${path}/${level}`;
    }
    updates.push(this.scripts.level(this.keys.retainedTrie(path), MARKER, delta));
    updates.push(this.scripts.count(this.keys.retainedCount, delta));
    return Promise.all(updates);
  }

  /** Every topic at or below the frontier's paths (a '#' level). */
  private async subtree(start: string[], atRoot: boolean): Promise<string[]> {
    const topics: string[] = [];
    let frontier = start;
    let root = atRoot;
    while (frontier.length > 0) {
      const children = await this.children(frontier);
      const next: string[] = [];
      for (let j = 0; j < frontier.length; j++) {
        for (const child of children[j]!) {
          if (child === MARKER) topics.push(frontier[j]!.slice(1));
          else if (!(root && child.startsWith('$'))) next.push(`${frontier[j]}/${child}`);
        }
      }
      frontier = next;
      root = false;
    }
    return topics;
  }

  /** The fields with a count > 0 (child levels, the marker) of every path's trie node. */
  private children(paths: string[]): Promise<string[][]> {
    return this.issue(paths, async (path) => {
      const node = await this.redis.hgetall(this.keys.retainedTrie(path));
      const present: string[] = [];
      for (const [field, count] of Object.entries(node)) if (Number(count) > 0) present.push(field);
      return present;
    });
  }

  private async fetch(topics: string[]): Promise<Message[]> {
    const found = await this.issue(topics, (topic) => this.redis.getBuffer(this.keys.retainedMessage(topic)));
    const messages: Message[] = [];
    for (const bytes of found) if (bytes !== null) messages.push(decodeMessage(bytes));
    return messages;
  }

  /** One command per item, issued together, at most READ_WINDOW in the air; results in item order. */
  private async issue<T>(items: string[], command: (item: string) => Promise<T>): Promise<T[]> {
    const results: T[] = [];
    for (let i = 0; i < items.length; i += READ_WINDOW) {
      const window = items.slice(i, i + READ_WINDOW);
      this.matchCommands += window.length;
      for (const result of await Promise.all(window.map(command))) results.push(result);
    }
    return results;
  }
}
