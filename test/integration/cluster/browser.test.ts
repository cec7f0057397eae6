// A browser as a client: a page using mqtt.js (its browser bundle) in Debian's headless Chromium
// (playwright-core) connects over ws and then wss to a 2-worker cluster, and talks to a
// command-line client (mosquitto_sub/mosquitto_pub over TCP) held by the OTHER worker: a message
// from the command line reaches the page, the page's answer reaches the command line.
// What would make it fail: the ws/wss listeners not opened in every worker (the page cannot
// connect, or only on one worker), the WebSocket adapter dropping or splitting frames wrongly,
// the 'mqtt' subprotocol refused (browsers send it), or cross-worker routing broken for
// WebSocket-held sessions.
import { execFile, spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCluster, type TestCluster } from '../../helpers/cluster-harness.js';
import { freePort } from '../../helpers/ports.js';
import { waitFor } from '../../helpers/wait.js';

const run = promisify(execFile);
const MQTT_BUNDLE = fileURLToPath(new URL('../../../node_modules/mqtt/dist/mqtt.min.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'starling-browser-'));

const PAGE = `<!doctype html><meta charset="utf-8"><title>starling browser test</title>
<script src="/mqtt.min.js"></script>
<script>
  window.received = [];
  // Connects, subscribes to browser/to-page, and answers every message on browser/from-page.
  window.start = (url, clientId) => new Promise((resolve, reject) => {
    const client = mqtt.connect(url, { clientId, protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 10000 });
    client.on('connect', () => client.subscribe('browser/to-page', { qos: 1 }, (err) => (err ? reject(String(err)) : resolve('subscribed'))));
    client.on('error', (err) => reject(String(err)));
    client.on('message', (topic, payload) => {
      window.received.push(payload.toString());
      client.publish('browser/from-page', 'echo:' + payload.toString(), { qos: 1 });
    });
    window.clients = [...(window.clients || []), client];
  });
</script>`;

let cluster: TestCluster;
let http: Server;
let httpPort: number;
let wsPort: number;
let wssPort: number;
let browser: Browser;
let page: Page;

async function makeCertificate(): Promise<{ cert: string; key: string }> {
  const cert = join(dir, 'server.crt');
  const key = join(dir, 'server.key');
  await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-keyout', key, '-out', cert]);
  return { cert, key };
}

beforeAll(async () => {
  const { cert, key } = await makeCertificate();
  [wsPort, wssPort, httpPort] = [await freePort(), await freePort(), await freePort()];
  cluster = await startTestCluster({
    workers: 2,
    env: { STARLING_LISTENERS: `ws://127.0.0.1:${wsPort}/mqtt,wss://127.0.0.1:${wssPort}/mqtt`, STARLING_TLS_CERT: cert, STARLING_TLS_KEY: key },
  });
  http = createServer((req, res) => {
    if (req.url === '/mqtt.min.js') {
      res.writeHead(200, { 'content-type': 'text/javascript' });
      res.end(readFileSync(MQTT_BUNDLE));
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(PAGE);
  });
  await new Promise<void>((resolve) => http.listen(httpPort, '127.0.0.1', resolve));
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--ignore-certificate-errors'] });
  const context = await browser.newContext({ ignoreHTTPSErrors: true });
  page = await context.newPage();
  await page.goto(`http://127.0.0.1:${httpPort}/`);
}, 90_000);

afterAll(async () => {
  await browser?.close();
  await new Promise((resolve) => (http ? http.close(resolve) : resolve(undefined)));
  await cluster?.close();
  rmSync(dir, { recursive: true, force: true });
});

/**
 * mosquitto_sub for one message on browser/from-page, on the worker that does NOT hold `other`
 * (reconnected under a new id until round robin puts it there): its output, once it exits (in an
 * object: an async function returning the promise itself would wait for it).
 */
async function subscriberOnOtherWorker(other: string, tag: string): Promise<{ output: Promise<string> }> {
  const pageNode = await cluster.nodeOf(other);
  expect(pageNode).not.toBeNull();
  for (let attempt = 0; attempt < 10; attempt++) {
    const id = `cli-${tag}-${attempt}`;
    const child = spawn('stdbuf', ['-oL', 'mosquitto_sub', '-h', '127.0.0.1', '-p', String(cluster.port), '-i', id, '-t', 'browser/from-page', '-q', '1', '-C', '1', '-d']);
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    const done = new Promise<string>((resolve) => child.on('close', () => resolve(out)));
    await waitFor(() => out.includes('received SUBACK'), `${id} SUBACK`, 10_000);
    if ((await cluster.nodeOf(id)) !== pageNode) return { output: done };
    child.kill();
    await done;
  }
  throw new Error('the command-line client never landed on the other worker');
}

describe('a browser page through a 2-worker cluster', () => {
  it.each([
    ['ws', () => `ws://127.0.0.1:${wsPort}/mqtt`],
    ['wss', () => `wss://127.0.0.1:${wssPort}/mqtt`],
  ])('over %s: command line → page → command line, page and command line on different workers', async (tag, url) => {
    const clientId = `page-${tag}`;
    expect(await page.evaluate(([u, id]) => (globalThis as unknown as { start(u: string, id: string): Promise<string> }).start(u, id), [url(), clientId] as const)).toBe('subscribed');
    const { output: answer } = await subscriberOnOtherWorker(clientId, tag);
    await run('mosquitto_pub', ['-h', '127.0.0.1', '-p', String(cluster.port), '-t', 'browser/to-page', '-q', '1', '-m', `hello-${tag}`]);
    expect(await answer).toContain(`echo:hello-${tag}`);
    expect(await page.evaluate(() => (globalThis as unknown as { received: string[] }).received)).toContain(`hello-${tag}`);
  }, 60_000);
});
