// Reading a PROXY protocol header (v1 or v2) off a fresh socket, before anything else reads it,
// and making the socket report the client's address from then on (proxy-header.ts parses).
//
// The reader takes the socket in paused mode ('readable' + read()), so no byte reaches another
// listener; bytes read past the header are put back (unshift) and the socket is left as a fresh
// one is: the next consumer's on('data') starts the flow, and what the client sent with the
// header (a CONNECT, a TLS ClientHello) comes first.
import type { Socket } from 'node:net';
import { parseProxyHeader, ProxyHeaderError, type ProxyAddress, type ProxyHeader } from './proxy-header.js';

export { ProxyHeaderError, type ProxyAddress, type ProxyHeader } from './proxy-header.js';

/** The socket's address before a header replaced it: the proxy's (for logs). */
const PEER = Symbol('starling.proxyPeer');
type ProxiedSocket = Socket & { [PEER]?: string | undefined };

/**
 * Reads the PROXY header that must start `socket`, within timeoutMs of the call.
 *
 * Resolves with the header once read, the socket then reporting the header's source as its
 * remoteAddress, remotePort and remoteFamily (unchanged for v1 UNKNOWN and v2 LOCAL), the bytes
 * after the header unread. Rejects with ProxyHeaderError (the message says why, the peer is the
 * socket's own address) when the bytes are not a valid header, the socket ends or fails first, or
 * time runs out; the socket is destroyed then, as nothing can be made of its bytes.
 *
 * Call it before any other reader is attached. What it holds is bounded: a v1 header is refused
 * past 107 bytes, a v2 one past the length it announced (at most 64 KiB), plus one read's worth.
 */
export function readProxyHeader(socket: Socket, timeoutMs: number): Promise<ProxyHeader> {
  // Asked now: once the socket is destroyed it no longer knows.
  const peer = socket.remoteAddress;
  return new Promise<ProxyHeader>((resolve, reject) => {
    let chunks: Buffer[] = [];
    let total = 0;
    let needed = 1;
    const finish = (): void => {
      clearTimeout(timer);
      socket.off('readable', onReadable);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
      socket.off('error', onError);
    };
    const fail = (reason: string): void => {
      finish();
      socket.destroy();
      reject(new ProxyHeaderError(reason, peer));
    };
    const onEnd = (): void => fail(total === 0 ? 'closed before sending a PROXY header' : 'closed in the middle of its PROXY header');
    const onError = (err: Error): void => fail(`socket error before the PROXY header ended: ${err.message}`);
    const onReadable = (): void => {
      let chunk: Buffer | null;
      while ((chunk = socket.read() as Buffer | null) !== null) {
        chunks.push(chunk);
        total += chunk.length;
        if (total < needed) continue;
        const bytes = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, total);
        chunks = [bytes];
        let parsed;
        try {
          parsed = parseProxyHeader(bytes);
        } catch (err) {
          fail((err as Error).message);
          return;
        }
        if ('needed' in parsed) {
          needed = parsed.needed;
          continue;
        }
        finish();
        // Unshifted after 'readable' is off: the socket then goes back to flowing on the next on('data').
        if (parsed.length < bytes.length) socket.unshift(bytes.subarray(parsed.length));
        if (parsed.header.source !== null) applyProxiedAddress(socket, parsed.header.source, peer);
        resolve(parsed.header);
        return;
      }
    };
    // Gone already (reset between accept and here): its 'close' may have been emitted.
    if (socket.destroyed) {
      reject(new ProxyHeaderError('closed before sending a PROXY header', peer));
      return;
    }
    const timer = setTimeout(() => fail(`no PROXY header within ${timeoutMs} ms`), timeoutMs);
    // A socket that stalls must not hold the process up; its timer is only a deadline.
    timer.unref();
    socket.on('readable', onReadable);
    socket.on('end', onEnd);
    socket.on('close', onEnd);
    socket.on('error', onError);
  });
}

/** What net.Socket asks its native handle for its remote end (Node internals, stable since v0.x). */
interface PeerHandle {
  getpeername?: (out: { address?: string; port?: number; family?: string }) => number;
}

/**
 * Makes `socket` report `source` as its remote end, so every later reader sees the client's
 * address: the MQTT connection and an http.Server or WebSocket the socket is handed to read the
 * properties set on the instance; a TLSSocket made over it (tls.Server.emit('connection', socket))
 * asks the native handle they share, whose getpeername is answered here too.
 */
export function applyProxiedAddress(socket: Socket, source: ProxyAddress, peer: string | undefined): void {
  (socket as ProxiedSocket)[PEER] = peer;
  Object.defineProperty(socket, 'remoteAddress', { value: source.address, configurable: true, enumerable: true });
  Object.defineProperty(socket, 'remotePort', { value: source.port, configurable: true, enumerable: true });
  Object.defineProperty(socket, 'remoteFamily', { value: source.family, configurable: true, enumerable: true });
  const handle = (socket as unknown as { _handle?: PeerHandle | null })._handle;
  if (typeof handle?.getpeername === 'function') {
    handle.getpeername = (out) => {
      out.address = source.address;
      out.port = source.port;
      out.family = source.family;
      return 0;
    };
  }
}

/** The address the socket came from before a PROXY header named its client (the proxy's); undefined if none did. */
export function proxyPeerOf(socket: Socket): string | undefined {
  return (socket as ProxiedSocket)[PEER];
}
