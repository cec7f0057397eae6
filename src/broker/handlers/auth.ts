// AUTH and the enhanced authentication flow (5.0 §4.12), method-agnostic: the method
// (auth/enhanced-auth.ts) decides each step, this file turns steps into packets and rule breaks
// into errors (which answers.ts turns into CONNACK or DISCONNECT).
//
// At CONNECT: CONNECT(method, data) → [AUTH 0x18 ⇄ AUTH 0x18]… → CONNACK 0x00 with the method and
// the final data, or CONNACK ≥ 0x80 and close. Until its CONNACK the client may send only AUTH and
// DISCONNECT [MQTT-3.1.2-30]; the connect timeout bounds the whole exchange (keepalive.ts).
// Re-authentication: AUTH 0x19(method, data) → [AUTH 0x18 ⇄ AUTH 0x18]… → AUTH 0x00, or DISCONNECT
// and close [MQTT-4.12.1-2]; other packets keep flowing meanwhile.
import {
  CONNACK_CODES,
  encode,
  MqttError,
  ProtocolError,
  ReasonCode,
  SERVER_DISCONNECT_CODES,
  type AuthPacket,
  type Packet,
  type Properties,
} from '../../protocol/index.js';
import type { Broker } from '../broker.js';
import type { Connection } from '../connection.js';
import type { AuthContext, AuthStep } from '../auth/enhanced-auth.js';
import { AuthExchange } from '../auth/exchange.js';
import { LoginFailedError } from '../auth/failed-logins.js';

/**
 * CONNECT named an Authentication Method: the connection's exchange, or 0x8C when the method is not
 * offered (the connection is then closed) [MQTT-4.12.0-1]. Undefined when CONNECT named none.
 */
export function enhancedAuthFor(broker: Broker, conn: Connection, properties: Properties | undefined): AuthExchange | undefined {
  const name = properties?.authenticationMethod;
  if (name === undefined) return undefined;
  const method = broker.authMethods.get(name);
  if (method === undefined) throw new MqttError(`unsupported authentication method ${name} [MQTT-4.12.0-1]`, ReasonCode.BadAuthenticationMethod);
  conn.auth = new AuthExchange(method);
  return conn.auth;
}

/** Runs CONNECT's exchange; resolves to the CONNACK properties of success [MQTT-4.12.0-5], throws the refusal. */
export async function authenticateConnect(conn: Connection, exchange: AuthExchange, clientId: string, username: string | undefined, data: Buffer | undefined): Promise<Properties> {
  const ctx: AuthContext = { clientId, address: conn.socket.remoteAddress, reauthentication: false, username };
  const done = await run(conn, exchange, ctx, data, CONNACK_CODES);
  exchange.username = done.username;
  return authProperties(exchange, done.data);
}

/**
 * A packet from a client that authenticates at CONNECT, before its CONNACK (dispatch, state
 * 'connecting'): the AUTH it was asked for continues the exchange, DISCONNECT ends it, anything else
 * is a Protocol Error [MQTT-3.1.2-30]. Returns false for a DISCONNECT once the exchange succeeded
 * (the session is opening): it waits in the backlog like any packet behind CONNECT.
 */
export function handleAuthBeforeConnack(conn: Connection, exchange: AuthExchange, packet: Packet): boolean {
  if (packet.cmd === 'disconnect') {
    if (!exchange.inProgress) return false;
    conn.close('DISCONNECT during enhanced authentication', { will: false });
    return true;
  }
  if (packet.cmd !== 'auth') throw new ProtocolError(`${packet.cmd.toUpperCase()} before CONNACK during enhanced authentication`, 'MQTT-3.1.2-30', ReasonCode.ProtocolError);
  checkMethod(exchange, packet);
  if (packet.reasonCode !== ReasonCode.ContinueAuthentication) throw new ProtocolError(`AUTH 0x${hex(packet.reasonCode)} during the CONNECT exchange`, 'MQTT-4.12.0-3', ReasonCode.ProtocolError);
  if (!exchange.deliver(packet)) throw new ProtocolError('AUTH the server did not ask for', 'MQTT-4.12.0-3', ReasonCode.ProtocolError);
  return true;
}

