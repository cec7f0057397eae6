// Plugins from module paths (--plugins): imported, made (a factory is called with its context),
// and checked, so that a typo in a hook's name stops the start instead of silently allowing.
import { pathToFileURL } from 'node:url';
import type { Logger } from '../../log.js';
import type { BrokerConfig } from '../../config.js';
import type { NamedHooks } from './hooks.js';
import type { BrokerHooks, StarlingPlugin } from './types.js';

/** A plugin that cannot be loaded or is not a plugin: one line naming the module. */
export class PluginError extends Error {}

const HOOK_NAMES: ReadonlySet<string> = new Set([
  'authenticate',
  'authorizePublish',
  'authorizeSubscribe',
  'authorizeDelivery',
  'connected',
  'disconnected',
  'published',
  'subscribed',
  'close',
]);

/** Loads each module in order; its hooks are asked in that order. */
export async function loadPlugins(paths: readonly string[], config: Readonly<BrokerConfig>, log: Logger): Promise<NamedHooks[]> {
  const loaded: NamedHooks[] = [];
  for (const path of paths) {
    let module: { default?: unknown; plugin?: unknown };
    try {
      module = (await import(pathToFileURL(path).href)) as typeof module;
    } catch (err) {
      throw new PluginError(`--plugins: cannot load ${path}: ${(err as Error).message.split('\n')[0]}`);
    }
    const exported = module.default ?? module.plugin;
    if (exported === undefined) throw new PluginError(`--plugins: ${path} exports no plugin (a default export of hooks, or of a function that returns them)`);
    loaded.push({ name: path, hooks: await makeHooks(path, exported as StarlingPlugin, config, log) });
  }
  return loaded;
}

/** Hooks from a plugin (calling a factory), checked; `name` is how errors and logs call it. */
export async function makeHooks(name: string, plugin: StarlingPlugin, config: Readonly<BrokerConfig>, log: Logger): Promise<BrokerHooks> {
  let hooks: unknown = plugin;
  if (typeof plugin === 'function') {
    try {
      hooks = await plugin({ config, log: log.child({ plugin: name }) });
    } catch (err) {
      throw new PluginError(`plugin ${name}: its factory failed: ${(err as Error).message}`);
    }
  }
  if (hooks === null || typeof hooks !== 'object') throw new PluginError(`plugin ${name}: not an object of hooks (${typeof hooks})`);
  for (const [key, value] of Object.entries(hooks)) {
    if (!HOOK_NAMES.has(key)) throw new PluginError(`plugin ${name}: unknown hook '${key}' (hooks: ${[...HOOK_NAMES].join(', ')})`);
    if (typeof value !== 'function') throw new PluginError(`plugin ${name}: hook '${key}' is not a function`);
  }
  return hooks as BrokerHooks;
}
