// One client's socket: bytes in → parser → dispatcher; frames out with a high-water mark;
// keep-alive and connect-timeout state read by the broker's shared sweep timer; close reasons.
//
// Nothing here allocates per packet beyond what the parser returns, and nothing logs per packet
// unless --log-level is trace (one boolean, read at creation: packet-trace.ts).
// Per-connection memory is kept small: no timers and no closures. The socket listeners and the
// parser callback are shared functions that find their Connection through the socket (one
// property) or `this`, instead of three listener closures and a bound callback per connection.
import type { Duplex } from 'node:stream';
import { DEFAULT_MAX_PACKET_SIZE, encode, MqttError, PacketParser, ReasonCode, type Packet, type ProtocolVersion } from '../protocol/index.js';
import { answerError, disconnectFrame } from './answers.js';
import type { Logger } from '../log.js';
import type { Session, SessionSink } from './session.js';
import type { Throttled } from '../store/types.js';
import type { BrokerCounters } from './stats.js';
import type { OutgoingAliases } from './outgoing-aliases.js';
import type { AuthExchange } from './auth/exchange.js';
import type { ClientInfo, Refusal } from './hooks/types.js';
import { traceFrameOut, tracePacketIn } from './packet-trace.js';

export type ConnectionState = 'new' | 'connecting' | 'connected' | 'closed';

/** A PUBLISH waiting for the plugins' answer, or behind one that does (handlers/publish.ts). */
export interface HeldPublish {
  /** undefined until the answer comes; null: allowed. */
  verdict: Refusal | null | undefined;
  allowed: () => void;
  denied: (refusal: Refusal) => void;
}

/** What a connection needs from the broker. */
export interface ConnectionHost {
  readonly counters: BrokerCounters;
  readonly log: Logger;
  readonly maxWriteBuffer: number;
  dispatch(conn: Connection, packet: Packet): void;
  /** Uncorks the connection's socket at the end of this tick (one shared nextTick for all). */
  scheduleUncork(conn: Connection): void;
  /** The connection is gone; publishWill says whether its will must be published [MQTT-3.1.2-8]. */
  detached(conn: Connection, publishWill: boolean): void;
}

export interface CloseOptions {
  /** Publish the will: true for every close not preceded by DISCONNECT [MQTT-3.1.2-8]. */
  will: boolean;
  /** v5: send DISCONNECT with this reason code first (only once CONNECT was accepted). */
  disconnectCode?: number;
  /** v5: and this reason string, if it fits the client's Maximum Packet Size. */
  reasonString?: string | undefined;
  /** Send this CONNACK (already encoded) first. */
  connack?: Buffer;
}

/**
 * The shared store cannot be reached (Redis down): a CONNECT that needed it is answered "server
 * unavailable" so the client retries later. The store logs the outage itself, once.
 */
export class ServiceUnavailableError extends MqttError {
  constructor(message: string, options?: ErrorOptions) {
    super(message, ReasonCode.ServerUnavailable, options);
  }
}

/**
 * What a connection reads and writes: a net.Socket or tls.TLSSocket as they come (the hot path
 * unchanged), or a WebSocket's stream with the address of the socket under it (transport/websocket.ts).
 */
export type ClientSocket = Duplex & { readonly remoteAddress?: string | undefined };

/** Time a closing socket gets to flush its last packet before it is destroyed. */
const CLOSE_GRACE_MS = 1000;

/** The Connection of a socket, for the shared listeners below. */
const CONNECTION = Symbol('starling.connection');
type OwnedSocket = ClientSocket & { [CONNECTION]: Connection };

function onSocketData(this: OwnedSocket, chunk: Buffer): void {
  this[CONNECTION].onData(chunk);
}

function onSocketEnd(this: OwnedSocket): void {
  this[CONNECTION].inputEnded('socket ended');
}

function onSocketClose(this: OwnedSocket): void {
  const conn = this[CONNECTION];
  conn.socketClosed = true;
  conn.inputEnded('socket closed');
}

function onSocketError(this: OwnedSocket): void {
  this[CONNECTION].inputEnded('socket error');
}

function onPacket(this: Connection, packet: Packet): void {
  if (this.trace) tracePacketIn(this, packet);
  if (this.state !== 'closed') this.host.dispatch(this, packet);
}

