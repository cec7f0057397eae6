// The plugin API: what an application may decide (authenticate, authorize) and hear (events).
// Exported from the package for plugin authors. A plugin is an object of hooks, or a function
// that makes one; every hook is optional and may return its answer or a promise of it.
//
// A decision is `true` (allow), `false` (deny: Not authorized, 0x87 / v3 "not authorized"), or
// `{ reasonCode }` (deny with that MQTT 5 reason code; v3 clients get the nearest v3 answer).
// A hook that throws, rejects, or does not answer within --plugin-timeout denies, and is logged.
import type { PeerCertificate } from 'node:tls';
import type { Logger } from '../../log.js';
import type { BrokerConfig } from '../../config.js';
import type { Message } from '../../store/types.js';

export type QoS = 0 | 1 | 2;

/** Who a hook is asked about: fixed for the life of one connection. */
export interface ClientInfo {
  readonly clientId: string;
  /** The CONNECT's User Name (or the user an enhanced-authentication method proved); undefined: none. */
  readonly username: string | undefined;
  /** The peer's address (undefined for a session whose client is not connected to this node). */
  readonly address: string | undefined;
  /** 3 (MQTT 3.1), 4 (3.1.1) or 5; undefined, like address, for a session not connected to this node. */
  readonly protocolVersion: 3 | 4 | 5 | undefined;
  /** The client's TLS certificate, when it connected over TLS with one. */
  readonly certificate?: PeerCertificate | undefined;
}

/** A refusal with its MQTT 5 reason code (e.g. 0x86 Bad User Name or Password, 0x8A Banned, 0x97 Quota exceeded). */
export interface Refusal {
  reasonCode: number;
  /** Sent to v5 clients as the Reason String (when they did not ask for none), and logged. */
  reason?: string;
}

export type Decision = boolean | Refusal;
/** A subscription may also be granted at a lower QoS than asked. */
export type SubscribeDecision = Decision | { qos: QoS };
export type MaybePromise<T> = T | Promise<T>;

export interface AuthenticateRequest {
  /** The CONNECT's Password (absent when none was sent). */
  password: Buffer | undefined;
}

export interface SubscriptionRequest {
  /** The filter as subscribed ($share/{group}/{filter} for a shared subscription). */
  filter: string;
  /** The QoS that would be granted (already at most --max-qos). */
  qos: QoS;
}

export interface DisconnectInfo {
  /** Why the connection ended, in words (e.g. "client DISCONNECT", "keep-alive timeout", "socket closed"). */
  reason: string;
}

export interface BrokerHooks {
  /**
   * CONNECT: after the password file / --username check (both must accept; without users this hook
   * alone decides, anonymous clients included). Default reason code of a denial: 0x87.
   */
  authenticate?(client: ClientInfo, request: AuthenticateRequest): MaybePromise<Decision>;
  /** A client's PUBLISH, and its will at CONNECT. Denied: dropped and counted; v5 PUBACK/PUBREC with the code (default 0x87). */
  authorizePublish?(client: ClientInfo, message: Readonly<Message>): MaybePromise<Decision>;
  /** Each filter of a SUBSCRIBE. Denied: its SUBACK code (v5: the code, default 0x87; v3.1.1: 0x80). */
  authorizeSubscribe?(client: ClientInfo, subscription: SubscriptionRequest): MaybePromise<SubscribeDecision>;
  /**
   * A message about to be routed to a client: delivered now, queued for its offline session, or a
   * retained message on SUBSCRIBE. Denied: that client does not get it (true/false; a reason code means false).
   * Asked on the hot path, once per message and subscriber: keep it cheap, synchronous when it can be.
   */
  authorizeDelivery?(client: ClientInfo, message: Readonly<Message>): MaybePromise<Decision>;

  /** Events: told after the fact; what they return is not awaited (errors are logged). */
  connected?(client: ClientInfo): unknown;
  disconnected?(client: ClientInfo, info: DisconnectInfo): unknown;
  /** A message accepted from a client (after authorizePublish), before it is routed. */
  published?(client: ClientInfo, message: Readonly<Message>): unknown;
  /** Subscriptions granted by one SUBSCRIBE (after authorizeSubscribe), with the QoS granted. */
  subscribed?(client: ClientInfo, subscriptions: readonly SubscriptionRequest[]): unknown;
  /** The broker is closing: release what the plugin holds. Awaited (within --plugin-timeout). */
  close?(): unknown;
}

/** What a plugin factory is given. */
export interface PluginContext {
  readonly config: Readonly<BrokerConfig>;
  /** A child of the broker's logger ({ plugin: name }). */
  readonly log: Logger;
}

/** A plugin module's default export (or its `plugin` export): hooks, or a function that makes them. */
export type StarlingPlugin = BrokerHooks | ((context: PluginContext) => MaybePromise<BrokerHooks>);
