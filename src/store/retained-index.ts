// Retained topics indexed two ways: a flat map for exact lookups (a filter without wildcards
// is one get) and a trie of topic levels for wildcard filters, so 'a/b/+/x' walks only the
// branches under 'a/b' instead of scanning every retained topic. Usable by any backend that
// mirrors its retained topics in memory.

interface Node<V> {
  parent: Node<V> | null;
  level: string;
  children: Map<string, Node<V>> | null;
  /** The topic ending here; '' while no value is stored at this node. */
  topic: string;
  value: V | undefined;
  hasValue: boolean;
}

function newNode<V>(parent: Node<V> | null, level: string): Node<V> {
  return { parent, level, children: null, topic: '', value: undefined, hasValue: false };
}

export class RetainedIndex<V> {
  private readonly root: Node<V> = newNode<V>(null, '');
  private readonly byTopic = new Map<string, Node<V>>();
  /** Nodes touched by match() since construction; tests use it to prove the walk is narrow. */
  visitedNodes = 0;

  get size(): number {
    return this.byTopic.size;
  }

  set(topic: string, value: V): void {
    let node = this.byTopic.get(topic);
    if (node === undefined) {
      node = this.root;
      for (const level of topic.split('/')) {
        node.children ??= new Map();
        let next = node.children.get(level);
        if (next === undefined) {
          next = newNode(node, level);
          node.children.set(level, next);
        }
        node = next;
      }
      node.topic = topic;
      node.hasValue = true;
      this.byTopic.set(topic, node);
    }
    node.value = value;
  }

  delete(topic: string): boolean {
    const node = this.byTopic.get(topic);
    if (node === undefined) return false;
    this.byTopic.delete(topic);
    node.hasValue = false;
    node.value = undefined;
    node.topic = '';
    // Unlink nodes left empty, so deleted topics do not keep memory.
    let current = node;
    while (current.parent !== null && !current.hasValue && (current.children === null || current.children.size === 0)) {
      const parent: Node<V> = current.parent;
      parent.children!.delete(current.level);
      if (parent.children!.size === 0) parent.children = null;
      current.parent = null;
      current = parent;
    }
    return true;
  }

  get(topic: string): V | undefined {
    return this.byTopic.get(topic)?.value;
  }

  /** Calls visit for each retained topic matching filter. A '$' topic is not matched by a filter starting with '+' or '#' [MQTT-4.7.2-1]. */
  match(filter: string, visit: (topic: string, value: V) => void): void {
    if (filter.indexOf('+') === -1 && filter.indexOf('#') === -1) {
      const node = this.byTopic.get(filter);
      this.visitedNodes++;
      if (node !== undefined) visit(node.topic, node.value as V);
      return;
    }
    this.walk(this.root, filter.split('/'), 0, visit);
  }

  /** `node` matched filter levels[0..i-1]. */
  private walk(node: Node<V>, levels: string[], i: number, visit: (topic: string, value: V) => void): void {
    this.visitedNodes++;
    if (i === levels.length) {
      if (node.hasValue) visit(node.topic, node.value as V);
      return;
    }
    const level = levels[i];
    if (level === '#') {
      // '#' matches the parent level too: 'sport/#' matches 'sport' [v3:MQTT-4.7.1-2] [v5:MQTT-4.7.1-1].
      if (node.hasValue) visit(node.topic, node.value as V);
      if (node.children !== null) for (const child of node.children.values()) this.everything(child, i === 0, visit);
      return;
    }
    if (node.children === null) return;
    if (level === '+') {
      for (const child of node.children.values()) {
        if (i === 0 && child.level.charCodeAt(0) === 36 /* '$' */) continue;
        this.walk(child, levels, i + 1, visit);
      }
      return;
    }
    const child = node.children.get(level);
    if (child !== undefined) this.walk(child, levels, i + 1, visit);
  }

  /** Visits node and all its descendants; at the first level, '$' topics are skipped [MQTT-4.7.2-1]. */
  private everything(node: Node<V>, firstLevel: boolean, visit: (topic: string, value: V) => void): void {
    if (firstLevel && node.level.charCodeAt(0) === 36 /* '$' */) return;
    this.visitedNodes++;
    if (node.hasValue) visit(node.topic, node.value as V);
    if (node.children !== null) for (const child of node.children.values()) this.everything(child, false, visit);
  }

  /** Trie nodes below the root (tests use it to prove pruning). */
  get nodeCount(): number {
    let count = 0;
    const stack: Node<V>[] = [this.root];
    while (stack.length > 0) {
      const node = stack.pop()!;
      if (node.children === null) continue;
      count += node.children.size;
      for (const child of node.children.values()) stack.push(child);
    }
    return count;
  }
}
