// MQTT over WebSocket (ws and wss listeners): an HTTP(S) server that never listens itself (the
// listener hands it raw sockets) and upgrades requests on one path to WebSockets speaking the
// "mqtt" subprotocol. Each WebSocket becomes a byte stream (binary messages in and out) that a
// Connection reads like a TCP socket; MQTT packets may span messages or share one.
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { Socket } from 'node:net';
import type { TLSSocket, TlsOptions } from 'node:tls';
import { Duplex } from 'node:stream';
import { createWebSocketStream, WebSocketServer, type WebSocket } from 'ws';
import type { ClientSocket } from '../broker/connection.js';

/** Subprotocols accepted, preferred first: MQTT 3.1.1/5 name it "mqtt", MQTT 3.1 clients "mqttv3.1". */
const SUBPROTOCOLS = ['mqtt', 'mqttv3.1'];

export interface WebSocketOptions {
  path: string;
  /** wss: the TLS options of the HTTPS server; undefined: ws. */
  tls?: TlsOptions | undefined;
  /** The largest WebSocket message accepted (a bigger one closes the WebSocket, 1009). */
  maxPayload: number;
  /** Milliseconds the upgrade request may take to arrive (Node's default is a minute). */
  headersTimeoutMs: number;
}

/**
 * The HTTP(S) server of a ws/wss listener: emit('connection', rawSocket) on it. `onClient` gets
 * each upgraded WebSocket as a stream, and the socket under it (TLS for wss).
 */
export function webSocketServer(options: WebSocketOptions, onClient: (stream: ClientSocket, under: Socket) => void): HttpServer | HttpsServer {
  const timeouts = { headersTimeout: options.headersTimeoutMs, requestTimeout: options.headersTimeoutMs };
  const server = options.tls === undefined ? createHttpServer(timeouts) : createHttpsServer({ ...options.tls, ...timeouts });
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: options.maxPayload,
    handleProtocols: (offered) => SUBPROTOCOLS.find((p) => offered.has(p)) ?? false,
  });
  server.on('request', (_req, res) => {
    res.writeHead(426, { Upgrade: 'websocket', Connection: 'close' }).end('MQTT over WebSocket: upgrade on the MQTT path\n');
  });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const refusal = refuse(req, options.path);
    if (refusal !== undefined) {
      socket.end(`HTTP/1.1 ${refusal}\r\nConnection: close\r\n\r\n`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => onClient(streamOf(ws, req.socket as Socket), req.socket as Socket));
  });
  return server;
}

/** Why an upgrade request is refused (an HTTP status line), or undefined. */
function refuse(req: IncomingMessage, path: string): string | undefined {
  const url = new URL(req.url ?? '/', 'http://x');
  if (url.pathname !== path) return '404 Not Found';
  // A client that names subprotocols must name ours; one that names none is taken at its word.
  const offered = req.headers['sec-websocket-protocol'];
  if (offered !== undefined && !offered.split(',').some((p) => SUBPROTOCOLS.includes(p.trim()))) return '400 Bad Request';
  return undefined;
}

/** The stream's own count of bytes written and not yet handed to ws. */
const QUEUED = Object.getOwnPropertyDescriptor(Duplex.prototype, 'writableLength')!.get!;

/**
 * The WebSocket as a byte stream, with what a Connection reads off a socket: the address, the bytes
 * waiting to be sent (ws writes through to its socket at once, so the stream's own count stays near
 * 0 and a slow reader would never look congested), and for wss the peer certificate.
 */
function streamOf(ws: WebSocket, under: Socket): ClientSocket {
  const stream = createWebSocketStream(ws) as Duplex & { remoteAddress?: string; authorized?: boolean; getPeerCertificate?: TLSSocket['getPeerCertificate'] };
  stream.remoteAddress = under.remoteAddress;
  // The frames a Connection writes in one tick (it corks its socket) leave as ONE WebSocket message:
  // packets need not align with messages [v3:MQTT-6.0.0-2] [v5:MQTT-6.0.0-2], and a message per
  // packet costs a frame header, a write and a reaction each, which a fan-out pays per subscriber.
  stream._writev = (chunks, callback) => {
    ws.send(chunks.length === 1 ? chunks[0]!.chunk : Buffer.concat(chunks.map((c) => c.chunk as Buffer)), { binary: true }, callback);
  };
  Object.defineProperty(stream, 'writableLength', { get: () => (QUEUED.call(stream) as number) + ws.bufferedAmount });
  // Control packets come in binary frames only; anything else closes the connection [v3:MQTT-6.0.0-1] [v5:MQTT-6.0.0-1].
  // Before the stream's own listener, which would pass the bytes on.
  ws.prependListener('message', (_data, isBinary) => {
    if (!isBinary) stream.destroy();
  });
  const tls = under as Partial<TLSSocket>;
  if (tls.encrypted === true) {
    stream.authorized = tls.authorized;
    stream.getPeerCertificate = (detailed?: boolean) => (under as TLSSocket).getPeerCertificate(detailed as true);
  }
  return stream;
}
