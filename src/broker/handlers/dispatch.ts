// The thin dispatcher: enforces the CONNECT-first rules and hands each packet to its handler.
// Errors thrown here (synchronously, or by a handler's promise) reach Connection.fail(), the one
// place that turns them into a CONNACK/DISCONNECT code and a close.
import { ProtocolError, type Packet } from '../../protocol/index.js';
import type { Broker } from '../broker.js';
import type { Connection } from '../connection.js';
import { handleAuth, handleAuthBeforeConnack } from './auth.js';
import { handlePuback, handlePubcomp, handlePubrec, handlePubrel } from './acks.js';
import { handleConnect } from './connect.js';
import { handleDisconnect } from './disconnect.js';
import { handlePingreq } from './pingreq.js';
import { handlePublish } from './publish.js';
import { handleSubscribe } from './subscribe.js';
import { handleUnsubscribe } from './unsubscribe.js';

/** Packets held while CONNECT is in progress. */
const MAX_BACKLOG = 1000;

export function dispatchPacket(broker: Broker, conn: Connection, packet: Packet): void {
  if (conn.state === 'new') {
    // The first packet from the client MUST be CONNECT [MQTT-3.1.0-1].
    if (packet.cmd !== 'connect') throw new ProtocolError(`first packet is ${packet.cmd}, not CONNECT`, 'MQTT-3.1.0-1', 0x82);
    // A refusal for failed credentials may be held a while (auth/failed-logins.ts).
    handleConnect(broker, conn, packet).then(() => drainBacklog(broker, conn), (err: unknown) => broker.failedLogins.refuse(conn, err));
    return;
  }
  if (conn.state === 'connecting') {
    // Enhanced authentication: only AUTH or DISCONNECT until CONNACK [MQTT-3.1.2-30].
    if (conn.auth !== null && handleAuthBeforeConnack(conn, conn.auth, packet)) return;
    const backlog = (conn.backlog ??= []);
    // A client may pipeline behind CONNECT, but not without bound while the session loads.
    if (backlog.length >= MAX_BACKLOG) throw new ProtocolError('too many packets before CONNACK', '§3.1.4', 0x97);
    backlog.push(packet);
    return;
  }
  if (conn.state !== 'connected') return;
  switch (packet.cmd) {
    case 'connect':
      // A second CONNECT is a protocol violation: close [MQTT-3.1.0-2].
      throw new ProtocolError('second CONNECT', 'MQTT-3.1.0-2', 0x82);
    case 'publish':
      handlePublish(broker, conn, packet);
      return;
    case 'puback':
      handlePuback(conn, packet);
      return;
    case 'pubrec':
      handlePubrec(conn, packet);
      return;
    case 'pubrel':
      handlePubrel(conn, packet);
      return;
    case 'pubcomp':
      handlePubcomp(conn, packet);
      return;
    case 'subscribe':
      handleSubscribe(broker, conn, packet).catch((err: unknown) => conn.fail(err));
      return;
    case 'unsubscribe':
      handleUnsubscribe(broker, conn, packet);
      return;
    case 'pingreq':
      handlePingreq(conn);
      return;
    case 'disconnect':
      handleDisconnect(broker, conn, packet);
      return;
    case 'auth':
      handleAuth(conn, packet);
      return;
    default:
      throw new ProtocolError(`a client may not send ${packet.cmd}`, 'MQTT-2.1.2', 0x82);
  }
}

/**
 * Packets that arrived while CONNECT was in progress, in arrival order; none if CONNECT was
 * refused (the connection is closed) [v3:MQTT-3.1.4-5] [v5:MQTT-3.1.4-6]. Then a client whose socket ended meanwhile
 * is closed: its will goes out after the messages it sent, and not at all after a DISCONNECT.
 */
function drainBacklog(broker: Broker, conn: Connection): void {
  const backlog = conn.backlog;
  conn.backlog = null;
  if (backlog !== null) {
    for (const packet of backlog) {
      if (conn.state !== 'connected') break;
      try {
        dispatchPacket(broker, conn, packet);
      } catch (err) {
        conn.fail(err);
      }
    }
  }
  conn.connectFinished();
}
