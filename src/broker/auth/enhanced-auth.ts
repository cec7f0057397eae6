// MQTT 5 enhanced authentication (5.0 §4.12): what an authentication method is to the broker, and
// which methods a broker offers. A method is a small state machine driven by handlers/auth.ts:
// start() takes the Authentication Data of CONNECT (or of AUTH 0x19, re-authentication), continue()
// that of each AUTH 0x18 the client answers with; each returns the next step. The method knows
// nothing of packets, connections or reason-code rules: the handler turns its steps into AUTH,
// CONNACK or DISCONNECT.
//
// Library users (and the authorization issue, #13) add methods to Broker.authMethods by name; the
// built-in one is SCRAM-SHA-256 (scram-sha-256.ts) over the broker's own credentials.
import { AUTH_METHOD_NONE, hasUsers, type BrokerConfig } from '../../config.js';
import { createCredentials, type Credentials } from './credentials.js';
import { ScramSha256 } from './scram-sha-256.js';

/** What a method may know about the client it authenticates. */
export interface AuthContext {
  /** The client id (the one the server assigned, for an empty one). */
  readonly clientId: string;
  /** The client's IP address, when known. */
  readonly address: string | undefined;
  /** false during CONNECT; true for a re-authentication (AUTH 0x19) of a connected client. */
  readonly reauthentication: boolean;
  /** CONNECT: its User Name field, if any. Re-authentication: the identity authenticated before. */
  readonly username: string | undefined;
}

/** The next step of an exchange, as a method decides it. */
export type AuthStep<S = unknown> =
  /** The method needs more from the client: AUTH 0x18 with this data; its answer goes to continue(state). */
  | { readonly kind: 'continue'; readonly data?: Buffer; readonly state: S }
  /** Authenticated as username (undefined: no identity), with optional final data for the client. */
  | { readonly kind: 'success'; readonly data?: Buffer; readonly username: string | undefined }
  /** Refused: a v5 reason code (0x87 Not authorized, 0x86 Bad user name or password, 0x8A Banned…). */
  | { readonly kind: 'fail'; readonly reasonCode: number; readonly reason?: string };

export interface EnhancedAuthMethod<S = unknown> {
  /** The Authentication Method property value, e.g. "SCRAM-SHA-256" (compared exactly). */
  readonly name: string;
  start(ctx: AuthContext, data: Buffer | undefined): AuthStep<S> | Promise<AuthStep<S>>;
  continue(ctx: AuthContext, state: S, data: Buffer | undefined): AuthStep<S> | Promise<AuthStep<S>>;
}

/** Methods offered, by name. */
export type AuthMethods = Map<string, EnhancedAuthMethod<any>>;

/**
 * The built-in methods config enables: --auth-methods names them (or "none"); unset, SCRAM-SHA-256
 * is offered when there are users (--password-file or --username/--password): SCRAM looks them up
 * in the broker's Credentials, so a SIGHUP that re-reads the password file reaches it too.
 */
export function createAuthMethods(config: BrokerConfig, credentials: Credentials = createCredentials(config)): AuthMethods {
  const methods: AuthMethods = new Map();
  const names = config.authMethods === undefined ? (hasUsers(config) ? ['SCRAM-SHA-256'] : []) : config.authMethods.split(',').map((n) => n.trim());
  for (const name of names) {
    if (name === AUTH_METHOD_NONE) continue;
    if (name === 'SCRAM-SHA-256' && credentials.configured) methods.set(name, new ScramSha256(credentials));
  }
  return methods;
}
