// Listeners beside the main one (transport/listeners.ts): mqtt, mqtts, ws and wss with real
// clients (mqtt.js, mosquitto_pub/sub, Python paho-mqtt) and a CA made here with openssl.
// What each test catches, if broken:
// - "a message from each transport reaches...": a listener kind not built or not wired to the
//   broker (protocolStack in listeners.ts), the WebSocket stream (websocket.ts streamOf) not
//   carrying bytes both ways, Connection not accepting a non-net socket.
// - mosquitto over mqtts: the TLS server options (tls-context.ts) or handOver() into the TLS server.
// - paho over ws/wss: the "mqtt" subprotocol not accepted (websocket.ts handleProtocols) or the path.
// - certificate identity: certificateUsername() unused in handlers/connect.ts (the CONNECT's
//   username would be used, and the ACL would refuse alice's topic), requestCert/rejectUnauthorized
//   not set (a client without a certificate would get in); without requireCertificate, the
//   refusal of a client with no certificate at CONNECT (identity === null in connect.ts).
// - reload: reloadTls() not calling setSecureContext (the old serial would be served), or closing
//   connections; a bad file replacing the context in use.
// - text frame: the prependListener check in websocket.ts streamOf.
// - limits and failures: maxConnections not applied per listener; a failed listen not failing the start.
import { execFile, spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import WebSocket from 'ws';
import { startBroker, type RunningBroker } from '../../src/index.js';
import type { ListenerConfig, TlsConfig } from '../../src/config.js';
import { createTestCa, type TestCa } from '../helpers/test-ca.js';
import { waitFor, within } from '../helpers/wait.js';
import { RawClient } from '../helpers/raw-client.js';
import { encode, PacketParser, type Packet } from '../../src/protocol/index.js';

const run = promisify(execFile);
let ca: TestCa;
let alice: { cert: string; key: string };

beforeAll(() => {
  ca = createTestCa();
  alice = ca.issue('alice', 'alice');
});
afterAll(() => ca.remove());

function portOf(broker: RunningBroker, protocol: ListenerConfig['protocol'], index = 0): number {
  return broker.listeners.filter((l) => l.protocol === protocol)[index]!.port;
}

async function connect(url: string, options: IClientOptions = {}): Promise<MqttClient> {
  return within(mqtt.connectAsync(url, { reconnectPeriod: 0, ca: ca.ca, ...options }), 10_000, `connect to ${url}`);
}

/** Resolves with the payloads of the first `count` messages `client` receives. */
function receive(client: MqttClient, count: number): Promise<string[]> {
  const got: string[] = [];
  return within(
    new Promise((resolve) => {
      client.on('message', (_topic, payload) => {
        got.push(payload.toString());
        if (got.length === count) resolve(got);
      });
    }),
    10_000,
    `${count} messages`,
  );
}

describe('mqtt, mqtts, ws and wss listeners in one broker', () => {
  let broker: RunningBroker;
  let tls: TlsConfig;
  let identityTls: TlsConfig;
  beforeAll(async () => {
    tls = { cert: ca.serverCert, key: ca.serverKey };
    identityTls = { ...tls, ca: ca.caFile, requireCertificate: true, useIdentityAsUsername: true };
    const acl = join(ca.dir, 'acl');
    // Anonymous clients (rules before any user line) may do anything; alice only alice/#.
    writeFileSync(acl, 'topic readwrite #\n\nuser alice\ntopic readwrite alice/#\n');
    broker = await startBroker({
      port: 0,
      logLevel: 'warn',
      sysInterval: 0,
      aclFile: acl,
      listeners: [
        { protocol: 'mqtt', host: '127.0.0.1', port: 0 },
        { protocol: 'mqtts', host: '127.0.0.1', port: 0, tls },
        { protocol: 'ws', host: '127.0.0.1', port: 0, path: '/mqtt' },
        { protocol: 'wss', host: '127.0.0.1', port: 0, path: '/mqtt', tls },
        { protocol: 'mqtts', host: '127.0.0.1', port: 0, tls: identityTls },
        { protocol: 'wss', host: '127.0.0.1', port: 0, path: '/ws', tls: identityTls },
        { protocol: 'mqtt', host: '127.0.0.1', port: 0, maxConnections: 1 },
        // Identity asked for, certificate not required at the handshake: refused at CONNECT instead.
        { protocol: 'mqtts', host: '127.0.0.1', port: 0, tls: { ...tls, ca: ca.caFile, useIdentityAsUsername: true } },
      ],
    });
  });
  afterAll(async () => {
    await broker?.close();
  });

  const urls = (): string[] => [
    `mqtt://127.0.0.1:${portOf(broker, 'mqtt')}`,
    `mqtts://127.0.0.1:${portOf(broker, 'mqtts')}`,
    `ws://127.0.0.1:${portOf(broker, 'ws')}/mqtt`,
    `wss://localhost:${portOf(broker, 'wss')}/mqtt`,
  ];

  it('bound ports are exposed (port 0), in the configured order', () => {
    expect(broker.listeners.map((l) => l.protocol)).toEqual(['mqtt', 'mqtts', 'ws', 'wss', 'mqtts', 'wss', 'mqtt', 'mqtts']);
    for (const l of broker.listeners) expect(l.port).toBeGreaterThan(0);
    expect(new Set(broker.listeners.map((l) => l.port)).size).toBe(broker.listeners.length);
  });

  it('mqtt.js over each of mqtt, mqtts, ws and wss: a message from each transport reaches a subscriber on every other', async () => {
    const clients = await Promise.all(urls().map((url, i) => connect(url, { clientId: `four-${i}` })));
    await Promise.all(clients.map((c) => c.subscribeAsync('four/#', { qos: 1 })));
    const inboxes = clients.map((c) => receive(c, 4));
    for (const [i, c] of clients.entries()) await c.publishAsync(`four/${i}`, `from ${i}`, { qos: 1 });
    for (const inbox of inboxes) expect((await inbox).sort()).toEqual(['from 0', 'from 1', 'from 2', 'from 3']);
    expect(broker.listeners.slice(0, 4).map((l) => l.connections)).toEqual([1, 1, 1, 1]);
    await Promise.all(clients.map((c) => c.endAsync()));
    // The raw sockets' close is counted, TLS and WebSocket ones too.
    await waitFor(() => broker.listeners.every((l) => l.connections === 0), 'every listener back to 0 connections');
  });

  it('mosquitto_pub → mosquitto_sub over mqtts with --cafile', async () => {
    const port = String(portOf(broker, 'mqtts'));
    const tlsArgs = ['-h', '127.0.0.1', '-p', port, '--cafile', ca.caFile];
    const sub = spawn('stdbuf', ['-oL', 'mosquitto_sub', ...tlsArgs, '-d', '-q', '1', '-t', 'mosq/tls', '-C', '1', '-F', 'MSG %t %p']);
    let out = '';
    sub.stdout.on('data', (c: Buffer) => (out += c.toString()));
    const done = new Promise<number>((resolve) => sub.on('close', (code) => resolve(code ?? -1)));
    await waitFor(() => out.includes('received SUBACK'), 'mosquitto_sub SUBACK', 10_000);
    await run('mosquitto_pub', [...tlsArgs, '-q', '1', '-t', 'mosq/tls', '-m', 'over tls']);
    expect(await within(done, 10_000, 'mosquitto_sub exit')).toBe(0);
    expect(out).toContain('MSG mosq/tls over tls');
  });

  it("paho-mqtt (Python) over ws and wss publishes; mqtt.js on TCP receives", async () => {
    const sub = await connect(urls()[0]!);
    await sub.subscribeAsync('paho/#', { qos: 1 });
    const inbox = receive(sub, 2);
    await run('/usr/bin/python3', ['-c', PAHO_WS, String(portOf(broker, 'ws')), '', 'paho/ws'], { timeout: 15_000 });
    await run('/usr/bin/python3', ['-c', PAHO_WS, String(portOf(broker, 'wss')), ca.caFile, 'paho/wss'], { timeout: 15_000 });
    expect((await inbox).sort()).toEqual(['from paho/ws', 'from paho/wss']);
    await sub.endAsync();
  });

  it('client certificate with use_identity_as_username: the CN is the user (the ACL grants alice/#), whatever CONNECT says; mqtt.js and mosquitto', async () => {
    const url = `mqtts://127.0.0.1:${portOf(broker, 'mqtts', 1)}`;
    const client = await connect(url, { cert: readFileSync(alice.cert), key: readFileSync(alice.key), username: 'mallory', password: 'anything', protocolVersion: 5 });
    // alice/# granted; other/# refused (0x87 Not authorized): the ACL took the user to be alice.
    expect((await client.subscribeAsync('alice/#', { qos: 1 })).map((g) => g.qos)).toEqual([1]);
    await expect(client.subscribeAsync('other/#', { qos: 1 })).rejects.toThrow(/Not authorized/);
    const inbox = receive(client, 1);
    await run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(portOf(broker, 'mqtts', 1)), '--cafile', ca.caFile, '--cert', alice.cert, '--key', alice.key, '-q', '1', '-t', 'alice/mosq', '-m', 'signed']);
    expect(await inbox).toEqual(['signed']);
    await client.endAsync();
  });

  it('client certificate over wss: the same identity', async () => {
    const client = await connect(`wss://127.0.0.1:${portOf(broker, 'wss', 1)}/ws`, { cert: readFileSync(alice.cert), key: readFileSync(alice.key), protocolVersion: 5 });
    expect((await client.subscribeAsync('alice/wss', { qos: 0 })).map((g) => g.qos)).toEqual([0]);
    await expect(client.subscribeAsync('other/wss', { qos: 0 })).rejects.toThrow(/Not authorized/);
    await client.endAsync();
  });

  it('a client without a certificate, or with one from another CA, is refused at the TLS handshake', async () => {
    // With TLS 1.3 the client's side of the handshake ends before the server has checked its
    // certificate: the refusal is the alert that follows (read as an error, or only as the close
    // after it), well before the 10 s a client that says nothing would be given.
    const refusal = (options: { cert?: Buffer; key?: Buffer }): Promise<string> =>
      within(
        new Promise((resolve) => {
          let error = 'closed';
          const socket = tlsConnect({ host: '127.0.0.1', port: portOf(broker, 'mqtts', 1), ca: ca.ca, ...options });
          socket.on('error', (err) => (error = err.message));
          socket.on('close', () => resolve(error));
        }),
        5000,
        'the handshake refusal',
      );
    expect(await refusal({})).toMatch(/alert certificate required/);
    const stranger = createTestCa();
    try {
      const other = stranger.issue('alice', 'alice');
      expect(await refusal({ cert: readFileSync(other.cert), key: readFileSync(other.key) })).toMatch(/alert unknown ca|closed/);
    } finally {
      stranger.remove();
    }
  });

  it('use_identity_as_username without a required certificate: a client without one is refused at CONNECT (Not authorized); alice gets in', async () => {
    const url = `mqtts://127.0.0.1:${portOf(broker, 'mqtts', 2)}`;
    await expect(connect(url, { protocolVersion: 5, username: 'alice' })).rejects.toThrow(/Not authorized/);
    const client = await connect(url, { cert: readFileSync(alice.cert), key: readFileSync(alice.key), protocolVersion: 5 });
    expect((await client.subscribeAsync('alice/x', { qos: 0 })).map((g) => g.qos)).toEqual([0]);
    await client.endAsync();
  });

  it('the subprotocol selected is mqtt [v3:MQTT-6.0.0-4] [v5:MQTT-6.0.0-4]; a WebSocket on another path is refused (404); one offering only other subprotocols too (400)', async () => {
    const status = (url: string, protocols?: string[]): Promise<number> =>
      new Promise((resolve, reject) => {
        const ws = new WebSocket(url, protocols);
        ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.on('open', () => reject(new Error('upgraded')));
        ws.on('error', () => undefined);
      });
    const port = portOf(broker, 'ws');
    const chosen = await within(
      new Promise<string>((resolve, reject) => {
        const ws = new WebSocket(`ws://127.0.0.1:${port}/mqtt`, ['chat', 'mqtt']);
        ws.on('open', () => {
          resolve(ws.protocol);
          ws.close();
        });
        ws.on('error', reject);
      }),
      5000,
      'the upgrade',
    );
    expect(chosen).toBe('mqtt');
    expect(await status(`ws://127.0.0.1:${port}/other`, ['mqtt'])).toBe(404);
    expect(await status(`ws://127.0.0.1:${port}/mqtt`, ['chat'])).toBe(400);
  });

  it('a WebSocket text frame closes the connection [v3:MQTT-6.0.0-1] [v5:MQTT-6.0.0-1]; binary frames carry MQTT', async () => {
    const port = portOf(broker, 'ws');
    const open = (): Promise<WebSocket> =>
      within(
        new Promise((resolve, reject) => {
          const ws = new WebSocket(`ws://127.0.0.1:${port}/mqtt`, ['mqtt']);
          ws.on('open', () => resolve(ws));
          ws.on('error', reject);
        }),
        5000,
        'a WebSocket',
      );
    // CONNECT, MQTT 3.1.1, clean session, keep-alive 60, client id "t".
    const connectPacket = Buffer.from([0x10, 13, 0, 4, 0x4d, 0x51, 0x54, 0x54, 4, 2, 0, 60, 0, 1, 0x74]);
    const binary = await open();
    expect(binary.protocol).toBe('mqtt');
    const connack = within(new Promise<Buffer>((resolve) => binary.once('message', (data: Buffer) => resolve(data))), 5000, 'CONNACK');
    binary.send(connectPacket);
    expect([...(await connack)]).toEqual([0x20, 2, 0, 0]);
    binary.close();
    // Packets need not align with frames [v3:MQTT-6.0.0-2] [v5:MQTT-6.0.0-2]: CONNECT split over two
    // frames, then two PINGREQs in one frame, get a CONNACK and two PINGRESPs.
    const split = await open();
    const answers: number[] = [];
    const three = within(
      new Promise<void>((resolve) =>
        split.on('message', (data: Buffer) => {
          answers.push(...data);
          if (answers.length >= 8) resolve();
        }),
      ),
      5000,
      'CONNACK and two PINGRESPs',
    );
    split.send(connectPacket.subarray(0, 5));
    split.send(connectPacket.subarray(5));
    split.send(Buffer.from([0xc0, 0, 0xc0, 0]));
    await three;
    expect(answers).toEqual([0x20, 2, 0, 0, 0xd0, 0, 0xd0, 0]);
    split.close();
    const text = await open();
    const closed = within(new Promise((resolve) => text.once('close', resolve)), 5000, 'the close after a text frame');
    text.send(connectPacket.toString('latin1'));
    await closed;
  });

  // Fails if websocket.ts sends one WebSocket message per MQTT packet (no _writev: every corked
  // write its own frame), or if batching loses or reorders packets.
  it('what a connection writes in one tick leaves as one WebSocket message, packets whole and in order', async () => {
    const port = portOf(broker, 'ws');
    const ws = await within(
      new Promise<WebSocket>((resolve, reject) => {
        const socket = new WebSocket(`ws://127.0.0.1:${port}/mqtt`, ['mqtt']);
        socket.on('open', () => resolve(socket));
        socket.on('error', reject);
      }),
      5000,
      'a WebSocket',
    );
    const bytes: number[] = [];
    let messages = 0;
    ws.on('message', (data: Buffer) => {
      messages++;
      bytes.push(...data);
    });
    const parser = new PacketParser({ protocolVersion: 4 });
    const packets = (): Packet[] => {
      const out: Packet[] = [];
      parser.parse(Buffer.from(bytes.splice(0)), (p) => out.push(p));
      return out;
    };
    ws.send(encode({ cmd: 'connect', protocolName: 'MQTT', protocolVersion: 4, clean: true, keepalive: 0, clientId: 'ws-batch' } as Packet, 4));
    ws.send(encode({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'batch/#', qos: 0 }] } as Packet, 4));
    const received: Packet[] = [];
    await waitFor(() => (received.push(...packets()), received.some((p) => p.cmd === 'suback')), 'SUBACK over ws');
    messages = 0;
    // 50 PUBLISHes in one TCP write: routed in one tick, written to the WebSocket's connection in one tick.
    const publisher = await RawClient.connected(portOf(broker, 'mqtt'), 'batch-pub', 4);
    publisher.sendBytes(Buffer.concat(Array.from({ length: 50 }, (_, i) => encode({ cmd: 'publish', topic: `batch/${i}`, payload: Buffer.from(String(i)), qos: 0, retain: false, dup: false } as Packet, 4))));
    const publishes: Packet[] = [];
    await waitFor(() => (publishes.push(...packets().filter((p) => p.cmd === 'publish')), publishes.length >= 50), '50 PUBLISHes over ws');
    expect(publishes.map((p) => (p as { topic: string }).topic)).toEqual(Array.from({ length: 50 }, (_, i) => `batch/${i}`));
    expect(messages).toBeLessThan(10);
    publisher.destroy();
    ws.close();
  });

  it('max-connections per listener: past it, new sockets are closed; the other listeners are not affected', async () => {
    const url = `mqtt://127.0.0.1:${portOf(broker, 'mqtt', 1)}`;
    const first = await connect(url);
    // The next socket is closed at once, before a byte is read.
    const refused = netConnect(portOf(broker, 'mqtt', 1), '127.0.0.1');
    await within(new Promise((resolve) => refused.on('close', resolve)), 5000, 'the refused socket to close');
    const elsewhere = await connect(urls()[0]!);
    await Promise.all([first.endAsync(), elsewhere.endAsync()]);
  });
});

