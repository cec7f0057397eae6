// A broker started with proxyProtocol: true, clients behind a (pretend) proxy sending v1/v2 headers.
// What would make these fail:
// - "v1"/"v2": index.ts handing the socket to the broker without reading the header (the header
//   bytes would reach the MQTT parser), or readProxyHeader not overriding remoteAddress;
// - "garbage": a refused header taking more than its own connection down (a throw out of the
//   listener, the broker closed), or no log line naming the sender's real address;
// - "closing": the sockets still waiting for their header left open by close() (ProxyHeaderGate.close
//   not called), so close() waits out their timeout;
// - "failed login": the failed-login log (broker/auth/failed-logins.ts) reading the address from
//   anywhere but the socket's remoteAddress, which the header set.
import { connect as netConnect, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import { connect as tlsConnect } from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { startBroker, type BrokerConfig, type ClientInfo, type RunningBroker } from '../../src/index.js';
import { RawClient } from '../helpers/raw-client.js';
import { createTestCa } from '../helpers/test-ca.js';
import { waitFor, within } from '../helpers/wait.js';
import { encode, type ConnackPacket, type Packet, type PublishPacket } from '../../src/protocol/index.js';

const USER = 'alice';
const PASSWORD = 's3cret';

const V2_SIGNATURE = Buffer.from('0d0a0d0a000d0a515549540a', 'hex');

/** A v2 PROXY header, TCP over IPv6, from source:sourcePort to [2001:db8::1]:1883. */
function v2Tcp6(source: string, sourcePort: number): Buffer {
  const block = Buffer.alloc(36);
  const groups = source.split(':');
  // Only the forms used here: "2001:db8::42" (one ::).
  const gap = groups.indexOf('');
  const full = [...groups.slice(0, gap), ...Array<string>(8 - (groups.length - 1)).fill('0'), ...groups.slice(gap + 1)];
  full.forEach((g, i) => block.writeUInt16BE(parseInt(g, 16), i * 2));
  block.writeUInt16BE(0x2001, 16);
  block.writeUInt16BE(0x0db8, 18);
  block.writeUInt16BE(1, 30);
  block.writeUInt16BE(sourcePort, 32);
  block.writeUInt16BE(1883, 34);
  const fixed = Buffer.from([0x21, 0x21, 0, 0]);
  fixed.writeUInt16BE(block.length, 2);
  return Buffer.concat([V2_SIGNATURE, fixed, block]);
}

function v1Tcp4(source: string, sourcePort: number): Buffer {
  return Buffer.from(`PROXY TCP4 ${source} 192.0.2.1 ${sourcePort} 1883\r\n`);
}

function connect(clientId: string, password = PASSWORD): Packet {
  return { cmd: 'connect', protocolName: 'MQTT', protocolVersion: 4, clean: true, keepalive: 0, clientId, username: USER, password: Buffer.from(password) } as Packet;
}

interface Running {
  broker: RunningBroker;
  /** client.address as the connected hook was told, by client id. */
  addresses: Map<string, string | undefined>;
  logs: Array<Record<string, unknown>>;
}

const running: RunningBroker[] = [];
const raws: RawClient[] = [];
afterEach(async () => {
  for (const raw of raws.splice(0)) raw.destroy();
  await Promise.all(running.splice(0).map((b) => b.close()));
});

async function start(overrides: Partial<BrokerConfig> = {}): Promise<Running> {
  const logs: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n')) if (line !== '') logs.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const addresses = new Map<string, string | undefined>();
  const broker = await startBroker(
    { host: '127.0.0.1', port: 0, sysInterval: 0, username: USER, password: PASSWORD, proxyProtocol: true, authFailDelayMs: 0, ...overrides },
    undefined,
    {
      logger: pino({ level: 'debug' }, sink),
      hooks: {
        connected(client: ClientInfo) {
          addresses.set(client.clientId, client.address);
        },
      },
    },
  );
  running.push(broker);
  return { broker, addresses, logs };
}

/** Opens a socket to the broker and writes `header` (the proxy's part) first. */
async function behindProxy(port: number, header: Buffer): Promise<RawClient> {
  const raw = await RawClient.open(port);
  raws.push(raw);
  raw.sendBytes(header);
  return raw;
}

describe('PROXY protocol on the main listener', () => {
  it('v1: the broker sees the client at the address the header names', async () => {
    const b = await start();
    const raw = await behindProxy(b.broker.port, v1Tcp4('203.0.113.7', 40001));
    raw.send(connect('pp-v1'));
    expect(((await raw.next('connack')) as ConnackPacket).reasonCode).toBe(0);
    await waitFor(() => b.addresses.has('pp-v1'), 'the connected hook');
    expect(b.addresses.get('pp-v1')).toBe('203.0.113.7');
  });

  it('v2: the same, over IPv6, with the header and CONNECT in one write', async () => {
    const b = await start();
    const raw = await RawClient.open(b.broker.port);
    raws.push(raw);
    raw.sendBytes(Buffer.concat([v2Tcp6('2001:db8::42', 40002), encode(connect('pp-v2'), 4)]));
    expect(((await raw.next('connack')) as ConnackPacket).reasonCode).toBe(0);
    await waitFor(() => b.addresses.has('pp-v2'), 'the connected hook');
    expect(b.addresses.get('pp-v2')).toBe('2001:db8::42');
  });

  it('garbage instead of a header closes that connection only: a connected client keeps publishing and receiving', async () => {
    const b = await start();
    const good = await behindProxy(b.broker.port, v1Tcp4('203.0.113.8', 40003));
    good.send(connect('pp-good'));
    await good.next('connack');
    good.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'pp/t', qos: 0 }] } as Packet);
    await good.next('suback');

    // A client that skips the proxy: its CONNECT is where the header should be.
    const direct = await RawClient.open(b.broker.port);
    raws.push(direct);
    direct.send(connect('pp-direct'));
    expect(await direct.packetsBeforeClose()).toEqual([]);
    await waitFor(() => b.logs.some((l) => l.msg === 'PROXY protocol header refused: connection closed'), 'the refusal logged');
    const refusal = b.logs.find((l) => l.msg === 'PROXY protocol header refused: connection closed');
    expect(refusal).toMatchObject({ level: 40, remote: '127.0.0.1', reason: 'not a PROXY protocol header' });

    good.send({ cmd: 'publish', topic: 'pp/t', payload: Buffer.from('still here'), qos: 0, retain: false, dup: false } as Packet);
    const received = (await good.next('publish')) as PublishPacket;
    expect(received.payload.toString()).toBe('still here');
    expect(b.addresses.has('pp-direct')).toBe(false);
  });

  it('a failed login is logged with the proxied address', async () => {
    const b = await start();
    const raw = await behindProxy(b.broker.port, v1Tcp4('198.51.100.23', 40004));
    raw.send(connect('pp-wrong', 'not-the-password'));
    expect(((await raw.next('connack')) as ConnackPacket).reasonCode).toBe(4);
    await waitFor(() => b.logs.some((l) => l.msg === 'failed login'), 'the failed login logged');
    expect(b.logs.find((l) => l.msg === 'failed login')).toMatchObject({ remote: '198.51.100.23', clientId: 'pp-wrong', username: USER });
  });

  it('closing the broker closes a socket still waiting for the rest of its header, without waiting out its timeout', async () => {
    const b = await start({ connectTimeoutMs: 60_000 });
    const raw = await behindProxy(b.broker.port, Buffer.from('PROXY TCP4 203.0.'));
    await waitFor(() => b.broker.listener.connections === 1, 'the socket accepted');
    running.splice(running.indexOf(b.broker), 1);
    await within(b.broker.close(), 5000, 'the broker closed');
    await raw.waitClosed();
  });
});

