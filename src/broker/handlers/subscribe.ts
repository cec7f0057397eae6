// SUBSCRIBE: granted QoS per filter, routes announced before SUBACK, then retained messages.
import { isSharedSubscription, isValidTopicFilter, parseSharedSubscription, ProtocolError, ReasonCode, validateTopicFilter, type SubscribePacket } from '../../protocol/index.js';
import { ackProperties, subscriptionFailure } from '../answers.js';
import type { SubscriptionOptions } from '../../store/types.js';
import type { Broker } from '../broker.js';
import type { Connection } from '../connection.js';
import { topicLimitProblem } from './limits.js';
import { isPromise, type Hooks, type SubscribeVerdict } from '../hooks/hooks.js';

export async function handleSubscribe(broker: Broker, conn: Connection, packet: SubscribePacket): Promise<void> {
  const session = conn.session;
  if (session === null) return;
  const v5 = conn.version === 5;
  const config = broker.config;
  const subscriptionId = packet.properties?.subscriptionIdentifiers?.[0];
  // A v5 client was told in CONNACK which of these the server offers: using one anyway is a
  // Protocol Error answered with its own code (5.0 §3.2.2.3.12–14). An older client is refused per filter.
  if (subscriptionId !== undefined && !config.subscriptionIdentifiers) {
    throw new ProtocolError('Subscription Identifier with --subscription-identifiers false', 'v5:§3.2.2.3.12', ReasonCode.SubscriptionIdentifiersNotSupported);
  }
  const granted: number[] = [];
  const accepted: Array<[string, SubscriptionOptions]> = [];
  const isNew: boolean[] = [];
  /** Where each accepted filter's code is in granted (a plugin may still refuse it). */
  const acceptedAt: number[] = [];
  const hooks = broker.hooks;
  /** Why the first refused filter was refused: the SUBACK's reason string (v5). */
  let problem: string | undefined;
  for (const sub of packet.subscriptions) {
    const shared = isSharedSubscription(sub.topic);
    if (shared) {
      // $share/{ShareName}/{filter} [MQTT-4.8.2-1/2]; v3/v4 clients may use it too (as with Mosquitto, EMQX).
      if (parseSharedSubscription(sub.topic) === null) {
        problem ??= `'${sub.topic}' is not a valid shared subscription ($share/{name}/{filter})`;
        granted.push(subscriptionFailure(conn, ReasonCode.TopicFilterInvalid));
        continue;
      }
    } else if (!isValidTopicFilter(sub.topic)) {
      // v3.1/v3.1.1: close the connection (throws, before any filter of the packet is applied).
      if (!v5) validateTopicFilter(sub.topic);
      problem ??= `'${sub.topic}' is not a valid topic filter`;
      granted.push(ReasonCode.TopicFilterInvalid); // v5: Topic Filter invalid, for this filter only [MQTT-3.9.3-1]
      continue;
    }
    const unsupported = shared && !config.sharedSubscriptions ? ReasonCode.SharedSubscriptionsNotSupported : !config.wildcardSubscriptions && hasWildcard(sub.topic) ? ReasonCode.WildcardSubscriptionsNotSupported : undefined;
    if (unsupported !== undefined) {
      if (v5) throw new ProtocolError(`${shared ? 'shared' : 'wildcard'} subscription '${sub.topic}' with --${shared ? 'shared' : 'wildcard'}-subscriptions false`, shared ? 'v5:§3.2.2.3.13' : 'v5:§3.2.2.3.11', unsupported);
      if (conn.version === 3) throw new ProtocolError(`subscription '${sub.topic}' refused and MQTT 3.1 has no failure code`, 'MQTT-3.8.4-1', unsupported);
      problem ??= `'${sub.topic}': ${shared ? 'shared' : 'wildcard'} subscriptions are turned off`;
      granted.push(subscriptionFailure(conn, unsupported));
      continue;
    }
    const limit = topicLimitProblem(config, sub.topic);
    if (limit !== undefined) {
      broker.log.warn({ clientId: session.clientId, problem: limit }, 'SUBSCRIBE over a topic limit: refused');
      problem ??= limit;
      granted.push(subscriptionFailure(conn, ReasonCode.TopicFilterInvalid));
      continue;
    }
    if (session.acl !== null && !session.acl.canSubscribe(sub.topic)) {
      if (conn.version === 3) throw new ProtocolError(`subscription '${sub.topic}' denied by the ACL and MQTT 3.1 has no failure code`, 'MQTT-3.8.4-1', ReasonCode.NotAuthorized);
      problem ??= `'${sub.topic}': not authorized`;
      granted.push(subscriptionFailure(conn, ReasonCode.NotAuthorized)); // v5 0x87, v3.1.1 0x80
      continue;
    }
    // Granted at most --max-qos; a SUBSCRIBE asking more is still accepted [v5:MQTT-3.2.2-10].
    const qos = sub.qos > config.maxQos ? config.maxQos : sub.qos;
    const options: SubscriptionOptions = { qos };
    if (v5) {
      if (sub.nl === true) options.nl = true;
      if (sub.rap === true) options.rap = true;
      if (sub.rh !== undefined && sub.rh !== 0) options.rh = sub.rh;
      if (subscriptionId !== undefined) options.subscriptionId = subscriptionId;
    }
    accepted.push([sub.topic, options]);
    granted.push(qos); // at most --max-qos [v3:MQTT-3.8.4-5] [v5:MQTT-3.8.4-7]
    acceptedAt.push(granted.length - 1);
  }
  if (hooks !== null && hooks.has.authorizeSubscribe && accepted.length > 0) {
    problem = await askPlugins(conn, hooks, accepted, acceptedAt, granted, problem);
    if (conn.state !== 'connected') return;
  }
  for (const [filter] of accepted) isNew.push(!session.subscriptions.has(filter));
  if (accepted.length > 0) await broker.subscribe(session, accepted);
  if (conn.state !== 'connected') return;
  // Fixed header (at most 5) + packet id + property length + one code per filter.
  const properties = problem === undefined ? undefined : ackProperties(conn, problem, 8 + granted.length);
  conn.send({ cmd: 'suback', messageId: packet.messageId, granted, properties });
  if (broker.log.isLevelEnabled('debug')) {
    broker.log.debug({ clientId: session.clientId, subscriptions: packet.subscriptions.map((s, i) => ({ filter: s.topic, granted: granted[i] })) }, 'subscribed');
  }
  if (hooks !== null && hooks.has.subscribed && accepted.length > 0 && conn.client !== null) {
    hooks.emit('subscribed', conn.client, accepted.map(([filter, options]) => ({ filter, qos: options.qos })));
  }
  for (let i = 0; i < accepted.length; i++) {
    const [filter, options] = accepted[i];
    // Retain Handling: 0 always, 1 only for a new subscription, 2 never. A repeated v3/v4
    // subscription sends the retained messages again [MQTT-3.8.4-3].
    if (options.rh === 2 || (options.rh === 1 && !isNew[i])) continue;
    // No retained messages for a shared subscription (MQTT 5 4.8.2).
    if (isSharedSubscription(filter)) continue;
    await broker.sendRetained(conn, filter, options);
  }
}

