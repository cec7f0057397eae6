// The route table: which OTHER nodes have a subscriber for which filter. publish() matches a
// topic against it to find the nodes to send to, so a node with no matching subscriber is
// sent nothing. It is kept in a TopicTree keyed by node id, plus each node's filter set so a
// node can be dropped or reloaded as a whole.
import { TopicTree } from '../../broker/topic-tree.js';

export class RouteTable {
  private readonly tree = new TopicTree<true>();
  private readonly byNode = new Map<string, Set<string>>();
  /** Reused by nodesFor(): publish is the hot path. */
  private readonly scratch = new Set<string>();
  private readonly collect = (nodeId: string): void => {
    this.scratch.add(nodeId);
  };

  add(nodeId: string, filter: string): void {
    let filters = this.byNode.get(nodeId);
    if (filters === undefined) this.byNode.set(nodeId, (filters = new Set()));
    filters.add(filter);
    this.tree.add(filter, nodeId, true);
  }

  remove(nodeId: string, filter: string): void {
    const filters = this.byNode.get(nodeId);
    if (filters === undefined || !filters.delete(filter)) return;
    if (filters.size === 0) this.byNode.delete(nodeId);
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
  }

  /**
   * The distinct nodes with a filter matching topic. The returned set is reused by the next
   * call: iterate it before calling again.
   */
  nodesFor(topic: string): ReadonlySet<string> {
    const nodes = this.scratch;
    nodes.clear();
    this.tree.match(topic, this.collect);
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