// Fails if listeners.ts hands an extra listener's socket to its stack without reading the header
// (the header bytes would reach the MQTT parser or the TLS handshake), or if the TLS server under
// an mqtts listener reads the address from the handle rather than the header (proxy-protocol.ts).
describe('PROXY protocol on the other listeners (config.listeners, proxyProtocol: true)', () => {
  it('an mqtt and an mqtts listener see the client at the address the header names', async () => {
    const ca = createTestCa();
    try {
      const b = await start({
        proxyProtocol: false,
        listeners: [
          { protocol: 'mqtt', host: '127.0.0.1', port: 0, proxyProtocol: true },
          { protocol: 'mqtts', host: '127.0.0.1', port: 0, proxyProtocol: true, tls: { cert: ca.serverCert, key: ca.serverKey } },
        ],
      });
      const [plain, secure] = b.broker.listeners;
      const raw = await behindProxy(plain!.port, v1Tcp4('203.0.113.30', 40030));
      raw.send(connect('pp-extra'));
      expect(((await raw.next('connack')) as ConnackPacket).reasonCode).toBe(0);
      await waitFor(() => b.addresses.has('pp-extra'), 'the connected hook (mqtt listener)');
      expect(b.addresses.get('pp-extra')).toBe('203.0.113.30');

      // The proxy's TCP connection, its header, then TLS from the client through it.
      const tcp = await new Promise<Socket>((resolve, reject) => {
        const s = netConnect({ host: '127.0.0.1', port: secure!.port }, () => resolve(s));
        s.once('error', reject);
      });
      tcp.write(v1Tcp4('198.51.100.40', 40040));
      const tlsSocket = tlsConnect({ socket: tcp, ca: ca.ca, servername: 'localhost' });
      await new Promise<void>((resolve, reject) => {
        tlsSocket.once('secureConnect', resolve);
        tlsSocket.once('error', reject);
      });
      const connack = new Promise<Buffer>((resolve) => tlsSocket.once('data', resolve));
      tlsSocket.write(encode(connect('pp-tls'), 4));
      expect((await within(connack, 5000, 'CONNACK over TLS'))[3]).toBe(0); // CONNACK return code
      await waitFor(() => b.addresses.has('pp-tls'), 'the connected hook (mqtts listener)');
      expect(b.addresses.get('pp-tls')).toBe('198.51.100.40');
      tlsSocket.destroy();
    } finally {
      ca.remove();
    }
  });
});
