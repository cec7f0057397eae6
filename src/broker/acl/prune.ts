// After the ACL's rules changed (SIGHUP, or --auth redis telling every node): the sessions of this
// node, connected and parked, lose the subscriptions their client may no longer make. The broker
// hands over a view of its sessions; how a subscription is removed stays the broker's.
import type { Logger } from '../../log.js';
import type { Session } from '../session.js';
import type { OfflineSession } from '../offline-sessions.js';
import type { ClientAcl } from './acl.js';

export interface NodeSessions {
  /** The sessions of connected clients. */
  connected(): Iterable<Session>;
  /** Persistent sessions parked here while their client is away. */
  parked(): Iterable<[string, OfflineSession]>;
  /** Removes a connected session's subscriptions (routes, index and store: Broker.unsubscribe). */
  unsubscribe(session: Session, filters: string[]): void;
  /** Removes a parked session's subscriptions from the index and the store. */
  unsubscribeParked(clientId: string, filters: string[]): void;
}

/** Removes what the rules now deny; returns how many subscriptions went. */
export function pruneDeniedSubscriptions(sessions: NodeSessions, log: Logger): number {
  let removed = 0;
  for (const session of sessions.connected()) {
    const denied = deniedOf(session.acl, session.subscriptions.keys());
    if (denied.length === 0) continue;
    sessions.unsubscribe(session, denied);
    removed += denied.length;
    log.info({ clientId: session.clientId, filters: denied }, 'ACL reload: subscriptions now denied removed');
  }
  for (const [clientId, entry] of sessions.parked()) {
    const denied = deniedOf(entry.acl, entry.subscriptions.keys());
    if (denied.length === 0) continue;
    entry.subscriptions = new Map([...entry.subscriptions].filter(([filter]) => !denied.includes(filter)));
    sessions.unsubscribeParked(clientId, denied);
    removed += denied.length;
    log.info({ clientId, filters: denied }, 'ACL reload: subscriptions now denied removed from a parked session');
  }
  return removed;
}

function deniedOf(acl: ClientAcl | null, filters: Iterable<string>): string[] {
  if (acl === null) return [];
  return [...filters].filter((filter) => !acl.canSubscribe(filter));
}
