// Named recipes for the common sizing questions. Each is a set of option defaults;
// flags given on the command line override them.
import type { BenchOptions } from './options.js';

export type RecipeName = 'fan-in' | 'fan-out' | 'pairs' | 'qos1-pairs' | 'latency' | 'connection-storm' | 'idle';

export const RECIPES: Record<RecipeName, { describe: string; defaults: Partial<BenchOptions> }> = {
  'fan-in': { describe: '20 publishers -> 1 subscriber on one topic, flat out', defaults: { publishers: 20, subscribers: 1, topics: 'shared', qos: 0, rate: 0 } },
  'fan-out': { describe: '1 publisher -> 100 subscribers on one topic, flat out', defaults: { publishers: 1, subscribers: 100, topics: 'shared', qos: 0, rate: 0 } },
  pairs: { describe: '50 publisher/subscriber pairs, one topic per pair, flat out', defaults: { publishers: 50, subscribers: 50, topics: 'pairs', qos: 0, rate: 0 } },
  'qos1-pairs': { describe: '50 QoS 1 pairs, at most 10 unacknowledged PUBLISH per publisher', defaults: { publishers: 50, subscribers: 50, topics: 'pairs', qos: 1, rate: 0, inflight: 10 } },
  latency: { describe: '10 pairs at a fixed 1,000 msg/s in total; read the latency', defaults: { publishers: 10, subscribers: 10, topics: 'pairs', qos: 0, rate: 100 } },
  'connection-storm': { describe: 'N clients (default 1,000) connecting as fast as possible', defaults: { publishers: 0, subscribers: 0, idleClients: 1000, ramp: 0, durationSec: 0 } },
  idle: { describe: 'hold N idle connections (default 10,000); broker RSS per connection with --broker-pid', defaults: { publishers: 0, subscribers: 0, idleClients: 10_000, ramp: 2000 } },
};

export function isRecipe(name: string): name is RecipeName {
  return Object.prototype.hasOwnProperty.call(RECIPES, name);
}
