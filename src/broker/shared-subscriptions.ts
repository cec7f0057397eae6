// MQTT 5 shared subscriptions (section 4.8.2) held on this node: `$share/{name}/{filter}`.
// Each message matching a group's filter goes to ONE member of the group, as well as to the
// normal subscribers. A group is identified by the whole subscription string (same name and
// same filter), here, in bus routes and in bus frames.
//
// Choosing, for a message published on this node:
// - the node: in turn among the nodes with a CONNECTED member of the group (this one and the
//   others: each node announces `{group}\0online` while it has one); only when no node has one,
//   in turn among all nodes holding members. The message goes to the chosen node marked with the group.
// - the member, on the chosen node: the next connected member in turn; only when none is
//   connected, the next offline (persistent) member in turn, whose session queues it.
// So an offline member gets a message only when no member anywhere is connected (as far as the
// routes know: they follow connects and disconnects without being awaited).
//
// A broker without shared subscriptions pays one size check per PUBLISH (Broker.publish).
import { parseSharedSubscription } from '../protocol/index.js';
import type { Message, MessageBus, Reach, SharedRoute, SubscriptionOptions } from '../store/types.js';
import { FanOut, isExpired, type Target } from './outgoing.js';
import { TopicTree } from './topic-tree.js';

export interface SharedGroup {
  /** `$share/{name}/{filter}`. */
  readonly key: string;
  readonly shareName: string;
  readonly filter: string;
  /** Members on this node, in the order they joined; options per member (QoS, rap, subscription id). */
  readonly members: string[];
  readonly options: Map<string, SubscriptionOptions>;
  /** Members whose client is connected here. */
  readonly online: Set<string>;
  /** Round-robin position over members. */
  memberTurn: number;
  /** Set while a publish has already chosen for this group (see choose()). */
  chosenFor: number;
}

export class SharedSubscriptions {
  /** Groups by inner filter, keyed by share name. */
  private readonly tree = new TopicTree<SharedGroup>();
  private readonly groups = new Map<string, SharedGroup>();
  private memberships = 0;
  private publishSeq = 0;

  constructor(
    private readonly connected: (clientId: string) => boolean,
    /** The broker's delivery to one client (its session, or its offline queue). */
    private readonly deliverTo: (clientId: string, fan: FanOut, target: Target) => void,
  ) {}

  /** Whether a subscription string is a (valid) shared subscription. */
  static isShared(subscription: string): boolean {
    return parseSharedSubscription(subscription) !== null;
  }

  /** Groups with at least one member on this node. */
  get size(): number {
    return this.groups.size;
  }

  /** (group, member) pairs on this node. */
  get subscriptionCount(): number {
    return this.memberships;
  }

  get(key: string): SharedGroup | undefined {
    return this.groups.get(key);
  }

  /** Adds or updates a member. True when the group had no member here before (announce a route). */
  add(key: string, clientId: string, options: SubscriptionOptions): boolean {
    let group = this.groups.get(key);
    let first = false;
    if (group === undefined) {
      const parts = parseSharedSubscription(key);
      if (parts === null) throw new Error(`not a shared subscription: ${key}`);
      group = { key, shareName: parts.shareName, filter: parts.filter, members: [], options: new Map(), online: new Set(), memberTurn: 0, chosenFor: 0 };
      this.groups.set(key, group);
      this.tree.add(parts.filter, parts.shareName, group);
      first = true;
    }
    if (!group.options.has(clientId)) {
      group.members.push(clientId);
      this.memberships++;
    }
    group.options.set(clientId, options);
    return first;
  }

  /**
   * Marks a member connected or not. True when the group's count of connected members here went
   * 0 → 1 (online) or 1 → 0 (offline): announce or withdraw the group's online route.
   */
  setOnline(key: string, clientId: string, online: boolean): boolean {
    const group = this.groups.get(key);
    if (group === undefined || !group.options.has(clientId)) return false;
    if (!online) return group.online.delete(clientId) && group.online.size === 0;
    if (group.online.has(clientId)) return false;
    group.online.add(clientId);
    return group.online.size === 1;
  }

