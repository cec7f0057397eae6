// Command-line parsing for `starling bench`. Every bad flag yields one line naming it.
import { availableParallelism } from 'node:os';
import { isRecipe, RECIPES, type RecipeName } from './recipes.js';
import { HEADER_BYTES } from './header.js';

export type TopicLayout = 'shared' | 'pairs' | 'wildcard';

export interface BenchOptions {
  url: string;
  recipe: RecipeName | undefined;
  publishers: number;
  subscribers: number;
  /** Clients that only connect and stay idle (connection-storm, idle). */
  idleClients: number;
  topics: TopicLayout;
  qos: 0 | 1 | 2;
  payloadBytes: number;
  /** Messages per second per publisher; 0 = flat out. */
  rate: number;
  /** Unacknowledged QoS 1/2 PUBLISH per publisher before it waits. */
  inflight: number;
  durationSec: number;
  /** New connections per second over the whole swarm; 0 = as fast as possible. */
  ramp: number;
  drainSec: number;
  clean: boolean;
  username: string | undefined;
  password: string | undefined;
  protocolVersion: 4 | 5;
  workers: number;
  json: boolean;
  /** The broker's pids (with their children), e.g. a cluster's primary and its redis-server. */
  brokerPid: number[] | undefined;
  connectTimeoutSec: number;
  /** mqtts/wss: a CA file the broker's certificate must chain to (a test CA); undefined: the system's. */
  ca: string | undefined;
}

export class OptionError extends Error {}

export const USAGE = `usage: starling bench [recipe] --url mqtt://host:port [options]
recipes: ${Object.entries(RECIPES).map(([n, r]) => `\n  ${n.padEnd(17)} ${r.describe}`).join('')}
options:
  --url URL            broker to test (mqtt://, mqtts://, ws:// or wss://); required
  --ca FILE            mqtts/wss: CA certificate the broker's must chain to (default: the system's)
  --publishers N       publishing clients            --subscribers N   subscribing clients
  --clients N          idle clients (connection-storm, idle)
  --topics L           shared | pairs | wildcard (subscribers use bench/.../+)
  --qos 0|1|2          --payload BYTES (default 64, min ${HEADER_BYTES})
  --rate N             msg/s per publisher, 0 = flat out (default)
  --inflight N         unacknowledged QoS 1/2 messages per publisher (default 10)
  --duration S         seconds of publishing (default 10)   --drain S  grace for late messages (default 2)
  --ramp N             connections per second, 0 = as fast as possible
  --persistent         persistent sessions (clean=false)    --username U --password P
  --protocol 3.1.1|5   MQTT version (default 3.1.1)
  --workers N          worker processes (default: cores available)
  --broker-pid PID[,PID...]  report the broker's RSS (VmRSS of each PID and its children, summed;
                       list a cluster's redis-server too)
  --json               print the summary as JSON`;

function defaults(): BenchOptions {
  return {
    url: '', recipe: undefined, publishers: 10, subscribers: 10, idleClients: 0, topics: 'pairs', qos: 0, payloadBytes: 64,
    rate: 0, inflight: 10, durationSec: 10, ramp: 0, drainSec: 2, clean: true, username: undefined, password: undefined,
    protocolVersion: 4, workers: Math.max(1, availableParallelism()), json: false, brokerPid: undefined, connectTimeoutSec: 30, ca: undefined,
  };
}

function int(flag: string, raw: string | undefined, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const n = Number(raw);
  if (raw === undefined || raw === '' || !Number.isInteger(n) || n < min || n > max) {
    throw new OptionError(`${flag}: expected an integer from ${min} to ${max}, got ${raw === undefined ? 'nothing' : JSON.stringify(raw)}`);
  }
  return n;
}

function num(flag: string, raw: string | undefined, min: number): number {
  const n = Number(raw);
  if (raw === undefined || raw === '' || !Number.isFinite(n) || n < min) throw new OptionError(`${flag}: expected a number >= ${min}, got ${raw === undefined ? 'nothing' : JSON.stringify(raw)}`);
  return n;
}

