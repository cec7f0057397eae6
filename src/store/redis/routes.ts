// The route table: which OTHER nodes have a subscriber for which filter. publish() matches a
// topic against it to find the nodes to send to, so a node with no matching subscriber is
// sent nothing. It is kept in a TopicTree keyed by node id, plus each node's filter set so a
// node can be dropped or reloaded as a whole. As with the local subscriptions
// (broker/subscription-index.ts), results are cached per topic, and any route change clears them.
import { TopicTree } from '../../broker/topic-tree.js';

const MAX_CACHED = 4096;

export class RouteTable {
  private readonly tree = new TopicTree<true>();
  private readonly byNode = new Map<string, Set<string>>();
  private readonly cache = new Map<string, readonly string[]>();

  add(nodeId: string, filter: string): void {
    let filters = this.byNode.get(nodeId);
    if (filters === undefined) this.byNode.set(nodeId, (filters = new Set()));
    filters.add(filter);
    this.cache.clear();
    this.tree.add(filter, nodeId, true);
  }

  remove(nodeId: string, filter: string): void {
    const filters = this.byNode.get(nodeId);
    if (filters === undefined || !filters.delete(filter)) return;
    if (filters.size === 0) this.byNode.delete(nodeId);
    this.cache.clear();
    this.tree.remove(filter, nodeId);
  }

  /** Replaces every route of nodeId with `filters` (a reload of its routes hash). */
  replaceNode(nodeId: string, filters: Iterable<string>): void {
    this.dropNode(nodeId);
    for (const filter of filters) this.add(nodeId, filter);
  }

  dropNode(nodeId: string): void {
    const filters = this.byNode.get(nodeId);
    if (filters === undefined) return;
    for (const filter of filters) this.tree.remove(filter, nodeId);
    this.byNode.delete(nodeId);
    this.cache.clear();
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
