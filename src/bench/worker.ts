// A worker process of the swarm: runs its share of clients and reports counters over IPC.
// The coordinator alone decides when to stop, so Ctrl-C on the terminal is ignored here.
import type { FromWorker, ToWorker } from './ipc.js';
import { SwarmClients } from './swarm-clients.js';
import { encodeHistogram } from './histogram.js';

const PROGRESS_MS = 500;
/** After publishing stops the coordinator is waiting on the drain, so report more often. */
const DRAIN_PROGRESS_MS = 50;

function send(msg: FromWorker): void {
  process.send?.(msg);
}

let swarm: SwarmClients | undefined;
let progressTimer: NodeJS.Timeout | undefined;
let cpuStart = process.cpuUsage();
let cpuEnd: NodeJS.CpuUsage | undefined;
let windowStartMs = performance.now();
let windowEndMs = 0;

process.on('SIGINT', () => {});
process.on('disconnect', () => process.exit(0));

process.on('message', (msg: ToWorker) => {
  switch (msg.type) {
    case 'init': {
      swarm = new SwarmClients(msg.opts);
      progressTimer = setInterval(() => send({ type: 'progress', counters: swarm!.counters }), PROGRESS_MS);
      void swarm.connectAll(msg.clients, msg.rampPerSec).then(() => {
        // Without a publishing phase the measured window is the connect phase.
        if (!cpuEnd) { cpuEnd = process.cpuUsage(cpuStart); windowEndMs = performance.now(); }
        send({ type: 'connected', counters: swarm!.counters });
      });
      break;
    }
    case 'start':
      cpuStart = process.cpuUsage();
      windowStartMs = performance.now();
      cpuEnd = undefined;
      swarm?.startPublishing();
      break;
    case 'stop':
      swarm?.stopPublishing();
      cpuEnd = process.cpuUsage(cpuStart);
      windowEndMs = performance.now();
      if (swarm) {
        send({ type: 'stopped', counters: swarm.counters });
        if (progressTimer) clearInterval(progressTimer);
        progressTimer = setInterval(() => send({ type: 'progress', counters: swarm!.counters }), DRAIN_PROGRESS_MS);
      }
      break;
    case 'report': {
      if (progressTimer) clearInterval(progressTimer);
      swarm?.stopPublishing();
      if (!cpuEnd) { cpuEnd = process.cpuUsage(cpuStart); windowEndMs = performance.now(); }
      if (!swarm) return;
      send({
        type: 'final', counters: swarm.counters, latency: encodeHistogram(swarm.latency), connectLatency: encodeHistogram(swarm.connectLatency),
        cpuUs: cpuEnd.user + cpuEnd.system, cpuWindowMs: windowEndMs - windowStartMs,
      });
      break;
    }
    case 'exit':
      void (swarm ? swarm.closeAll(2000) : Promise.resolve()).then(() => process.exit(0));
      break;
  }
});
