// The route table: which OTHER nodes have a subscriber for which filter. publish() matches a
// topic against it to find the nodes to send to, so a node with no matching subscriber is
// sent nothing. It is kept in a TopicTree keyed by node id, plus each node's filter set so a
// node can be dropped or reloaded as a whole. As with the local subscriptions
// (broker/subscription-index.ts), results are cached per topic, and any route change clears them.
//
// Shared subscription routes ($share/{name}/{filter}, MQTT 5 4.8.2) are kept apart: nodesFor()
// does not see them (a node with only members of a group gets a message only when chosen for
// it); matchShared() finds the groups whose filter matches and the nodes holding members, and
// among them those with a connected member (their `{group}\0online` route).
import { TopicTree } from '../../broker/topic-tree.js';
import { parseSharedSubscription } from '../../protocol/index.js';
import { SHARED_ONLINE_SUFFIX, type SharedRoute } from '../types.js';

interface SharedEntry extends SharedRoute {
  readonly nodes: string[];
  readonly online: string[];
}

const MAX_CACHED = 4096;

export class RouteTable {
  private readonly tree = new TopicTree<true>();
  /** Shared routes by inner filter, keyed by share name. */
  private readonly shared = new TopicTree<SharedEntry>();
  private sharedGroups = 0;
  private readonly byNode = new Map<string, Set<string>>();
  private readonly cache = new Map<string, readonly string[]>();

  add(nodeId: string, filter: string): void {
    let filters = this.byNode.get(nodeId);
    if (filters === undefined) this.byNode.set(nodeId, (filters = new Set()));
    filters.add(filter);
    this.cache.clear();
    this.index(nodeId, filter);
  }

  remove(nodeId: string, filter: string): void {
    const filters = this.byNode.get(nodeId);
    if (filters === undefined || !filters.delete(filter)) return;
    if (filters.size === 0) this.byNode.delete(nodeId);
    this.cache.clear();
    this.unindex(nodeId, filter);
  }

  /** Replaces every route of nodeId with `filters` (a reload of its routes hash). */
  replaceNode(nodeId: string, filters: Iterable<string>): void {
    this.dropNode(nodeId);
    for (const filter of filters) this.add(nodeId, filter);
  }

  /**
   * A dead node's routes become its heir's (the node recovering it, which adopts its sessions): a
   * message for them goes to the dead node's limbo until this moment and to the heir after, never
   * to both. Routes the heir does not need go when it rewrites its routes (a 'rejoin').
   */
  handOver(deadNode: string, heir: string): void {
    const filters = this.byNode.get(deadNode);
    if (filters === undefined) return;
    this.dropNode(deadNode);
    for (const filter of filters) if (this.byNode.get(heir)?.has(filter) !== true) this.add(heir, filter);
  }

  dropNode(nodeId: string): void {
    const filters = this.byNode.get(nodeId);
    if (filters === undefined) return;
    for (const filter of filters) this.unindex(nodeId, filter);
    this.byNode.delete(nodeId);
    this.cache.clear();
  }

  private index(nodeId: string, filter: string): void {
    const online = filter.endsWith(SHARED_ONLINE_SUFFIX);
    const group = online ? filter.slice(0, -SHARED_ONLINE_SUFFIX.length) : filter;
    const parts = parseSharedSubscription(group);
    if (parts === null) {
      if (!online) this.tree.add(filter, nodeId, true);
      return;
    }
    let entry = this.shared.get(parts.filter, parts.shareName);
    if (entry === undefined) {
      entry = { group, nodes: [], online: [], turn: 0 };
      this.shared.add(parts.filter, parts.shareName, entry);
      this.sharedGroups++;
    }
    const list = online ? entry.online : entry.nodes;
    if (!list.includes(nodeId)) list.push(nodeId);
  }

  private unindex(nodeId: string, filter: string): void {
    const online = filter.endsWith(SHARED_ONLINE_SUFFIX);
    const group = online ? filter.slice(0, -SHARED_ONLINE_SUFFIX.length) : filter;
    const parts = parseSharedSubscription(group);
    if (parts === null) {
      if (!online) this.tree.remove(filter, nodeId);
      return;
    }
    const entry = this.shared.get(parts.filter, parts.shareName);
    if (entry === undefined) return;
    const list = online ? entry.online : entry.nodes;
    const at = list.indexOf(nodeId);
    if (at === -1) return;
    list.splice(at, 1);
    if (entry.nodes.length > 0 || entry.online.length > 0) return;
    this.shared.remove(parts.filter, parts.shareName);
    this.sharedGroups--;
  }

  /** The distinct nodes with a filter matching topic (cached; do not modify the result). */
  nodesFor(topic: string): readonly string[] {
    let nodes = this.cache.get(topic);
    if (nodes === undefined) {
      const found = new Set<string>();
      this.tree.match(topic, (nodeId) => found.add(nodeId));
      nodes = [...found];
      if (this.cache.size >= MAX_CACHED) this.cache.delete(this.cache.keys().next().value as string);
      this.cache.set(topic, nodes);
    }
    return nodes;
  }

  /** Number of shared subscription groups with members on other nodes. */
  get sharedCount(): number {
    return this.sharedGroups;
  }

  /** Calls visit for each shared subscription group whose filter matches topic. */
  matchShared(topic: string, visit: (route: SharedRoute) => void): void {
    this.shared.match(topic, (_shareName, route) => visit(route));
  }

  nodes(): string[] {
    return [...this.byNode.keys()];
  }

  filtersOf(nodeId: string): ReadonlySet<string> {
    return this.byNode.get(nodeId) ?? new Set();
  }

  get size(): number {
    return this.tree.size;
  }
}
