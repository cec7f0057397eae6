import { pino } from 'pino';
import { createRedisBackend } from '../src/store/redis/index.js';
import { startRedisCluster } from './helpers/redis-cluster.js';
const rc = await startRedisCluster({ masters: 3, replicasPerMaster: 2 });
const target = { kind: 'cluster' as const, nodes: rc.seeds };
const logger = pino({ level: 'info' });
const a = await createRedisBackend({ target, prefix: 'd:', nodeId: 'A', logger });
const b = await createRedisBackend({ target, prefix: 'd:', nodeId: 'B', logger });
const got = new Set<number>();
a.bus.onMessage((m) => got.add(Number(m.payload.toString())));
await a.bus.addRoute('t/#');
const acked: number[] = [];
let seq = 0;
const timer = setInterval(() => {
  for (let i = 0; i < 2; i++) {
    const n = seq++;
    b.bus.publish({ topic: 't/x', payload: Buffer.from(String(n)), qos: 1, retain: false }).then(() => acked.push(n), () => {});
  }
}, 10);
const chanPort = await rc.masterOfKey(a.keys.nodeChannel('A'));
const ctl = await rc.masterOfKey(a.keys.nodes);
const victim = process.env.VICTIM === 'chan' ? chanPort : (await rc.masters()).map((m) => m.port).find((p) => p !== chanPort && p !== ctl) ?? (await rc.masters())[0]!.port;
console.log('channel on', chanPort, 'control on', ctl, 'killing', victim);
await new Promise((r) => setTimeout(r, 1000));
rc.killNode(victim);
const p = await rc.waitForPromotion(victim);
console.log('promoted after kill');
await new Promise((r) => setTimeout(r, 4000));
clearInterval(timer);
await new Promise((r) => setTimeout(r, 2000));
const missing = acked.filter((n) => !got.has(n));
console.log('sent', seq, 'acked', acked.length, 'got', got.size, 'missing', missing.length, missing.slice(0, 10), missing.slice(-3));
await a.close(); await b.close(); await rc.stop(); process.exit(0);