export class Connection implements SessionSink, Throttled {
  state: ConnectionState = 'new';
  version: ProtocolVersion = 4;
  clientId = '';
  session: Session | null = null;
  /** Ownership epoch of clientId held by this connection. */
  epoch = 0;
  keepaliveMs = 0;
  lastActivity: number;
  readonly openedAt: number;
  /**
   * v5 Maximum Packet Size the client accepts. Unset: the largest possible MQTT frame, a small
   * integer rather than Infinity, which V8 would box per connection (a double field).
   */
  maxPacketSize = DEFAULT_MAX_PACKET_SIZE;
  /** v5 Receive Maximum this server announced: QoS 1/2 PUBLISHes the client may have unacknowledged. */
  receiveMaximum = 65_535;
  /** QoS 1 PUBLISHes from the client not yet acknowledged (QoS 2 ones are the session's incoming ids). */
  unackedQos1 = 0;
  /** v5 Request Problem Information: false when the client asked for none [MQTT-3.1.2-29]. */
  problemInformation = true;
  /** v5 inbound topic aliases of this connection, indexed by alias (created on first use). */
  topicAliases: Array<string | undefined> | null = null;
  /** Aliases we send to a v5 client that allows them (its Topic Alias Maximum > 0). */
  outgoingAliases: OutgoingAliases | null = null;
  /** v5 enhanced authentication: the method named at CONNECT and any exchange in progress (null: none). */
  auth: AuthExchange | null = null;
  /** Who the client is, as plugin hooks are told (set once CONNECT is authenticated). */
  client: ClientInfo | null = null;
  /** PUBLISHes of this client behind an authorizePublish answer still to come, in arrival order (null: none). */
  publishQueue: HeldPublish[] | null = null;
  /** Set once CONNECT was accepted (counted in clients/connected). */
  everConnected = false;
  /** Set when a newer connection with the same client id took the session. */
  takenOver = false;
  /** ... on another node, with Clean Start: the session is discarded, nothing is bridged. */
  discardedByCleanStart = false;
  /** Packets received while CONNECT is being processed, handled in order once it is. */
  backlog: Packet[] | null = null;
  /**
   * Why the client's input ended (end, close or error of the socket) while CONNECT was being
   * processed: the close waits until the session is open and the backlog handled (connectFinished).
   */
  endedWhileConnecting: string | null = null;
  /** The socket is gone ('close'): writes go nowhere (a plain field: write() is on the hot path). */
  socketClosed = false;
  closeReason = '';
  /** True while writes of this tick are being batched (socket corked). */
  corked = false;
  /** True while the bus holds this publisher back (flow control): its socket is not read. */
  readPaused = false;
  /** The listener that accepted the socket, as the logs name it (whoever accepts may set it; default the plain TCP one). */
  listener = 'mqtt';
  /** Log every packet in and out (--log-level trace): asked once here, not per packet. */
  readonly trace: boolean;
  private readonly parser: PacketParser;

  constructor(readonly id: string, readonly socket: ClientSocket, readonly host: ConnectionHost, maxPacketSize: number) {
    this.parser = new PacketParser({ maxPacketSize });
    this.openedAt = this.lastActivity = Date.now();
    this.trace = host.log.isLevelEnabled('trace');
    (socket as OwnedSocket)[CONNECTION] = this;
    socket.on('data', onSocketData);
    // 'end' (the peer half-closed; the listener allows half-open sockets so a CONNACK can still
    // reach it) and 'close' both end the input.
    socket.on('end', onSocketEnd);
    socket.on('close', onSocketClose);
    socket.on('error', onSocketError);
  }

  /** A getter, so checks after an await are not narrowed away by the compiler. */
  get closed(): boolean {
    return this.state === 'closed';
  }

  get congested(): boolean {
    return this.socket.writableLength > this.host.maxWriteBuffer;
  }

  write(frame: Buffer): void {
    if (this.state === 'closed' || this.socketClosed) return;
    this.host.counters.bytesSent += frame.length;
    if (this.trace) traceFrameOut(this, frame);
    // Frames written in one tick (a fan-out, the answers to one chunk) leave in one writev.
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      this.host.scheduleUncork(this);
    }
    this.socket.write(frame);
  }

  uncork(): void {
    if (!this.corked) return;
    this.corked = false;
    this.socket.uncork();
  }

  pauseReading(): boolean {
    if (this.readPaused || this.state === 'closed') return false;
    this.readPaused = true;
    this.socket.pause();
    return true;
  }

  resumeReading(): void {
    if (!this.readPaused) return;
    this.readPaused = false;
    this.lastActivity = Date.now();
    if (this.state !== 'closed') this.socket.resume();
  }

  send(packet: Packet): void {
    this.write(encode(packet, this.version));
  }

  /** Socket bytes in (the shared 'data' listener calls this). */
  onData(chunk: Buffer): void {
    this.host.counters.bytesReceived += chunk.length;
    this.lastActivity = Date.now();
    try {
      this.parser.parse(chunk, onPacket, this);
    } catch (err) {
      this.fail(err);
    }
  }

  /** Turns any error raised while handling this connection's input into the right goodbye (answers.ts). */
  fail(err: unknown): void {
    answerError(this, err);
  }

  /**
   * The client sends nothing more: the socket ended, closed or failed, without DISCONNECT as far
   * as we know yet. While CONNECT is in progress the packets already received wait in the backlog:
   * they are handled once the session is open, and only then does the connection close, will
   * included (a client need not wait for CONNACK before sending more packets, MQTT 3.1.4).
   */
  inputEnded(reason: string): void {
    if (this.state === 'connecting') {
      // An enhanced-authentication exchange cannot go on without the client: it ends here.
      if (this.auth?.inProgress === true) {
        this.close(reason, { will: false });
        return;
      }
      this.endedWhileConnecting ??= reason;
      return;
    }
    this.close(reason, { will: true });
  }

  /** CONNECT and the packets behind it are handled: the close that waited for them, if any. */
  connectFinished(): void {
    if (this.endedWhileConnecting !== null) this.close(this.endedWhileConnecting, { will: true });
  }

  /** Closes once; later calls do nothing. */
  close(reason: string, options: CloseOptions): void {
    if (this.state === 'closed') return;
    const wasConnected = this.state === 'connected';
    const wasOpen = this.state !== 'new';
    this.state = 'closed';
    this.closeReason = reason;
    this.auth?.abandon(reason);
    let last: Buffer | undefined = options.connack;
    if (last === undefined && wasConnected && options.disconnectCode !== undefined) {
      last = disconnectFrame(this, options.disconnectCode, options.reasonString);
    }
    const socket = this.socket;
    if (!socket.destroyed) {
      if (last !== undefined) this.host.counters.bytesSent += last.length;
      if (last !== undefined && this.trace) traceFrameOut(this, last);
      if (last !== undefined) socket.end(last);
      else socket.end();
      // A peer that does not read would keep the socket half-open forever.
      if (!socket.destroyed) setTimeout(() => socket.destroy(), CLOSE_GRACE_MS).unref();
    }
    this.host.detached(this, wasOpen && options.will);
  }
}
