// readProxyHeader over real sockets (a server on port 0 and a client writing the header bytes).
// What would make these fail:
// - v1/v2 cases: a parse error in transport/proxy-header.ts (fields, byte offsets, IPv6 formatting),
//   or applyProxiedAddress not setting remoteAddress/remotePort/remoteFamily on the socket;
// - UNKNOWN/LOCAL: applying an address when the header carries none;
// - "one byte at a time": parsing only whole chunks, or giving up on an incomplete header;
// - "bytes after the header": dropping the rest of the chunk instead of socket.unshift(), or leaving
//   the socket paused so a later on('data') never gets them;
// - malformed cases: accepting what the spec refuses (no length bound, loose ports/addresses, unknown
//   version/family/transport), or not destroying the socket on refusal;
// - timeout / early close: no deadline, not listening for 'end'/'close', or not checking a socket
//   already closed when the call comes;
// - TLS/HTTP: overriding only the net.Socket's properties and not the handle a TLSSocket asks.
import { createServer, connect, type Server, type Socket, type AddressInfo } from 'node:net';
import { createServer as createTlsServer, connect as tlsConnect, type TLSSocket } from 'node:tls';
import { createServer as createHttpServer } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readProxyHeader, ProxyHeaderError, proxyPeerOf } from '../../../src/transport/proxy-protocol.js';
import { onceWithin, waitFor } from '../../helpers/wait.js';