  /** Removes a member (call setOnline(.., false) first). True when it was the group's last member here (withdraw the route). */
  remove(key: string, clientId: string): boolean {
    const group = this.groups.get(key);
    if (group === undefined || !group.options.delete(clientId)) return false;
    group.members.splice(group.members.indexOf(clientId), 1);
    group.online.delete(clientId);
    this.memberships--;
    if (group.members.length > 0) return false;
    this.groups.delete(key);
    this.tree.remove(group.filter, group.shareName);
    return true;
  }

  /**
   * For a message published on this node: picks one node per group matching topic, in turn among
   * the nodes with a connected member (this one included), or among all nodes with members when
   * none has one. Calls here(group) for the groups this node serves; returns
   * the others as node id → groups, or undefined when there are none.
   */
  choose(topic: string, bus: MessageBus, here: (group: SharedGroup) => void): Map<string, string[]> | undefined {
    const seq = ++this.publishSeq;
    let away: Map<string, string[]> | undefined;
    if (bus.sharedRouteCount > 0) {
      bus.matchSharedRoutes(topic, (route: SharedRoute) => {
        const local = this.groups.get(route.group);
        if (local !== undefined) local.chosenFor = seq; // decided here, whichever node it is
        // Nodes with a connected member if there is one anywhere, else every node with members.
        const localOnline = local !== undefined && local.online.size > 0;
        const anyOnline = localOnline || route.online.length > 0;
        const pool = anyOnline ? route.online : route.nodes;
        const withLocal = local !== undefined && (localOnline || !anyOnline);
        const candidates = pool.length + (withLocal ? 1 : 0);
        if (candidates === 0) return; // a route half withdrawn: nobody to serve the group
        const turn = route.turn++ % candidates;
        if (turn === pool.length && local !== undefined) {
          here(local);
          return;
        }
        const node = pool[turn];
        away ??= new Map();
        const list = away.get(node);
        if (list === undefined) away.set(node, [route.group]);
        else list.push(route.group);
      });
    }
    if (this.groups.size > 0) {
      this.tree.match(topic, (_shareName, group) => {
        if (group.chosenFor !== seq) here(group); // members on this node only
      });
    }
    return away;
  }

  /**
   * A message published on this node (fan: the FanOut of its normal delivery, if any): groups
   * served here get it now; returns the others as node id → groups for the bus. `reach` is marked
   * matched when a group is served here (the caller sees the others in what is returned).
   */
  deliverPublished(message: Message, fan: FanOut | undefined, bus: MessageBus, reach?: Reach): Map<string, string[]> | undefined {
    const now = Date.now();
    if (isExpired(message, now)) return undefined;
    return this.choose(message.topic, bus, (group) => {
      if (reach !== undefined) reach.matched = true;
      this.deliverToGroup(group, (fan ??= new FanOut(message, now, true)));
    });
  }

  /** A message from the bus, marked for groups this node was chosen to serve. Returns the copies dropped. */
  deliverFromBus(message: Message, groups: readonly string[], fan: FanOut | undefined): number {
    const now = Date.now();
    if (isExpired(message, now)) return 0;
    let dropped = 0;
    for (const key of groups) {
      const group = this.groups.get(key);
      // Its last member here left while the message was on its way: that copy is dropped.
      if (group === undefined) dropped++;
      else this.deliverToGroup(group, (fan ??= new FanOut(message, now)));
    }
    return dropped;
  }

  /** Delivers to one member; granted QoS and subscription identifier are the member's own (4.8.2). */
  private deliverToGroup(group: SharedGroup, fan: FanOut): void {
    const clientId = this.pick(group);
    const options = group.options.get(clientId) as SubscriptionOptions;
    this.deliverTo(clientId, fan, { qos: options.qos, rap: options.rap === true, subIds: options.subscriptionId !== undefined ? [options.subscriptionId] : undefined });
  }

  /** The member to deliver to: the next connected one in turn, else the next one in turn (its session queues). */
  pick(group: SharedGroup): string {
    const connected = this.connected;
    const members = group.members;
    const n = members.length;
    for (let i = 0; i < n; i++) {
      const at = (group.memberTurn + i) % n;
      if (connected(members[at])) {
        group.memberTurn = (at + 1) % n;
        return members[at];
      }
    }
    const at = group.memberTurn % n;
    group.memberTurn = (at + 1) % n;
    return members[at];
  }
}