/**
 * The plugins' authorizeSubscribe for each filter the broker would grant (asked together): a refused
 * one leaves `accepted` and gets its failure code in `granted`; one granted a lower QoS is subscribed
 * at that QoS. Returns the SUBACK's reason string (the first refusal's).
 */
async function askPlugins(conn: Connection, hooks: Hooks, accepted: Array<[string, SubscriptionOptions]>, acceptedAt: number[], granted: number[], problem: string | undefined): Promise<string | undefined> {
  const client = conn.client;
  if (client === null) return problem;
  const answers = accepted.map(([filter, options]) => hooks.authorizeSubscribe(client, filter, options.qos));
  const verdicts = answers.some(isPromise) ? await Promise.all(answers) : (answers as SubscribeVerdict[]);
  let kept = 0;
  for (let i = 0; i < accepted.length; i++) {
    const verdict = verdicts[i]!;
    const entry = accepted[i]!;
    if (typeof verdict === 'number') {
      entry[1].qos = verdict as 0 | 1 | 2;
      granted[acceptedAt[i]!] = verdict;
      accepted[kept] = entry;
      acceptedAt[kept++] = acceptedAt[i]!;
      continue;
    }
    if (conn.version === 3) throw new ProtocolError(`subscription '${entry[0]}' refused by a plugin and MQTT 3.1 has no failure code`, 'MQTT-3.8.4-1', ReasonCode.NotAuthorized);
    problem ??= verdict.reason ?? `'${entry[0]}': not authorized`;
    granted[acceptedAt[i]!] = subscriptionFailure(conn, SUBACK_FAILURE_CODES.has(verdict.reasonCode) ? verdict.reasonCode : ReasonCode.NotAuthorized);
  }
  accepted.length = acceptedAt.length = kept;
  return problem;
}

/** The failure codes of SUBACK (5.0 §3.9.3). */
const SUBACK_FAILURE_CODES: ReadonlySet<number> = new Set([0x80, 0x83, 0x87, 0x8f, 0x91, 0x97, 0x9e, 0xa1, 0xa2]);

function hasWildcard(filter: string): boolean {
  return filter.includes('+') || filter.includes('#');
}
