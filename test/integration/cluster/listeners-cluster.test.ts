// Listeners in a 2-worker cluster (bin/starling.js --listeners ... --tls-*): every worker opens
// the same ws, wss and mqtts listeners on shared ports; SIGHUP to the primary reloads the
// certificates in every worker.
// What each test catches, if broken:
// - "ws and wss ... on both workers": the listeners opened only in the primary or one worker, or
//   on per-worker ports (openListeners not run by each worker's startBroker), or --listeners not
//   turned into config.listeners (listener-flags.ts) / back into flags (cluster-harness flags()).
// - "a ws client and a tcp client exchange": WebSocket clients not routed over the cluster bus.
// - SIGHUP: worker.ts reload() not calling running.reloadListeners(), or the reload closing clients.
import { copyFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { connect as tlsConnect } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCluster, type TestCluster } from '../../helpers/cluster-harness.js';
import { freePort } from '../../helpers/ports.js';
import { createTestCa, type TestCa } from '../../helpers/test-ca.js';
import { waitFor, within } from '../../helpers/wait.js';

let ca: TestCa;
let cluster: TestCluster;
let ports: { ws: number; wss: number; mqtts: number };
let cert: string;
let key: string;
const clients: MqttClient[] = [];

beforeAll(async () => {
  ca = createTestCa();
  // The files the cluster reads, which the reload test replaces.
  const dir = mkdtempSync(join(tmpdir(), 'starling-cluster-tls-'));
  cert = join(dir, 'server.crt');
  key = join(dir, 'server.key');
  copyFileSync(ca.serverCert, cert);
  copyFileSync(ca.serverKey, key);
  // Fixed ports: the cluster logs only the main listener's.
  ports = { ws: await freePort(), wss: await freePort(), mqtts: await freePort() };
  const tls = { cert, key };
  cluster = await startTestCluster({
    workers: 2,
    config: {
      listeners: [
        { protocol: 'ws', host: '127.0.0.1', port: ports.ws, path: '/mqtt' },
        { protocol: 'wss', host: '127.0.0.1', port: ports.wss, path: '/mqtt', tls },
        { protocol: 'mqtts', host: '127.0.0.1', port: ports.mqtts, tls },
      ],
    },
  });
});

afterAll(async () => {
  for (const c of clients) c.end(true);
  await cluster?.close();
  ca?.remove();
});

async function connect(url: string, options: IClientOptions = {}): Promise<MqttClient> {
  const client = await within(mqtt.connectAsync(url, { reconnectPeriod: 0, ca: ca.ca, ...options }), 10_000, `connect to ${url}`);
  clients.push(client);
  return client;
}

function nextMessage(client: MqttClient): Promise<string> {
  return within(new Promise((resolve) => client.once('message', (_t, payload) => resolve(payload.toString()))), 10_000, 'a message');
}

describe('listeners in a 2-worker cluster', () => {
  it.each(['ws', 'wss'] as const)('mqtt.js over %s reaches both workers on the one shared port', async (protocol) => {
    const url = `${protocol}://127.0.0.1:${ports[protocol]}/mqtt`;
    // Round robin (the harness' scheduling) hands consecutive connections to alternate workers.
    const ids = [`${protocol}-a`, `${protocol}-b`, `${protocol}-c`, `${protocol}-d`];
    for (const clientId of ids) await connect(url, { clientId });
    const nodes = new Set<string>();
    await waitFor(async () => {
      nodes.clear();
      for (const id of ids) nodes.add((await cluster.nodeOf(id)) ?? 'none');
      return !nodes.has('none');
    }, 'every client owned by a node');
    expect(nodes.size).toBe(2);
  });

  it('a ws client and a tcp client exchange a message, both ways', async () => {
    const ws = await connect(`ws://127.0.0.1:${ports.ws}/mqtt`, { clientId: 'x-ws' });
    const tcp = await connect(cluster.url, { clientId: 'x-tcp' });
    await ws.subscribeAsync('to/ws', { qos: 1 });
    await tcp.subscribeAsync('to/tcp', { qos: 1 });
    const atWs = nextMessage(ws);
    const atTcp = nextMessage(tcp);
    await tcp.publishAsync('to/ws', 'from tcp', { qos: 1 });
    await ws.publishAsync('to/tcp', 'from ws', { qos: 1 });
    expect(await atWs).toBe('from tcp');
    expect(await atTcp).toBe('from ws');
  });

  it('SIGHUP to the primary: every worker serves the new certificate; a connected mqtts client stays and receives', async () => {
    const served = (): Promise<string> =>
      within(
        new Promise((resolve, reject) => {
          const socket = tlsConnect({ host: '127.0.0.1', port: ports.mqtts, ca: ca.ca }, () => {
            resolve(socket.getPeerCertificate().serialNumber);
            socket.destroy();
          });
          socket.on('error', reject);
        }),
        10_000,
        'a TLS handshake',
      );
    const before = await served();
    const kept = await connect(`mqtts://127.0.0.1:${ports.mqtts}`, { clientId: 'kept-tls' });
    await kept.subscribeAsync('reload/x', { qos: 1 });
    let closed = false;
    kept.on('close', () => (closed = true));

    const renewed = ca.issue('renewed', '127.0.0.1', { server: true, serial: 'c0ffee' });
    copyFileSync(renewed.cert, cert);
    copyFileSync(renewed.key, key);
    expect(readFileSync(cert).equals(readFileSync(renewed.cert))).toBe(true);
    process.kill(cluster.primaryPid, 'SIGHUP');
    await waitFor(() => cluster.logs.filter((l) => l.msg === 'TLS certificates re-read').length >= 2, 'both workers re-reading the certificates', 10_000);
    // Round robin: two handshakes, one per worker.
    expect([await served(), await served()]).toEqual(['C0FFEE', 'C0FFEE']);
    expect(before).not.toBe('C0FFEE');

    const got = nextMessage(kept);
    const publisher = await connect(cluster.url);
    await publisher.publishAsync('reload/x', 'after reload', { qos: 1 });
    expect(await got).toBe('after reload');
    expect(closed).toBe(false);
  });
});
