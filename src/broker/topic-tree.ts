// The subscription index: a trie keyed by filter level.
//
// Each node is one filter level. Literal levels live in `children`; the wildcard levels '+'
// and '#' get their own slots so match() can try them without a map lookup. A node carries
// the entries (key -> value, e.g. client id -> options) of the filter that ends there.
//
// match(topic) splits the topic once and walks, for each topic level, at most three
// branches: the literal child, the '+' child, and the '#' child (which matches the rest).
// Nothing else is allocated per call: the walk is a recursive method, not a closure.
//
// Shared subscriptions ($share/group/filter) are not interpreted here: the broker strips the
// prefix and stores the inner filter under a key of its choosing.

interface Node<V> {
  parent: Node<V> | null;
  /** The level this node stands for under its parent ('+' and '#' included). */
  level: string;
  children: Map<string, Node<V>> | null;
  plus: Node<V> | null;
  hash: Node<V> | null;
  /** Entries of the filter ending at this node; null while it has none (keeps idle nodes small). */
  entries: Map<string, V> | null;
  /** The filter ending at this node, set while entries exist. */
  filter: string;
}

function newNode<V>(parent: Node<V> | null, level: string): Node<V> {
  return { parent, level, children: null, plus: null, hash: null, entries: null, filter: '' };
}

function isEmpty<V>(node: Node<V>): boolean {
  return node.entries === null && node.plus === null && node.hash === null && (node.children === null || node.children.size === 0);
}

/** Subscriptions indexed by filter level: match(topic) walks only the branches that can match. */
export class TopicTree<V> {
  private readonly root: Node<V> = newNode<V>(null, '');
  private entryCount = 0;
  private filters = 0;
  private nodes = 0;

  /** Number of (filter, key) entries. */
  get size(): number {
    return this.entryCount;
  }

  /** Number of distinct filters. */
  get filterCount(): number {
    return this.filters;
  }

  /** Number of trie nodes below the root (tests use it to prove pruning). */
  get nodeCount(): number {
    return this.nodes;
  }

  /**
   * Adds or replaces the entry of `key` under `filter`. Returns true when the filter had no
   * entry before (0 -> 1 subscribers, so a route must be announced).
   */
  add(filter: string, key: string, value: V): boolean {
    let node = this.root;
    let start = 0;
    while (true) {
      const end = filter.indexOf('/', start);
      const level = end === -1 ? filter.slice(start) : filter.slice(start, end);
      node = this.child(node, level);
      if (end === -1) break;
      start = end + 1;
    }
    let first = false;
    if (node.entries === null) {
      node.entries = new Map();
      node.filter = filter;
      this.filters++;
      first = true;
    }
    if (!node.entries.has(key)) this.entryCount++;
    node.entries.set(key, value);
    return first;
  }

  /** Removes key's entry under filter. Returns true when the filter now has no entries (1 -> 0); false if nothing was there. */
  remove(filter: string, key: string): boolean {
    const node = this.find(filter);
    if (node === null || node.entries === null || !node.entries.delete(key)) return false;
    this.entryCount--;
    if (node.entries.size > 0) return false;
    node.entries = null;
    node.filter = '';
    this.filters--;
    this.prune(node);
    return true;
  }

  get(filter: string, key: string): V | undefined {
    return this.find(filter)?.entries?.get(key);
  }

  hasFilter(filter: string): boolean {
    return this.find(filter)?.entries != null;
  }

  /**
   * Calls visit once per (filter, key) entry whose filter matches the topic. A key subscribed
   * through several matching filters is visited once per filter; the caller dedupes.
   */
  match(topic: string, visit: (key: string, value: V, filter: string) => void): void {
    const levels = topic.split('/');
    // Topics starting with '$' are not matched by filters starting with '#' or '+' [MQTT-4.7.2-1].
    const root = this.root;
    const literal = root.children?.get(levels[0]);
    if (literal !== undefined) this.walk(literal, levels, 1, visit);
    if (topic.charCodeAt(0) === 36 /* '$' */) return;
    if (root.plus !== null) this.walk(root.plus, levels, 1, visit);
    if (root.hash !== null) emit(root.hash, visit);
  }

  /** `node` matched levels[0..i-1]; visit the entries that match the rest. */
  private walk(node: Node<V>, levels: string[], i: number, visit: (key: string, value: V, filter: string) => void): void {
    if (i === levels.length) {
      if (node.entries !== null) emit(node, visit);
      // 'sport/#' matches 'sport': '#' also stands for the parent level [v3:MQTT-4.7.1-2] [v5:MQTT-4.7.1-1].
      if (node.hash !== null) emit(node.hash, visit);
      return;
    }
    if (node.children !== null) {
      const literal = node.children.get(levels[i]);
      if (literal !== undefined) this.walk(literal, levels, i + 1, visit);
    }
    // '+' matches exactly one level, an empty one included [MQTT-4.7.1-3].
    if (node.plus !== null) this.walk(node.plus, levels, i + 1, visit);
    // '#' matches any number of remaining levels [v3:MQTT-4.7.1-2] [v5:MQTT-4.7.1-1].
    if (node.hash !== null) emit(node.hash, visit);
  }

  private child(node: Node<V>, level: string): Node<V> {
    if (level === '+') return node.plus ?? (this.nodes++, (node.plus = newNode(node, level)));
    if (level === '#') return node.hash ?? (this.nodes++, (node.hash = newNode(node, level)));
    node.children ??= new Map();
    let next = node.children.get(level);
    if (next === undefined) {
      next = newNode(node, level);
      node.children.set(level, next);
      this.nodes++;
    }
    return next;
  }

  private find(filter: string): Node<V> | null {
    let node: Node<V> | null | undefined = this.root;
    let start = 0;
    while (node) {
      const end = filter.indexOf('/', start);
      const level = end === -1 ? filter.slice(start) : filter.slice(start, end);
      if (level === '+') node = node.plus;
      else if (level === '#') node = node.hash;
      else node = node.children?.get(level);
      if (end === -1) return node ?? null;
      start = end + 1;
    }
    return null;
  }

  /** Unlinks empty nodes from `node` up towards the root, so churn does not grow memory. */
  private prune(node: Node<V>): void {
    let current: Node<V> = node;
    while (current.parent !== null && isEmpty(current)) {
      const parent: Node<V> = current.parent;
      if (parent.plus === current) parent.plus = null;
      else if (parent.hash === current) parent.hash = null;
      else {
        parent.children?.delete(current.level);
        if (parent.children?.size === 0) parent.children = null;
      }
      current.parent = null;
      this.nodes--;
      current = parent;
    }
  }
}

function emit<V>(node: Node<V>, visit: (key: string, value: V, filter: string) => void): void {
  const entries = node.entries;
  if (entries === null) return;
  const filter = node.filter;
  for (const [key, value] of entries) visit(key, value, filter);
}
