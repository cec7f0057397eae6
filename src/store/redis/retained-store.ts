// RetainedStore over Redis, with an index so a wildcard never scans every retained topic.
//
// The index is a trie of topic levels kept in Redis sets (keys.ts: {p}rtree:{path}). The
// root's path is '', a topic prefix's path is '/' + its levels joined by '/' ('/a', '/a/b',
// '/' for a first level that is empty), and each set holds the names of the child levels plus
// the marker "\0" when a retained topic ends there (MQTT forbids U+0000 in topics, so no level
// can collide with it). set() updates hash and trie in one Lua script; a clear prunes the
// nodes it leaves empty, bottom up.
//
// match(filter) walks the filter level by level over a frontier of trie paths:
//   exact level  -> extend each path, no Redis command (a path that does not exist just finds nothing)
//   '+'          -> the members of every frontier node (one script call per 2000 nodes), every child level
//   '#'          -> the whole subtree: such rounds depth by depth, collecting markers
//                   ('a/#' also matches 'a' itself: the marker of the node where '#' starts)
// then HMGET (1000 fields a call) of the topics found. Cost grows with the levels of the filter and the
// number of trie nodes that match it, never with the number of retained topics.
// [MQTT-4.7.2-1] '+' or '#' as the first level never descends into a '$' child of the root.
import type { Redis } from 'ioredis';
import type { Message, RetainedStore } from '../types.js';
import { decodeMessage, encodeMessage } from './codec.js';
import type { RedisKeys } from './keys.js';
import { storeScripts, type StoreScripts } from './scripts.js';
import { WriteTracker } from './write-tracker.js';

const MARKER = '\0';
const HMGET_CHUNK = 1000;
/** Trie nodes read per script call: bounds how long one call holds Redis. */
const MEMBERS_CHUNK = 2000;

export class RedisRetainedStore implements RetainedStore {
  /** Redis commands issued by match() so far (tests prove the index is used; diagnostics). */
  matchCommands = 0;
  private readonly scripts: StoreScripts;
  private readonly writes: WriteTracker;
  private readonly triePrefix: string;

  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
  ) {
    this.scripts = storeScripts(redis);
    this.writes = new WriteTracker(redis);
    this.triePrefix = keys.retainedTrie('');
  }

  set(topic: string, message: Message | null): void {
    this.writes.track(this.scripts.retainSet(this.keys.retained, this.triePrefix, topic, message === null ? null : encodeMessage(message)));
  }

  async match(filter: string): Promise<Message[]> {
    const topics = await this.matchTopics(filter);
    return this.fetch(topics);
  }

  count(): Promise<number> {
    return this.redis.hlen(this.keys.retained);
  }

  flush(): Promise<void> {
    return this.writes.flush();
  }

  /** Topics with a retained message matching filter, found through the trie. */
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
        const children = await this.members(frontier);
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
    // Paths are '/'+topic: the HMGET of fetch() drops those where no topic ends.
    return frontier.map((path) => path.slice(1));
  }

  /** Every topic at or below the frontier's paths (a '#' level). */
  private async subtree(start: string[], atRoot: boolean): Promise<string[]> {
    const topics: string[] = [];
    let frontier = start;
    let root = atRoot;
    while (frontier.length > 0) {
      const children = await this.members(frontier);
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

  /** The members of every path's trie node, in one pipelined round of script calls. */
  private async members(paths: string[]): Promise<string[][]> {
    const rounds: Array<Promise<string[][]>> = [];
    for (let i = 0; i < paths.length; i += MEMBERS_CHUNK) {
      this.matchCommands++;
      rounds.push(this.scripts.trieMembers(this.triePrefix, paths.slice(i, i + MEMBERS_CHUNK)));
    }
    return (await Promise.all(rounds)).flat();
  }

  private async fetch(topics: string[]): Promise<Message[]> {
    if (topics.length === 0) return [];
    const rounds: Array<Promise<Array<Buffer | null>>> = [];
    for (let i = 0; i < topics.length; i += HMGET_CHUNK) {
      this.matchCommands++;
      rounds.push(this.redis.hmgetBuffer(this.keys.retained, ...topics.slice(i, i + HMGET_CHUNK)));
    }
    const found: Message[] = [];
    for (const chunk of await Promise.all(rounds)) for (const bytes of chunk) if (bytes !== null) found.push(decodeMessage(bytes));
    return found;
  }
}
