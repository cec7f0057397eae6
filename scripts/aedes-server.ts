// A plain Aedes broker, for comparison runs (scripts/compare.ts).
//   node --import tsx scripts/aedes-server.ts --port P
//   node --import tsx scripts/aedes-server.ts --port P --workers N --redis redis://127.0.0.1:R
// The clustered form is how Aedes users scale it: node:cluster workers sharing the port,
// mqemitter-redis as the message bus and aedes-persistence-redis for sessions and retained messages.
// Prints one JSON line containing "listening" when ready (once every worker listens).
import cluster from 'node:cluster';
import { createServer } from 'node:net';
import { Aedes } from 'aedes';

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

async function serve(): Promise<void> {
  const aedes = await Aedes.createBroker(await brokerOptions());
  const server = createServer(aedes.handle);
  server.listen(port, '127.0.0.1', () => {
    if (cluster.isWorker) process.send?.('listening');
    else console.log(JSON.stringify({ msg: 'aedes listening', port, pid: process.pid }));
  });
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
