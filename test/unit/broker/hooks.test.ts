// Hooks: several plugins asked in order (the first refusal decides, a lowered QoS is what the next
// is asked about), answers normalized, failures denied and logged.
// What would make these fail: decide() not stopping at the first refusal or skipping later
// plugins after an async allow; subscribeFrom() letting a hook raise the QoS; verdict() treating
// an answer of the wrong shape (undefined, a Success code) as an allow, or logging it every time;
// budget() not denying a late answer, or clearing nothing (a timer left per call); a sync answer
// wrapped in a promise (the hot path would await).
import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { Logger } from '../../../src/log.js';
import { describe, expect, it } from 'vitest';
import { Hooks, isPromise, type NamedHooks } from '../../../src/broker/hooks/hooks.js';
import type { BrokerHooks, ClientInfo } from '../../../src/broker/hooks/types.js';

const client: ClientInfo = { clientId: 'c1', username: 'u', address: '127.0.0.1', protocolVersion: 5 };
const message = { topic: 't', payload: Buffer.from('x'), qos: 1 as const, retain: false };

function capture(): { lines: Array<Record<string, unknown>>; log: Logger } {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n')) if (l !== '') lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  return { lines, log: pino({ level: 'info' }, stream) };
}

function hooksOf(list: BrokerHooks[], timeoutMs = 1000): { hooks: Hooks; lines: Array<Record<string, unknown>> } {
  const { lines, log } = capture();
  const named: NamedHooks[] = list.map((hooks, i) => ({ name: `p${i}`, hooks }));
  return { hooks: new Hooks(named, timeoutMs, log), lines };
}

describe('Hooks', () => {
  it('synchronous answers stay synchronous; the first refusal decides and later plugins are not asked', () => {
    const asked: string[] = [];
    const { hooks } = hooksOf([
      { authorizePublish: () => (asked.push('a'), true) },
      { authorizePublish: () => (asked.push('b'), { reasonCode: 0x97, reason: 'quota' }) },
      { authorizePublish: () => (asked.push('c'), true) },
    ]);
    const verdict = hooks.authorizePublish(client, message);
    expect(isPromise(verdict)).toBe(false);
    expect(verdict).toEqual({ reasonCode: 0x97, reason: 'quota' });
    expect(asked).toEqual(['a', 'b']);
  });

  it('an async allow goes on to the next plugin; all allowing is null', async () => {
    const asked: string[] = [];
    const { hooks } = hooksOf([{ authorizeDelivery: async () => (asked.push('a'), true) }, {}, { authorizeDelivery: () => (asked.push('c'), true) }]);
    const verdict = hooks.authorizeDelivery(client, message);
    expect(isPromise(verdict)).toBe(true);
    expect(await verdict).toBeNull();
    expect(asked).toEqual(['a', 'c']);
    expect(hooks.has.authorizeDelivery).toBe(true);
    expect(hooks.has.authorizePublish).toBe(false);
  });

  it('authorizeSubscribe: a lower QoS is passed on, a higher one is not granted, a refusal ends it', async () => {
    const seen: number[] = [];
    const { hooks } = hooksOf([
      { authorizeSubscribe: (_c, { qos }) => (seen.push(qos), { qos: 1 }) },
      { authorizeSubscribe: async (_c, { qos }) => (seen.push(qos), { qos: 2 }) },
      { authorizeSubscribe: (_c, { filter, qos }) => (seen.push(qos), filter === 'no' ? false : true) },
    ]);
    expect(await hooks.authorizeSubscribe(client, 'yes', 2)).toBe(1);
    expect(seen).toEqual([2, 1, 1]);
    expect(await hooks.authorizeSubscribe(client, 'no', 2)).toEqual({ reasonCode: 0x87 });
  });

  it('wrong answers deny: undefined, a Success "refusal", a bad QoS; each hook logs it once', () => {
    const { hooks, lines } = hooksOf([{ authorizePublish: () => undefined as unknown as boolean, authorizeSubscribe: () => ({ qos: 7 }) as never }]);
    expect(hooks.authorizePublish(client, message)).toEqual({ reasonCode: 0x87 });
    expect(hooks.authorizePublish(client, message)).toEqual({ reasonCode: 0x87 });
    expect(hooks.authorizeSubscribe(client, 'f', 1)).toEqual({ reasonCode: 0x87 });
    const wrong = lines.filter((l) => String(l.msg).includes('answered neither'));
    expect(wrong.map((l) => l.hook)).toEqual(['authorizePublish', 'authorizeSubscribe']);
    const { hooks: success } = hooksOf([{ authorizePublish: () => ({ reasonCode: 0 }) }]);
    expect(success.authorizePublish(client, message)).toEqual({ reasonCode: 0x87 });
  });

  it('a throw, a rejection and a late answer deny and are logged with the plugin and hook', async () => {
    const { hooks, lines } = hooksOf(
      [
        {
          authenticate: (c) => {
            if (c.username === 'throw') throw new Error('boom');
            if (c.username === 'reject') return Promise.reject(new Error('nope'));
            return new Promise<boolean>((resolve) => setTimeout(() => resolve(true), 200));
          },
        },
      ],
      50,
    );
    expect(hooks.authenticate({ ...client, username: 'throw' }, undefined)).toEqual({ reasonCode: 0x87 });
    expect(await hooks.authenticate({ ...client, username: 'reject' }, undefined)).toEqual({ reasonCode: 0x87 });
    expect(await hooks.authenticate({ ...client, username: 'late' }, undefined)).toEqual({ reasonCode: 0x87 });
    expect(lines.map((l) => [l.plugin, l.hook, l.level])).toEqual([
      ['p0', 'authenticate', 50],
      ['p0', 'authenticate', 50],
      ['p0', 'authenticate', 50],
    ]);
    expect(String(lines[2]!.msg)).toContain('--plugin-timeout');
  });

  it('events reach every plugin; a throwing or rejecting one is logged and does not stop the others', async () => {
    const got: string[] = [];
    const { hooks, lines } = hooksOf([
      {
        connected: () => {
          throw new Error('first fails');
        },
      },
      { connected: (c) => void got.push(c.clientId) },
      { connected: () => Promise.reject(new Error('async fails')) },
    ]);
    hooks.emit('connected', client);
    expect(got).toEqual(['c1']);
    await new Promise((r) => setImmediate(r));
    expect(lines.map((l) => l.plugin)).toEqual(['p0', 'p2']);
  });
});
