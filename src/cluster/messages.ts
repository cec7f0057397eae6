// What the primary and its workers say to each other over the node:cluster IPC channel.
// Every message carries `starling` so stray IPC traffic (pm2, other libraries) is ignored.
import type { BrokerConfig } from '../config.js';
import type { Logger } from '../log.js';

/** Worker → primary: the worker's broker accepts connections; nodeId is its id on the bus. */
export interface ReadyMessage {
  starling: 'ready';
  nodeId: string;
  port: number;
}

/**
 * Worker → primary, just before it exits 1: it could not start. `fatal`: a fault no restart
 * fixes (Redis unreachable within --redis-timeout, the port taken or not allowed), so the
 * primary gives up at once instead of re-forking. `reason` is one line for the operator.
 */
export interface StartFailedMessage {
  starling: 'start-failed';
  reason: string;
  fatal: boolean;
}

/** Primary → worker: node nodeId died; recover it (wills, limbo, routes). */
export interface RecoverMessage {
  starling: 'recover';
  nodeId: string;
}

/** Primary → worker: stop accepting, close clients, flush, exit 0. */
export interface ShutdownMessage {
  starling: 'shutdown';
}

/** Worker → primary, when either changed (checked every 100 ms) and at least every second: its open connections and whether it accepts. */
export interface LoadMessage {
  starling: 'load';
  connections: number;
  accepting: boolean;
}

/** Primary → worker: start or stop accepting new connections (cluster/accept-balance.ts). */
export interface AcceptMessage {
  starling: 'accept';
  accept: boolean;
}

/**
 * Primary → worker: the primary got SIGHUP; re-read --password-file and --acl-file (a bad file
 * keeps the old one), and apply `config`, the config the primary read again (config-reload.ts:
 * live keys applied, the others logged as needing a restart). Absent: the config file is now bad
 * (the primary said so), nothing of it changes.
 */
export interface ReloadMessage {
  starling: 'reload';
  config?: BrokerConfig;
}

/** Primary → worker, for --http: say whether you are ready (Redis up) and, with `metrics`, send your series. */
export interface ProbeMessage {
  starling: 'probe';
  id: number;
  metrics: boolean;
}

/** Worker → primary: the answer to probe `id`; metrics as prom-client's getMetricsAsJSON() (the primary sums them). */
export interface ProbeReplyMessage {
  starling: 'probe-reply';
  id: number;
  /** Listening, and its Redis connections up. */
  ready: boolean;
  metrics?: unknown[];
}

/** SIGHUP's fresh read of the config; null after one error line when the file is now bad. */
export type Reread = (log: Logger) => BrokerConfig | null;

export type WorkerToPrimary = ReadyMessage | LoadMessage | StartFailedMessage | ProbeReplyMessage;
export type PrimaryToWorker = RecoverMessage | ShutdownMessage | AcceptMessage | ReloadMessage | ProbeMessage;

export function isStarlingMessage<T extends { starling: string }>(value: unknown): value is T {
  return typeof value === 'object' && value !== null && typeof (value as { starling?: unknown }).starling === 'string';
}
