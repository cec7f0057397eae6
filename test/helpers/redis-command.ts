// One command to one redis-server or redis-sentinel on 127.0.0.1, on a connection of its own.
// The cluster and sentinel helpers poll servers that may have just been killed: no reconnects,
// no offline queue and short timeouts, so a dead server is an error at once, not a hang.
import { Redis } from 'ioredis';

export async function redisCommand(port: number, command: string, ...args: Array<string | number>): Promise<unknown> {
  const conn = new Redis({
    host: '127.0.0.1',
    port,
    lazyConnect: true,
    enableReadyCheck: false,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: 1000,
    commandTimeout: 3000,
  });
  // Errors reach the caller through the rejected promise; the event would only be noise.
  conn.on('error', () => {});
  try {
    await conn.connect();
    return await conn.call(command, ...args);
  } finally {
    conn.disconnect();
  }
}

/** Like redisCommand, but a failure (dead server, error reply) is undefined: for polls. */
export async function tryRedisCommand(port: number, command: string, ...args: Array<string | number>): Promise<unknown> {
  try {
    return await redisCommand(port, command, ...args);
  } catch {
    return undefined;
  }
}

/** One field of an INFO or CLUSTER INFO reply ("name:value" lines); undefined when absent. */
export function infoField(reply: unknown, name: string): string | undefined {
  if (typeof reply !== 'string') return undefined;
  const line = reply.split('\r\n').find((l) => l.startsWith(`${name}:`));
  return line?.slice(name.length + 1);
}
