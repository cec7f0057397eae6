// Lua scripts defined on a connection and loaded into every server before they are used.
// ioredis sends EVALSHA and, on NOSCRIPT, the whole script again as EVAL once the error is back:
// meanwhile later commands (another script already loaded there) overtake it, so two writes of
// one session could apply out of order. That happens on each new server: every master of a Redis
// Cluster, a promoted replica, a Redis restarted empty. So each script is SCRIPT LOADed on every
// server as its connection is made, ahead of any command on that connection.
import { isCluster, type RedisConn } from './connection.js';

const scriptsOf = new WeakMap<RedisConn, Set<string>>();

/** defineCommand, plus SCRIPT LOAD of lua on every server of redis, now and on each new connection. */
export function defineScript(redis: RedisConn, name: string, definition: { numberOfKeys?: number; lua: string }): void {
  redis.defineCommand(name, definition);
  let scripts = scriptsOf.get(redis);
  if (scripts === undefined) {
    const all = (scripts = new Set());
    scriptsOf.set(redis, all);
    if (isCluster(redis)) redis.on('+node', (node: RedisConn) => loadAll(node, all));
    else redis.on('ready', () => loadAll(redis, all));
  }
  scripts.add(definition.lua);
  const servers = isCluster(redis) ? redis.nodes() : redis.status === 'ready' ? [redis] : [];
  for (const server of servers) server.script('LOAD', definition.lua).catch(() => {});
}

function loadAll(server: RedisConn, scripts: ReadonlySet<string>): void {
  // Not awaited: the commands behind them on this connection wait in line anyway.
  for (const lua of scripts) server.script('LOAD', lua).catch(() => {});
}