// A self-signed localhost certificate (EC P-256, valid until 2126), for the TLS case only.
const CERT = `-----BEGIN CERTIFICATE-----
MIIBgDCCASWgAwIBAgIUCyaGebkRmpgiZzvUFCOTYAql90gwCgYIKoZIzj0EAwIw
FDESMBAGA1UEAwwJbG9jYWxob3N0MCAXDTI2MTIwMjA3MDkwNVoYDzIxMjYxMTA4
MDcwOTA1WjAUMRIwEAYDVQQDDAlsb2NhbGhvc3QwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAARhVSV73tvYawxpUdTEEzXRqLYznKgcduKIV9edIdXknQo2XqSeq4AH
EtnTXNoAwQ3NmgeGkAC8BvaYs2BVZHG9o1MwUTAdBgNVHQ4EFgQU2kVusZR4NlXo
yaxd7vxohBLM3E4wHwYDVR0jBBgwFoAU2kVusZR4NlXoyaxd7vxohBLM3E4wDwYD
VR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNJADBGAiEAnSXN5QU/3EBjieqC5TAw
J7z2T6XCZfmhJRiXThH4TYsCIQCabgc1+WimWtorJfG6M9Z0W1y9TQq9yJXr3/i2
xumxag==
-----END CERTIFICATE-----
`;
const KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg5b9Myry8dNZDt98i
i0kO+JgYEAH0Lcdnn2y+MbelL2+hRANCAARhVSV73tvYawxpUdTEEzXRqLYznKgc
duKIV9edIdXknQo2XqSeq4AHEtnTXNoAwQ3NmgeGkAC8BvaYs2BVZHG9
-----END PRIVATE KEY-----
`;

const V2_SIGNATURE = Buffer.from('0d0a0d0a000d0a515549540a', 'hex');
/** An MQTT 3.1.1 CONNECT (client id "c"), as a client would send it right after the header. */
const CONNECT = Buffer.from([0x10, 0x0d, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x04, 0x02, 0x00, 0x3c, 0x00, 0x01, 0x63]);

/** A v2 header: version/command byte, family/transport byte, the address block and TLVs; length as given or computed. */
function v2(versionCommand: number, familyTransport: number, block: Buffer, length = block.length): Buffer {
  const fixed = Buffer.alloc(4);
  fixed[0] = versionCommand;
  fixed[1] = familyTransport;
  fixed.writeUInt16BE(length, 2);
  return Buffer.concat([V2_SIGNATURE, fixed, block]);
}

function ports(source: number, destination: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt16BE(source, 0);
  b.writeUInt16BE(destination, 2);
  return b;
}

/** TLV type, 16-bit length, value. */
function tlv(type: number, value: Buffer): Buffer {
  const head = Buffer.alloc(3);
  head[0] = type;
  head.writeUInt16BE(value.length, 1);
  return Buffer.concat([head, value]);
}

const TCP4_BLOCK = Buffer.concat([Buffer.from([192, 0, 2, 10]), Buffer.from([198, 51, 100, 1]), ports(51000, 1883)]);
const TCP6_BLOCK = Buffer.concat([
  Buffer.from('20010db8000000000000000000000abc', 'hex'),
  Buffer.from('20010db8000000000000000000000001', 'hex'),
  ports(443, 8883),
]);

let server: Server;
let port: number;

beforeAll(async () => {
  server = createServer();
  server.listen(0, '127.0.0.1');
  await onceWithin(server, 'listening');
  port = (server.address() as AddressInfo).port;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

/** A connected pair: the client's socket and the server's side of it (not read by anyone yet). */
async function pair(): Promise<{ client: Socket; accepted: Socket }> {
  const accepted = onceWithin<[Socket]>(server, 'connection');
  const client = connect(port, '127.0.0.1');
  client.setNoDelay(true);
  client.on('error', () => undefined);
  await onceWithin(client, 'connect');
  const [socket] = await accepted;
  return { client, accepted: socket };
}

function write(socket: Socket, bytes: Buffer | string): Promise<void> {
  return new Promise((resolve, reject) => socket.write(bytes, (err) => (err ? reject(err) : resolve())));
}

/** Everything `socket` gives its next on('data') reader until `count` bytes came. */
async function dataOf(socket: Socket, count: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  socket.on('data', (chunk: Buffer) => {
    chunks.push(chunk);
    total += chunk.length;
  });
  await waitFor(() => total >= count, `${count} bytes after the header`);
  return Buffer.concat(chunks);
}

/** Sends `bytes` and expects readProxyHeader to refuse them, and the socket closed. */
async function refused(bytes: Buffer | string, reason: RegExp): Promise<void> {
  const { client, accepted } = await pair();
  const closed = onceWithin(client, 'close');
  const reading = readProxyHeader(accepted, 5000);
  await write(client, bytes);
  const err = await reading.catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ProxyHeaderError);
  expect((err as ProxyHeaderError).message).toMatch(reason);
  expect((err as ProxyHeaderError).peer).toBe(client.localAddress);
  expect(accepted.destroyed).toBe(true);
  await closed;
}

describe('readProxyHeader: v1', () => {
  it('TCP4: the socket reports the source address, port and family', async () => {
    const { client, accepted } = await pair();
    const real = accepted.remoteAddress;
    const reading = readProxyHeader(accepted, 5000);
    await write(client, 'PROXY TCP4 192.0.2.10 198.51.100.1 51000 1883\r\n');
    const header = await reading;
    expect(header).toEqual({
      version: 1,
      source: { address: '192.0.2.10', port: 51000, family: 'IPv4' },
      destination: { address: '198.51.100.1', port: 1883, family: 'IPv4' },
    });
    expect([accepted.remoteAddress, accepted.remotePort, accepted.remoteFamily]).toEqual(['192.0.2.10', 51000, 'IPv4']);
    expect(proxyPeerOf(accepted)).toBe(real);
    client.destroy();
  });

  it('TCP6: addresses in the form Node reports them (lower case, zeros compressed)', async () => {
    const { client, accepted } = await pair();
    const reading = readProxyHeader(accepted, 5000);
    await write(client, 'PROXY TCP6 2001:DB8:0:0:0:0:0:ABC 2001:db8::1 65535 0\r\n');
    const header = await reading;
    expect(header.source).toEqual({ address: '2001:db8::abc', port: 65535, family: 'IPv6' });
    expect(header.destination).toEqual({ address: '2001:db8::1', port: 0, family: 'IPv6' });
    expect([accepted.remoteAddress, accepted.remoteFamily]).toEqual(['2001:db8::abc', 'IPv6']);
    client.destroy();
  });

  it('UNKNOWN: no address is taken, the connection keeps its own', async () => {
    const { client, accepted } = await pair();
    const real = [accepted.remoteAddress, accepted.remotePort];
    const reading = readProxyHeader(accepted, 5000);
    await write(client, 'PROXY UNKNOWN ffff:f...f:ffff ffff:f...f:ffff 65535 65535\r\n');
    expect(await reading).toEqual({ version: 1, source: null, destination: null });
    expect([accepted.remoteAddress, accepted.remotePort]).toEqual(real);
    expect(proxyPeerOf(accepted)).toBeUndefined();
    client.destroy();
  });

  it('UNKNOWN of exactly 107 bytes (the longest v1 header) is read; 108 is refused', async () => {
    const { client, accepted } = await pair();
    const reading = readProxyHeader(accepted, 5000);
    const longest = `PROXY UNKNOWN ${'x'.repeat(91)}\r\n`;
    expect(longest.length).toBe(107);
    await write(client, longest);
    expect(await reading).toEqual({ version: 1, source: null, destination: null });
    client.destroy();
    await refused(`PROXY UNKNOWN ${'x'.repeat(92)}\r\n`, /longer than 107 bytes/);
  });
});

describe('readProxyHeader: v2', () => {
  it('PROXY TCP4 with TLVs: the TLVs are skipped, the source taken', async () => {
    const { client, accepted } = await pair();
    const reading = readProxyHeader(accepted, 5000);
    const tlvs = Buffer.concat([tlv(0x01, Buffer.from('mqtt')), tlv(0x04, Buffer.alloc(5)), tlv(0xea, Buffer.from('vpce-0123'))]);
    await write(client, v2(0x21, 0x11, Buffer.concat([TCP4_BLOCK, tlvs])));
    expect(await reading).toEqual({
      version: 2,
      source: { address: '192.0.2.10', port: 51000, family: 'IPv4' },
      destination: { address: '198.51.100.1', port: 1883, family: 'IPv4' },
    });
    expect([accepted.remoteAddress, accepted.remotePort, accepted.remoteFamily]).toEqual(['192.0.2.10', 51000, 'IPv4']);
    client.destroy();
  });

  it('PROXY TCP6 with a TLV', async () => {
    const { client, accepted } = await pair();
    const reading = readProxyHeader(accepted, 5000);
    await write(client, v2(0x21, 0x21, Buffer.concat([TCP6_BLOCK, tlv(0x02, Buffer.from('broker.example'))])));
    const header = await reading;
    expect(header.source).toEqual({ address: '2001:db8::abc', port: 443, family: 'IPv6' });
    expect(header.destination).toEqual({ address: '2001:db8::1', port: 8883, family: 'IPv6' });
    expect([accepted.remoteAddress, accepted.remotePort, accepted.remoteFamily]).toEqual(['2001:db8::abc', 443, 'IPv6']);
    client.destroy();
  });

  it('LOCAL (a health check): the block is skipped, the connection keeps its own address', async () => {
    const { client, accepted } = await pair();
    const real = [accepted.remoteAddress, accepted.remotePort];
    const reading = readProxyHeader(accepted, 5000);
    await write(client, Buffer.concat([v2(0x20, 0x00, Buffer.alloc(0)), CONNECT]));
    expect(await reading).toEqual({ version: 2, source: null, destination: null });
    expect([accepted.remoteAddress, accepted.remotePort]).toEqual(real);
    expect(await dataOf(accepted, CONNECT.length)).toEqual(CONNECT);
    client.destroy();
  });
});

describe('readProxyHeader: the bytes around the header', () => {
  for (const [name, header] of [
    ['v1', Buffer.from('PROXY TCP4 192.0.2.10 198.51.100.1 51000 1883\r\n')],
    ['v2', v2(0x21, 0x11, Buffer.concat([TCP4_BLOCK, tlv(0x04, Buffer.alloc(3))]))],
  ] as const) {
    it(`${name} split into one-byte writes is read whole, and not before its last byte`, async () => {
      const { client, accepted } = await pair();
      let done = false;
      const reading = readProxyHeader(accepted, 10_000).then((h) => ((done = true), h));
      for (let i = 0; i < header.length; i++) {
        expect(done).toBe(false);
        await write(client, header.subarray(i, i + 1));
        await waitFor(() => accepted.bytesRead > i, `byte ${i}`, 5000, 1);
      }
      expect((await reading).source?.address).toBe('192.0.2.10');
      expect(accepted.remoteAddress).toBe('192.0.2.10');
      client.destroy();
    });

    it(`${name}: an MQTT CONNECT in the same write reaches the next reader, whole and first`, async () => {
      const { client, accepted } = await pair();
      const reading = readProxyHeader(accepted, 5000);
      await write(client, Buffer.concat([header, CONNECT]));
      await reading;
      const after = dataOf(accepted, CONNECT.length + 3);
      await write(client, Buffer.from([0xc0, 0x00, 0xe0]));
      expect(await after).toEqual(Buffer.concat([CONNECT, Buffer.from([0xc0, 0x00, 0xe0])]));
      client.destroy();
    });
  }

  it('a client that sends the header and CONNECT and half-closes: the next reader gets CONNECT, then the end', async () => {
    const { client, accepted } = await pair();
    const reading = readProxyHeader(accepted, 5000);
    client.end(Buffer.concat([Buffer.from('PROXY TCP4 192.0.2.10 198.51.100.1 51000 1883\r\n'), CONNECT]));
    await reading;
    const ended = onceWithin(accepted, 'end');
    expect(await dataOf(accepted, CONNECT.length)).toEqual(CONNECT);
    await ended;
    accepted.destroy();
  });
});

describe('readProxyHeader: refused', () => {
  it('v1: a bad keyword, an unknown protocol, extra spaces', async () => {
    await refused('PROXI TCP4 1.2.3.4 5.6.7.8 1 2\r\n', /not a PROXY protocol header/);
    await refused('PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n', /unknown protocol 'TCP5'/);
    await refused('PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n', /expected protocol, two addresses and two ports/);
    await refused('PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n', /expected protocol, two addresses and two ports/);
  });

  it('v1: longer than 107 bytes without CRLF, and a line ended by LF alone', async () => {
    await refused(`PROXY UNKNOWN ${'x'.repeat(200)}`, /longer than 107 bytes/);
    await refused('PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n', /does not end with CRLF/);
  });

  it('v1: bad addresses and ports', async () => {
    await refused('PROXY TCP4 300.1.2.3 5.6.7.8 1 2\r\n', /'300.1.2.3' is not an IPv4 address/);
    await refused('PROXY TCP4 ::1 5.6.7.8 1 2\r\n', /'::1' is not an IPv4 address/);
    await refused('PROXY TCP6 1.2.3.4 ::1 1 2\r\n', /'1.2.3.4' is not an IPv6 address/);
    await refused('PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n', /is not an IPv6 address/);
    await refused('PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n', /'65536' is not a port/);
    await refused('PROXY TCP4 1.2.3.4 5.6.7.8 1 0080\r\n', /'0080' is not a port/);
    await refused('PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n', /'-1' is not a port/);
  });

  it('v2: a bad signature, version, command, family, transport or length', async () => {
    const bad = Buffer.from(v2(0x21, 0x11, TCP4_BLOCK));
    bad[7] = 0x50; // QUIT -> PUIT
    await refused(bad, /not a PROXY protocol header/);
    await refused(v2(0x11, 0x11, TCP4_BLOCK), /version 1 is not 2/);
    await refused(v2(0x22, 0x11, TCP4_BLOCK), /unknown command 2/);
    await refused(v2(0x21, 0x41, TCP4_BLOCK), /unknown address family 4/);
    await refused(v2(0x21, 0x12, TCP4_BLOCK), /transport 2 is not a stream/);
    await refused(v2(0x21, 0x11, TCP4_BLOCK.subarray(0, 8)), /length 8 is too short for address family 1/);
    await refused(v2(0x21, 0x21, TCP4_BLOCK), /length 12 is too short for address family 2/);
  });

  it('an MQTT CONNECT where the header should be', async () => {
    await refused(CONNECT, /not a PROXY protocol header/);
  });

  it('a v2 header that claims more bytes than come is bounded by the timeout', async () => {
    const { client, accepted } = await pair();
    const reading = readProxyHeader(accepted, 100);
    await write(client, v2(0x21, 0x11, TCP4_BLOCK, 0xffff));
    await expect(reading).rejects.toThrow(/no PROXY header within 100 ms/);
    expect(accepted.destroyed).toBe(true);
  });

  it('no header at all: refused when the time is up', async () => {
    const { client, accepted } = await pair();
    const closed = onceWithin(client, 'close');
    await expect(readProxyHeader(accepted, 50)).rejects.toThrow(/no PROXY header within 50 ms/);
    await closed;
  });

  it('a socket closed before the call (its close event gone)', async () => {
    const { accepted } = await pair();
    const closed = onceWithin(accepted, 'close');
    accepted.destroy();
    await closed;
    await expect(readProxyHeader(accepted, 60_000)).rejects.toThrow(/closed before sending a PROXY header/);
  });

  it('a client that closes first, before a byte and in the middle of a header', async () => {
    const first = await pair();
    const reading = readProxyHeader(first.accepted, 5000);
    first.client.end();
    await expect(reading).rejects.toThrow(/closed before sending a PROXY header/);
    const second = await pair();
    const midway = readProxyHeader(second.accepted, 5000);
    second.client.end('PROXY TCP4 1.2');
    await expect(midway).rejects.toThrow(/closed in the middle of its PROXY header/);
  });
});

describe('readProxyHeader: servers the socket is handed to', () => {
  it('a tls.Server sees the proxied address, and the ClientHello sent with the header', async () => {
    const tlsServer = createTlsServer({ cert: CERT, key: KEY });
    const secured = onceWithin<[TLSSocket]>(tlsServer, 'secureConnection');
    const { client, accepted } = await pair();
    const reading = readProxyHeader(accepted, 5000);
    await write(client, 'PROXY TCP4 192.0.2.10 198.51.100.1 51000 8883\r\n');
    const tlsClient = tlsConnect({ socket: client, rejectUnauthorized: false });
    tlsClient.on('error', () => undefined);
    await reading;
    tlsServer.emit('connection', accepted);
    const [tlsSocket] = await secured;
    expect([tlsSocket.remoteAddress, tlsSocket.remotePort, tlsSocket.remoteFamily]).toEqual(['192.0.2.10', 51000, 'IPv4']);
    tlsClient.destroy();
  });

  it('an http.Server sees the proxied address', async () => {
    const httpServer = createHttpServer((req, res) => res.end(req.socket.remoteAddress));
    const { client, accepted } = await pair();
    const reading = readProxyHeader(accepted, 5000);
    await write(client, 'PROXY TCP6 2001:db8::7 2001:db8::1 4000 80\r\nGET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    await reading;
    const chunks: Buffer[] = [];
    client.on('data', (chunk: Buffer) => chunks.push(chunk));
    const ended = onceWithin(client, 'end');
    httpServer.emit('connection', accepted);
    await ended; // Connection: close
    expect(Buffer.concat(chunks).toString()).toMatch(/\r\n\r\n2001:db8::7$/);
    client.destroy();
  });
});
