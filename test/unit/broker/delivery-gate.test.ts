// DeliveryGate: a client's messages leave in routing order whatever order the hook answers in;
// refused ones are skipped (and counted); replayed ones (queue()) are told their verdict in the
// same order; publish() collects the pending answers it caused.
// What would make these fail: route() delivering a synchronous answer while earlier messages of
// the same client still wait (overtaking), drain() stopping at a refused message or not at an
// undecided one, queue() not calling act for a refusal (recovery would wait for ever), begin()/end()
// losing an outer publish's answers.
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/log.js';
import { Hooks } from '../../../src/broker/hooks/hooks.js';
import { DeliveryGate } from '../../../src/broker/hooks/delivery-gate.js';
import { FanOut } from '../../../src/broker/outgoing.js';
import type { ClientInfo } from '../../../src/broker/hooks/types.js';
import type { Message } from '../../../src/store/types.js';

const target = { qos: 1, rap: false, subIds: undefined };

function message(topic: string): Message {
  return { topic, payload: Buffer.from(topic), qos: 1, retain: false };
}

/** A hook that answers each topic when the test says (release), allowing topics without "no". */
function controlled(): { hooks: Hooks; release(topic: string): Promise<void>; pending: Map<string, () => void> } {
  const pending = new Map<string, () => void>();
  const hooks = new Hooks(
    [
      {
        name: 'test',
        hooks: {
          authorizeDelivery: (_client, m) => {
            if (m.topic.startsWith('sync')) return !m.topic.includes('no');
            return new Promise<boolean>((resolve) => pending.set(m.topic, () => resolve(!m.topic.includes('no'))));
          },
        },
      },
    ],
    5000,
    silentLogger(),
  );
  return {
    hooks,
    pending,
    async release(topic) {
      pending.get(topic)!();
      // The answer reaches the gate through two promise reactions.
      for (let i = 0; i < 5; i++) await Promise.resolve();
    },
  };
}

const clientOf = (clientId: string): ClientInfo => ({ clientId, username: undefined, address: undefined, protocolVersion: 5 });

describe('DeliveryGate', () => {
  it('delivers in routing order per client, whatever order the answers come in; other clients are not held', async () => {
    const { hooks, release } = controlled();
    const got: string[] = [];
    const gate = new DeliveryGate(hooks, clientOf, (clientId, fan) => got.push(`${clientId}:${fan.message.topic}`));
    gate.route('a', new FanOut(message('async-1'), Date.now()), target);
    gate.route('a', new FanOut(message('sync-2'), Date.now()), target);
    gate.route('a', new FanOut(message('async-no-3'), Date.now()), target);
    gate.route('a', new FanOut(message('async-4'), Date.now()), target);
    gate.route('b', new FanOut(message('sync-b'), Date.now()), target);
    expect(got).toEqual(['b:sync-b']);
    await release('async-4');
    await release('async-no-3');
    expect(got).toEqual(['b:sync-b']); // async-1 still undecided: nothing for a may leave
    await release('async-1');
    expect(got).toEqual(['b:sync-b', 'a:async-1', 'a:sync-2', 'a:async-4']);
    expect(gate.denied).toBe(1);
    gate.route('a', new FanOut(message('sync-5'), Date.now()), target);
    expect(got.at(-1)).toBe('a:sync-5'); // the queue emptied: synchronous again
  });

  it('queue(): replayed messages are told their verdict in order, refusals included', async () => {
    const { hooks, release } = controlled();
    const told: string[] = [];
    const gate = new DeliveryGate(hooks, clientOf, () => {
      throw new Error('a replayed message is not delivered directly');
    });
    gate.queue('a', message('async-1'), (allowed) => told.push(`1:${allowed}`));
    gate.queue('a', message('sync-no-2'), (allowed) => told.push(`2:${allowed}`));
    gate.queue('a', message('sync-3'), (allowed) => told.push(`3:${allowed}`));
    expect(told).toEqual([]);
    await release('async-1');
    expect(told).toEqual(['1:true', '2:false', '3:true']);
  });

  it('begin()/end(): publish() waits for the answers its routing left pending and what queued behind them, nested publishes included', async () => {
    const { hooks, release } = controlled();
    const gate = new DeliveryGate(hooks, clientOf, () => undefined);
    const outer = gate.begin();
    expect(outer).toBeNull();
    gate.route('a', new FanOut(message('async-x'), Date.now()), target);
    const inner = gate.begin();
    gate.route('b', new FanOut(message('async-y'), Date.now()), target);
    gate.route('b', new FanOut(message('sync-z'), Date.now()), target); // behind async-y: waited for too
    gate.route('c', new FanOut(message('sync-c'), Date.now()), target); // delivered at once: not waited for
    const innerWait = gate.end(inner)!;
    expect(innerWait.count).toBe(2);
    const outerWait = gate.end(outer)!;
    expect(outerWait.count).toBe(2); // its own, and the nested publish's as one
    let innerDone = false;
    let outerDone = false;
    void innerWait.promise().then(() => (innerDone = true));
    void outerWait.promise().then(() => (outerDone = true));
    expect(gate.end(gate.begin())).toBeNull(); // nothing pending: nothing to wait for
    await release('async-y');
    expect(innerDone).toBe(true);
    expect(outerDone).toBe(false);
    await release('async-x');
    expect(outerDone).toBe(true);
  });
});