/** argv: port, CA file ('' for ws), topic. Connects over WebSocket, publishes at QoS 1, exits 0 once acknowledged. */
const PAHO_WS = `
import sys, threading
import paho.mqtt.client as mqtt
port, cafile, topic = int(sys.argv[1]), sys.argv[2], sys.argv[3]
done = threading.Event()
c = mqtt.Client(client_id="paho-" + topic.replace("/", "-"), transport="websockets")
c.ws_set_options(path="/mqtt")
if cafile:
    c.tls_set(ca_certs=cafile)
def on_connect(client, userdata, flags, rc):
    if rc != 0:
        sys.exit("connect refused: %d" % rc)
    client.publish(topic, "from " + topic, qos=1)
c.on_connect = on_connect
c.on_publish = lambda client, userdata, mid: done.set()
c.connect("127.0.0.1", port, 30)
c.loop_start()
ok = done.wait(10)
c.disconnect()
c.loop_stop()
sys.exit(0 if ok else "no PUBACK")
`;

describe('certificate reload (SIGHUP: RunningBroker.reloadListeners)', () => {
  let broker: RunningBroker;
  let dir: string;
  let cert: string;
  let key: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'starling-reload-'));
    cert = join(dir, 'server.crt');
    key = join(dir, 'server.key');
    copyFileSync(ca.serverCert, cert);
    copyFileSync(ca.serverKey, key);
    broker = await startBroker({ port: 0, logLevel: 'silent', sysInterval: 0, listeners: [{ protocol: 'mqtts', host: '127.0.0.1', port: 0, tls: { cert, key } }] });
  });
  afterAll(async () => {
    await broker?.close();
  });

  /** The serial number of the certificate a new TLS connection is served. */
  const servedSerial = (): Promise<string> =>
    within(
      new Promise((resolve, reject) => {
        const socket = tlsConnect({ host: '127.0.0.1', port: portOf(broker, 'mqtts'), ca: ca.ca }, () => {
          resolve(socket.getPeerCertificate().serialNumber);
          socket.destroy();
        });
        socket.on('error', reject);
      }),
      10_000,
      'a TLS handshake',
    );

  it('a new certificate is served to new connections; a connected client stays connected and still receives; a bad file keeps the one in use', async () => {
    const before = await servedSerial();
    const kept = await connect(`mqtts://127.0.0.1:${portOf(broker, 'mqtts')}`, { clientId: 'kept' });
    await kept.subscribeAsync('reload/#', { qos: 1 });
    let closed = false;
    kept.on('close', () => (closed = true));

    const renewed = ca.issue('renewed', '127.0.0.1', { server: true, serial: 'abcdef' });
    copyFileSync(renewed.cert, cert);
    copyFileSync(renewed.key, key);
    broker.reloadListeners();
    const after = await servedSerial();
    expect(after).not.toBe(before);
    expect(after).toBe('ABCDEF');

    // A certificate file that does not parse: the context in use stays.
    writeFileSync(cert, 'not a certificate\n');
    broker.reloadListeners();
    expect(await servedSerial()).toBe('ABCDEF');

    const inbox = receive(kept, 1);
    const publisher = await connect(`mqtt://127.0.0.1:${broker.port}`);
    await publisher.publishAsync('reload/x', 'still here', { qos: 1 });
    expect(await inbox).toEqual(['still here']);
    expect(closed).toBe(false);
    await Promise.all([kept.endAsync(), publisher.endAsync()]);
  });
});

describe('a listener that cannot listen', () => {
  it('fails the start (EADDRINUSE), like the main listener', async () => {
    const taken = await startBroker({ port: 0, logLevel: 'silent', sysInterval: 0 });
    try {
      await expect(startBroker({ port: 0, logLevel: 'silent', sysInterval: 0, listeners: [{ protocol: 'ws', host: '127.0.0.1', port: taken.port }] })).rejects.toMatchObject({ code: 'EADDRINUSE' });
    } finally {
      await taken.close();
    }
  });

  it('fails the start with a ConfigError naming a missing certificate file', async () => {
    await expect(
      startBroker({ port: 0, logLevel: 'silent', sysInterval: 0, listeners: [{ protocol: 'mqtts', host: '127.0.0.1', port: 0, tls: { cert: '/nonexistent/c.pem', key: ca.serverKey } }] }),
    ).rejects.toThrow(/TLS certificate \/nonexistent\/c.pem: ENOENT/);
  });
});
