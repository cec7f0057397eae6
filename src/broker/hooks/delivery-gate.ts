// authorizeDelivery between routing and a client's session. A synchronous answer delivers (or
// drops) at once. An answer still to come holds the message, and every later one for the same
// client waits behind it, so a client receives its messages in the order they were routed
// [v3:MQTT-4.6.0-6] [v5:MQTT-4.6.0-5]. While a publish() routes, the answers it leaves pending are
// counted in its Wait: its PUBACK then waits for them and for the store writes they lead to (a
// queued copy for an offline session), as it waits for the writes of synchronous deliveries.
import type { FanOut, Target } from '../outgoing.js';
import type { Message } from '../../store/types.js';
import type { ClientInfo } from './types.js';
import { Pending, type Hooks, type Verdict } from './hooks.js';

interface Held {
  fan: FanOut | null;
  target: Readonly<Target> | null;
  /** Instead of a delivery: what to do once decided (a dead node's replay, queued: queue()). */
  act: ((allowed: boolean) => void) | null;
  /** undefined while the hook has not answered. */
  verdict: Verdict | undefined;
  /** The publish() that routed it, waiting for its answer (null: nobody waits). */
  wait: Wait | null;
}

/** The answers one publish() left pending; `settled` runs when the last comes. */
export class Wait {
  count = 0;
  settled: (() => void) | null = null;
  /** An outer publish() (a publish within a publish) that waits for this one too. */
  parent: Wait | null = null;

  done(): void {
    if (--this.count > 0) return;
    this.settled?.();
    this.parent?.done();
  }

  /** Resolves when every answer counted has come. */
  promise(): Promise<void> {
    return new Promise((resolve) => (this.settled = resolve));
  }
}

export type Deliver = (clientId: string, fan: FanOut, target: Readonly<Target>) => void;

export class DeliveryGate {
  /** Per client, the messages behind an answer still to come, in routing order. */
  private readonly waiting = new Map<string, Held[]>();
  private current: Wait | null = null;
  /** Deliveries the hooks refused (a filter, not a loss: not counted as dropped). */
  denied = 0;

  constructor(
    private readonly hooks: Hooks,
    private readonly clientOf: (clientId: string) => ClientInfo,
    private readonly deliver: Deliver,
  ) {}

  route(clientId: string, fan: FanOut, target: Readonly<Target>): void {
    this.admit(clientId, fan.message, fan, target, null);
  }

  /**
   * A message that goes straight to clientId's store queue (a dead node's replay): `act(allowed)`
   * once decided, in order with the client's other messages.
   */
  queue(clientId: string, message: Message, act: (allowed: boolean) => void): void {
    this.admit(clientId, message, null, null, act);
  }

  /**
   * From now until end(), answers left pending are counted (publish() brackets its routing with
   * both). Returns the Wait of an outer begin(), for end() to restore (a publish within a publish).
   */
  begin(): Wait | null {
    const outer = this.current;
    this.current = new Wait();
    return outer;
  }

  /** The Wait for the answers left pending since begin(); null when every answer was synchronous. */
  end(outer: Wait | null): Wait | null {
    const wait = this.current;
    this.current = outer;
    if (wait === null || wait.count === 0) return null;
    if (outer !== null) {
      outer.count++;
      wait.parent = outer;
    }
    return wait;
  }

  private admit(clientId: string, message: Message, fan: FanOut | null, target: Readonly<Target> | null, act: ((allowed: boolean) => void) | null): void {
    const queue = this.waiting.get(clientId);
    const answer = this.hooks.authorizeDelivery(this.clientOf(clientId), message);
    const pending = answer instanceof Pending;
    if (!pending && queue === undefined) {
      this.decided(clientId, fan, target, act, answer);
      return;
    }
    // Decided later, or behind one that is: the publish() routing it waits either way.
    const wait = this.current;
    if (wait !== null) wait.count++;
    const held: Held = { fan, target, act, verdict: pending ? undefined : answer, wait };
    if (!pending) {
      queue!.push(held);
      return;
    }
    if (queue === undefined) this.waiting.set(clientId, [held]);
    else queue.push(held);
    answer.onSettled((verdict) => {
      held.verdict = verdict;
      this.drain(clientId);
    });
  }

  /** Delivers the client's held messages that are decided, in order, up to the first still undecided. */
  private drain(clientId: string): void {
    const queue = this.waiting.get(clientId);
    if (queue === undefined) return;
    let i = 0;
    for (; i < queue.length; i++) {
      const held = queue[i]!;
      if (held.verdict === undefined) break;
      this.decided(clientId, held.fan, held.target, held.act, held.verdict);
      held.wait?.done();
    }
    if (i === queue.length) this.waiting.delete(clientId);
    else queue.splice(0, i);
  }

  private decided(clientId: string, fan: FanOut | null, target: Readonly<Target> | null, act: ((allowed: boolean) => void) | null, verdict: Verdict): void {
    if (verdict !== null) this.denied++;
    if (act !== null) act(verdict === null);
    else if (verdict === null) this.deliver(clientId, fan!, target!);
  }
}
