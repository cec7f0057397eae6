// This node's subscribers and the routes that follow them: the TopicTree index of normal
// subscriptions, the shared subscription groups, and the bus announcements that tell the other
// nodes what to send here (a filter's first subscriber on this node adds its route, the last one
// removes it; a group also has a {group}\0online route while a member here is connected).
import { SHARED_ONLINE_SUFFIX, type MessageBus, type SubscriptionOptions } from '../store/types.js';
import type { Logger } from '../log.js';
import type { FanOut, Target } from './outgoing.js';
import type { Session } from './session.js';
import { SharedSubscriptions } from './shared-subscriptions.js';
import { SubscriptionIndex } from './subscription-index.js';

export class LocalSubscriptions {
  readonly index = new SubscriptionIndex();
  readonly shared: SharedSubscriptions;

  constructor(
    private readonly bus: MessageBus,
    private readonly log: Logger,
    isConnected: (clientId: string) => boolean,
    deliverTo: (clientId: string, fan: FanOut, target: Readonly<Target>) => void,
  ) {
    this.shared = new SharedSubscriptions(isConnected, deliverTo);
  }

  /** Subscriptions held here, shared group memberships included ($SYS). */
  get count(): number {
    return this.index.size + this.shared.subscriptionCount;
  }

  /**
   * Adds clientId's subscription (to the TopicTree, or to its group for $share/...). Pushes onto
   * `routes` the announcements to wait for before SUBACK: the filter's route when it is new here,
   * and the group's online route when `connected` makes this the group's first connected member.
   */
  add(clientId: string, filter: string, options: SubscriptionOptions, connected: boolean, routes: Promise<void>[], deferred?: string[]): void {
    const isNew = SharedSubscriptions.isShared(filter) ? this.shared.add(filter, clientId, options) : this.index.add(filter, clientId, options);
    // deferred: the caller announces the route itself, later (recovery: after the dead node's routes were handed over).
    if (isNew) {
      if (deferred !== undefined) deferred.push(filter);
      else routes.push(this.bus.addRoute(filter));
    }
    if (connected && this.shared.setOnline(filter, clientId, true)) routes.push(this.bus.addRoute(filter + SHARED_ONLINE_SUFFIX));
  }

  /** Removes clientId's subscriptions to filters; a filter's last subscriber here removes its route. */
  remove(clientId: string, filters: Iterable<string>): void {
    for (const filter of filters) {
      if (this.shared.setOnline(filter, clientId, false)) this.bus.removeRoute(filter + SHARED_ONLINE_SUFFIX);
      const last = SharedSubscriptions.isShared(filter) ? this.shared.remove(filter, clientId) : this.index.remove(filter, clientId);
      if (last) this.bus.removeRoute(filter);
    }
  }

  /**
   * A client with shared subscriptions connected or went away: its groups' online routes follow
   * (not awaited). Without groups on this node the session's subscriptions are not even looked at
   * (an idle session creates its subscription map on first access).
   */
  setOnline(session: Pick<Session, 'clientId' | 'subscriptions'>, online: boolean): void {
    if (this.shared.size === 0) return;
    const clientId = session.clientId;
    for (const filter of session.subscriptions.keys()) {
      if (!this.shared.setOnline(filter, clientId, online)) continue;
      if (!online) this.bus.removeRoute(filter + SHARED_ONLINE_SUFFIX);
      else this.bus.addRoute(filter + SHARED_ONLINE_SUFFIX).catch((err: unknown) => this.log.warn({ err, filter }, 'could not announce a shared subscription member online'));
    }
  }
}
