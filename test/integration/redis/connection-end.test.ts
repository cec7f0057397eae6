// ioredis ends a client for good ('end') when one reconnect attempt fails inside its connector.
// Sentinel's failover detector does exactly that when it disconnects the connector while a
// reconnect is connecting (the harness's Sentinel test lost its client that way in CI). A client
// made by createRedisClient connects again; one we close stays closed.
// Reproduced here with a real redis-server: the connector is disconnected as the reconnect begins,
// which is what ioredis' FailoverDetector does.
// Fails if connectAgainWhenEnded is removed (the client stays 'end'), or if it also reconnects a
// client we closed.
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createRedisClient, waitReady } from '../../../src/store/redis/connection.js';
import { startRedisServer, type RedisServerHandle } from '../../helpers/redis-server.js';
import { waitFor } from '../../helpers/wait.js';

let server: RedisServerHandle;
beforeAll(async () => {
  server = await startRedisServer();
});
afterAll(() => server?.stop());

/** Makes the client's next reconnect attempt fail inside its connector, as the failover detector does. */
function failNextConnect(client: Redis): Promise<void> {
  const ended = new Promise<void>((resolve) => client.once('end', () => resolve()));
  client.once('connecting', () => (client as unknown as { connector: { disconnect(): void } }).connector.disconnect());
  client.disconnect(true);
  return ended;
}

it('a client ioredis ended after a failed reconnect attempt is connected again and works', async () => {
  const client = createRedisClient(server.url, 'end-test', { maxBackoffMs: 100 }) as Redis;
  try {
    await waitReady(client, 5000);
    await failNextConnect(client);
    await waitFor(() => client.status === 'ready', 'the client connected again', 10_000);
    expect(await client.ping()).toBe('PONG');
  } finally {
    client.disconnect();
  }
});

it('a client we closed is not connected again', async () => {
  const client = createRedisClient(server.url, 'end-test-closed', { maxBackoffMs: 50 }) as Redis;
  await waitReady(client, 5000);
  const ended = new Promise<void>((resolve) => client.once('end', () => resolve()));
  await client.quit();
  await ended;
  // Several retry delays later: still closed.
  const reconnected = new Promise<boolean>((resolve) => {
    client.once('connecting', () => resolve(true));
    setTimeout(() => resolve(false), 500);
  });
  expect(await reconnected).toBe(false);
  expect(client.status).toBe('end');
});