/** AUTH from a connected client: a re-authentication, or the next step of one. */
export function handleAuth(conn: Connection, packet: AuthPacket): void {
  const exchange = conn.auth;
  if (exchange === null) throw new ProtocolError('AUTH from a client that did not use enhanced authentication at CONNECT', 'MQTT-4.12.0-7', ReasonCode.ProtocolError);
  checkMethod(exchange, packet);
  switch (packet.reasonCode) {
    case ReasonCode.ReAuthenticate: {
      if (exchange.inProgress) throw new ProtocolError('AUTH 0x19 while a re-authentication is in progress', 'MQTT-4.12.1-1', ReasonCode.ProtocolError);
      const ctx: AuthContext = { clientId: conn.clientId, address: conn.socket.remoteAddress, reauthentication: true, username: exchange.username };
      reauthenticate(conn, exchange, ctx, packet.properties?.authenticationData).catch((err: unknown) => conn.fail(err));
      return;
    }
    case ReasonCode.ContinueAuthentication:
      if (!exchange.deliver(packet)) throw new ProtocolError('AUTH 0x18 the server did not ask for', 'MQTT-4.12.0-3', ReasonCode.ProtocolError);
      return;
    default:
      // 0x00 Success is the server's to send.
      throw new ProtocolError(`AUTH 0x${hex(packet.reasonCode)} from a client`, 'MQTT-3.15.2-1', ReasonCode.ProtocolError);
  }
}

async function reauthenticate(conn: Connection, exchange: AuthExchange, ctx: AuthContext, data: Buffer | undefined): Promise<void> {
  const done = await run(conn, exchange, ctx, data, SERVER_DISCONNECT_CODES);
  // One connection, one identity: what later checks (authorization) rely on stays true.
  if (done.username !== exchange.username) throw new MqttError('re-authentication as another user', ReasonCode.NotAuthorized);
  sendAuth(conn, ReasonCode.Success, authProperties(exchange, done.data));
}

type Success = Extract<AuthStep, { kind: 'success' }>;

/**
 * Drives the method until it succeeds (returned) or fails (thrown, with a code the answer packet
 * may carry: `allowed`, else 0x87). Each 'continue' is sent as AUTH 0x18 and waits for the client.
 */
async function run(conn: Connection, exchange: AuthExchange, ctx: AuthContext, data: Buffer | undefined, allowed: ReadonlySet<number>): Promise<Success> {
  const method = exchange.method;
  exchange.inProgress = true;
  exchange.startedAt = Date.now();
  try {
    let step: AuthStep = await method.start(ctx, data);
    for (;;) {
      if (conn.closed) throw new MqttError('connection closed during enhanced authentication', ReasonCode.NotAuthorized);
      if (step.kind === 'success') return step;
      if (step.kind === 'fail') {
        const code = step.reasonCode >= 0x80 && allowed.has(step.reasonCode) ? step.reasonCode : ReasonCode.NotAuthorized;
        // A failed login (counted and throttled when it answers CONNECT; a re-authentication's ends in DISCONNECT at once).
        throw new LoginFailedError(`${exchange.name} authentication failed${step.reason !== undefined ? `: ${step.reason}` : ''}`, code, { clientId: ctx.clientId, username: ctx.username });
      }
      sendAuth(conn, ReasonCode.ContinueAuthentication, authProperties(exchange, step.data));
      const answer = await exchange.nextFromClient();
      step = await method.continue(ctx, step.state, answer.properties?.authenticationData);
    }
  } finally {
    exchange.inProgress = false;
  }
}

/** Every AUTH from the client carries the method CONNECT named [MQTT-4.12.0-5, MQTT-4.12.1-1]. */
function checkMethod(exchange: AuthExchange, packet: AuthPacket): void {
  const name = packet.properties?.authenticationMethod;
  if (name !== exchange.name) throw new ProtocolError(`AUTH with method ${name ?? '(none)'}, not ${exchange.name}`, 'MQTT-4.12.0-5', ReasonCode.ProtocolError);
}

/** AUTH to the client: always with the method [MQTT-4.12.0-5], and within its Maximum Packet Size. */
function sendAuth(conn: Connection, reasonCode: number, properties: Properties): void {
  const frame = encode({ cmd: 'auth', reasonCode, properties }, 5);
  if (frame.length > conn.maxPacketSize) throw new MqttError("AUTH larger than the client's Maximum Packet Size", ReasonCode.ImplementationSpecificError);
  conn.write(frame);
}

function authProperties(exchange: AuthExchange, data: Buffer | undefined): Properties {
  return data === undefined ? { authenticationMethod: exchange.name } : { authenticationMethod: exchange.name, authenticationData: data };
}

function hex(code: number): string {
  return code.toString(16).padStart(2, '0');
}