/** Accepts only mqtt://, mqtts://, ws:// and wss:// with a host: the swarm sends traffic to that address and nowhere else. */
export function validateUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new OptionError(`--url: not a URL: ${JSON.stringify(raw)}`);
  }
  if (!['mqtt:', 'mqtts:', 'ws:', 'wss:'].includes(url.protocol)) throw new OptionError(`--url: scheme must be mqtt://, mqtts://, ws:// or wss://, got ${url.protocol}//`);
  if (!url.hostname) throw new OptionError('--url: missing host');
  return raw;
}

export function parseBenchArgs(argv: string[]): BenchOptions | 'help' {
  const opts = defaults();
  const args = [...argv];
  if (args[0] !== undefined && !args[0].startsWith('-')) {
    const name = args.shift() as string;
    if (!isRecipe(name)) throw new OptionError(`unknown recipe ${JSON.stringify(name)}; expected one of ${Object.keys(RECIPES).join(', ')}`);
    opts.recipe = name;
    Object.assign(opts, RECIPES[name].defaults);
  }
  const durationFromRecipe = opts.durationSec;
  let durationGiven = false;
  while (args.length > 0) {
    const arg = args.shift() as string;
    const [flag, inline] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const value = (): string | undefined => (inline !== undefined ? inline : args.shift());
    switch (flag) {
      case '-h': case '--help': return 'help';
      case '--url': opts.url = validateUrl(value() ?? ''); break;
      case '--ca': {
        const file = value();
        if (file === undefined || file === '') throw new OptionError('--ca: needs a file');
        opts.ca = file;
        break;
      }
      case '--publishers': opts.publishers = int(flag, value(), 0); break;
      case '--subscribers': opts.subscribers = int(flag, value(), 0); break;
      case '--clients': opts.idleClients = int(flag, value(), 0); break;
      case '--topics': {
        const v = value();
        if (v !== 'shared' && v !== 'pairs' && v !== 'wildcard') throw new OptionError(`--topics: expected shared, pairs or wildcard, got ${JSON.stringify(v)}`);
        opts.topics = v;
        break;
      }
      case '--qos': opts.qos = int(flag, value(), 0, 2) as 0 | 1 | 2; break;
      case '--payload': opts.payloadBytes = int(flag, value(), HEADER_BYTES, 256 * 1024 * 1024); break;
      case '--rate': opts.rate = num(flag, value(), 0); break;
      case '--inflight': opts.inflight = int(flag, value(), 1, 65535); break;
      case '--duration': opts.durationSec = num(flag, value(), 0); durationGiven = true; break;
      case '--drain': opts.drainSec = num(flag, value(), 0); break;
      case '--ramp': opts.ramp = num(flag, value(), 0); break;
      case '--persistent': opts.clean = false; break;
      case '--clean': opts.clean = true; break;
      case '--username': opts.username = value(); break;
      case '--password': opts.password = value(); break;
      case '--protocol': {
        const v = value();
        if (v === '3.1.1' || v === '4') opts.protocolVersion = 4;
        else if (v === '5') opts.protocolVersion = 5;
        else throw new OptionError(`--protocol: expected 3.1.1 or 5, got ${JSON.stringify(v)}`);
        break;
      }
      case '--workers': opts.workers = int(flag, value(), 1, 64); break;
      case '--broker-pid': opts.brokerPid = (value() ?? '').split(',').map((pid) => int(flag, pid, 1)); break;
      case '--connect-timeout': opts.connectTimeoutSec = num(flag, value(), 1); break;
      case '--json': opts.json = true; break;
      default: throw new OptionError(`unknown flag ${JSON.stringify(flag)} (see starling bench --help)`);
    }
  }
  if (!opts.url) throw new OptionError('--url: required, e.g. --url mqtt://127.0.0.1:1883');
  if (!durationGiven) opts.durationSec = durationFromRecipe;
  if (opts.topics === 'pairs' && opts.subscribers > 0 && opts.publishers === 0) throw new OptionError('--topics pairs: needs at least one publisher');
  if (opts.publishers + opts.subscribers + opts.idleClients === 0) throw new OptionError('--clients: nothing to run (0 publishers, 0 subscribers, 0 idle clients)');
  return opts;
}
