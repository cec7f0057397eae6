// A plain Aedes broker, for comparison runs (scripts/compare.ts).
//   node --import tsx scripts/aedes-server.ts --port P
//   node --import tsx scripts/aedes-server.ts --port P --workers N --redis redis://127.0.0.1:R
//   ... --tls-port P --ws-port P --wss-port P --cert FILE --key FILE   (TLS and WebSocket, as Aedes'
//   README serves them: tls.createServer / ws's createWebSocketStream, path /mqtt)
// The clustered form is how Aedes users scale it: node:cluster workers sharing the port,
// mqemitter-redis as the message bus and aedes-persistence-redis for sessions and retained messages.
// Prints one JSON line containing "listening" when ready (once every worker listens).
import cluster from 'node:cluster';
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { Aedes } from 'aedes';
import { createWebSocketStream, WebSocketServer } from 'ws';

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const port = Number(flag('--port') ?? 1883);
const workers = Number(flag('--workers') ?? 0);
const redisUrl = flag('--redis');
if (!Number.isInteger(port) || port < 0) throw new Error(`--port: bad value ${flag('--port')}`);
if (workers > 0 && !redisUrl) throw new Error('--workers needs --redis redis://host:port');

async function brokerOptions(): Promise<Record<string, unknown>> {
  if (!redisUrl) return {};
  const url = new URL(redisUrl);
  const redis = { host: url.hostname, port: Number(url.port || 6379) };
  // Neither package ships type declarations; import them untyped.
  const { default: mqemitterRedis } = (await import('mqemitter-redis' as string)) as { default: (o: object) => unknown };
  const { default: persistenceRedis } = (await import('aedes-persistence-redis' as string)) as { default: (o: object) => unknown };
  return { mq: mqemitterRedis(redis), persistence: persistenceRedis(redis) };
}

function listen(server: { listen(port: number, host: string, cb: () => void): unknown }, p: number): Promise<void> {
  return new Promise((resolve) => server.listen(p, '127.0.0.1', resolve));
}

/** WebSocket on /mqtt: each connection's stream handed to Aedes. */
function withWebSocket(server: HttpServer, aedes: Aedes): HttpServer {
  const wss = new WebSocketServer({ server, path: '/mqtt' });
  wss.on('connection', (ws) => aedes.handle(createWebSocketStream(ws) as never));
  return server;
}

async function serve(): Promise<void> {
  const aedes = await Aedes.createBroker(await brokerOptions());
  const listening = [listen(createServer(aedes.handle), port)];
  const tlsPort = Number(flag('--tls-port') ?? 0);
  const wsPort = Number(flag('--ws-port') ?? 0);
  const wssPort = Number(flag('--wss-port') ?? 0);
  const certFile = flag('--cert');
  const keyFile = flag('--key');
  const tls = certFile !== undefined && keyFile !== undefined ? { cert: readFileSync(certFile), key: readFileSync(keyFile) } : undefined;
  if ((tlsPort > 0 || wssPort > 0) && tls === undefined) throw new Error('--tls-port/--wss-port need --cert and --key');
  if (tlsPort > 0) listening.push(listen(createTlsServer(tls!, aedes.handle), tlsPort));
  if (wsPort > 0) listening.push(listen(withWebSocket(createHttpServer(), aedes), wsPort));
  if (wssPort > 0) listening.push(listen(withWebSocket(createHttpsServer(tls!) as unknown as HttpServer, aedes), wssPort));
  await Promise.all(listening);
  if (cluster.isWorker) process.send?.('listening');
  else console.log(JSON.stringify({ msg: 'aedes listening', port, pid: process.pid }));
}

if (workers > 0 && cluster.isPrimary) {
  let listening = 0;
  for (let i = 0; i < workers; i++) {
    const worker = cluster.fork();
    worker.on('message', (msg) => {
      if (msg === 'listening' && ++listening === workers) console.log(JSON.stringify({ msg: 'aedes cluster listening', port, workers, pid: process.pid }));
    });
  }
  const stop = (): void => {
    for (const w of Object.values(cluster.workers ?? {})) w?.kill('SIGTERM');
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
} else {
  await serve();
}
