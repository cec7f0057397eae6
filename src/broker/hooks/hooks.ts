// The broker's side of the plugin API: the hooks of every plugin, asked in order, each answer
// normalized to a Verdict. Several plugins must all allow (the first refusal decides). A hook's
// answer that is not a promise is used at once (no promise, no timer: the hot path stays
// synchronous); a promise is raced against --plugin-timeout. A throw, a rejection, a timeout or an
// answer that is not a decision denies, and is logged (an answer of the wrong shape once per hook).
import type { Logger } from '../../log.js';
import { ReasonCode } from '../../protocol/index.js';
import type { BrokerHooks, ClientInfo, Decision, MaybePromise, Refusal } from './types.js';

/** null: allowed; otherwise the refusal. */
export type Verdict = Refusal | null;
/** A subscription: the QoS granted, or the refusal. */
export type SubscribeVerdict = number | Refusal;

export interface NamedHooks {
  /** For logs: the plugin's module path, or "hooks" for hooks given to startBroker. */
  name: string;
  hooks: BrokerHooks;
}

type DecisionHook = 'authenticate' | 'authorizePublish' | 'authorizeDelivery';
type EventHook = 'connected' | 'disconnected' | 'published' | 'subscribed';

const NOT_AUTHORIZED: Refusal = Object.freeze({ reasonCode: ReasonCode.NotAuthorized });

export class Hooks {
  /** Whether any plugin has the hook: the broker skips the call (and its arguments) otherwise. */
  readonly has: Readonly<Record<DecisionHook | EventHook | 'authorizeSubscribe', boolean>>;
  private readonly wrongShape = new Set<string>();
  private readonly clock: AnswerClock;

  constructor(
    private readonly plugins: readonly NamedHooks[],
    private readonly timeoutMs: number,
    private readonly log: Logger,
  ) {
    this.clock = new AnswerClock();
    const has = (name: keyof BrokerHooks): boolean => plugins.some((p) => typeof p.hooks[name] === 'function');
    this.has = {
      authenticate: has('authenticate'),
      authorizePublish: has('authorizePublish'),
      authorizeSubscribe: has('authorizeSubscribe'),
      authorizeDelivery: has('authorizeDelivery'),
      connected: has('connected'),
      disconnected: has('disconnected'),
      published: has('published'),
      subscribed: has('subscribed'),
    };
  }

  get size(): number {
    return this.plugins.length;
  }

  authenticate(client: ClientInfo, password: Buffer | undefined): MaybePromise<Verdict> {
    return this.decide('authenticate', client, { password });
  }

  authorizePublish(client: ClientInfo, message: object): MaybePromise<Verdict> {
    return this.decide('authorizePublish', client, message);
  }

  authorizeDelivery(client: ClientInfo, message: object): MaybePromise<Verdict> {
    return this.decide('authorizeDelivery', client, message);
  }

  /** Every plugin's answer in turn; a lower QoS granted by one is what the next is asked about. */
  authorizeSubscribe(client: ClientInfo, filter: string, qos: number): MaybePromise<SubscribeVerdict> {
    return this.subscribeFrom(0, client, filter, qos);
  }

  private subscribeFrom(start: number, client: ClientInfo, filter: string, qos: number): MaybePromise<SubscribeVerdict> {
    for (let i = start; i < this.plugins.length; i++) {
      const plugin = this.plugins[i]!;
      const hook = plugin.hooks.authorizeSubscribe;
      if (hook === undefined) continue;
      const answer = this.call(plugin, 'authorizeSubscribe', () => hook.call(plugin.hooks, client, { filter, qos: qos as 0 | 1 | 2 }));
      const next = (a: unknown): MaybePromise<SubscribeVerdict> => {
        const verdict = this.subscribeVerdict(plugin, a, qos);
        return typeof verdict !== 'number' ? verdict : this.subscribeFrom(i + 1, client, filter, verdict);
      };
      if (isPromise(answer)) return this.budget(plugin, 'authorizeSubscribe', answer, next);
      return next(answer);
    }
    return qos;
  }

  private decide(name: DecisionHook, client: ClientInfo, arg: object, start = 0): MaybePromise<Verdict> {
    for (let i = start; i < this.plugins.length; i++) {
      const plugin = this.plugins[i]!;
      const hook = plugin.hooks[name] as ((c: ClientInfo, a: object) => MaybePromise<Decision>) | undefined;
      if (hook === undefined) continue;
      const answer = this.call(plugin, name, () => hook.call(plugin.hooks, client, arg));
      if (isPromise(answer)) {
        return this.budget(plugin, name, answer, (a) => {
          const verdict = this.verdict(plugin, name, a);
          return verdict !== null ? verdict : this.decide(name, client, arg, i + 1);
        });
      }
      const verdict = this.verdict(plugin, name, answer);
      if (verdict !== null) return verdict;
    }
    return null;
  }

  /** Tells every plugin with the event; never throws, never waits. */
  emit(name: 'connected', client: ClientInfo): void;
  emit(name: 'disconnected', client: ClientInfo, info: { reason: string }): void;
  emit(name: 'published', client: ClientInfo, message: object): void;
  emit(name: 'subscribed', client: ClientInfo, subscriptions: readonly object[]): void;
  emit(name: EventHook, client: ClientInfo, arg?: object): void {
    for (const plugin of this.plugins) {
      const hook = plugin.hooks[name] as ((c: ClientInfo, a?: object) => unknown) | undefined;
      if (hook === undefined) continue;
      try {
        const result = hook.call(plugin.hooks, client, arg);
        if (isPromise(result)) Promise.resolve(result).catch((err: unknown) => this.failed(plugin, name, err));
      } catch (err) {
        this.failed(plugin, name, err);
      }
    }
  }

  /** The plugins' close hooks, each within the time budget; failures are logged. */
  async close(): Promise<void> {
    await Promise.all(
      this.plugins.map(async (plugin) => {
        const close = plugin.hooks.close;
        if (close === undefined) return;
        try {
          const result = close.call(plugin.hooks);
          if (isPromise(result)) await this.budget(plugin, 'close', result, () => undefined);
        } catch (err) {
          this.failed(plugin, 'close', err);
        }
      }),
    );
  }

  /** A hook's answer, or the thrown error turned into a refusal. */
  private call(plugin: NamedHooks, name: string, fn: () => unknown): unknown {
    try {
      return fn();
    } catch (err) {
      this.failed(plugin, name, err);
      return NOT_AUTHORIZED;
    }
  }

  /**
   * `next` of the promise's answer, or of a refusal when it rejects or outlasts the budget. One
   * promise per call and no timer of its own (AnswerClock): this is paid per message by an async hook.
   */
  private budget<T>(plugin: NamedHooks, name: string, answer: PromiseLike<unknown>, next: (answer: unknown) => MaybePromise<T>): Promise<T> {
    return new Promise<T>((resolve) => {
      const waiting: Waiting = {
        deadline: Date.now() + this.timeoutMs,
        settled: false,
        expire: () => {
          this.log.error({ plugin: plugin.name, hook: name, timeoutMs: this.timeoutMs }, `plugin hook ${name} did not answer within --plugin-timeout: denied`);
          resolve(next(NOT_AUTHORIZED));
        },
      };
      this.clock.add(waiting);
      answer.then(
        (a) => {
          if (waiting.settled) return;
          waiting.settled = true;
          resolve(next(a));
        },
        (err: unknown) => {
          if (waiting.settled) return;
          waiting.settled = true;
          this.failed(plugin, name, err);
          resolve(next(NOT_AUTHORIZED));
        },
      );
    });
  }

  private failed(plugin: NamedHooks, name: string, err: unknown): void {
    this.log.error({ plugin: plugin.name, hook: name, err: err instanceof Error ? err.message : String(err) }, `plugin hook ${name} failed${name.startsWith('auth') ? ': denied' : ''}`);
  }

  private verdict(plugin: NamedHooks, name: string, answer: unknown): Verdict {
    if (answer === true) return null;
    if (answer === false) return NOT_AUTHORIZED;
    if (isRefusal(answer)) return answer;
    this.wrongAnswer(plugin, name, answer);
    return NOT_AUTHORIZED;
  }

  private subscribeVerdict(plugin: NamedHooks, answer: unknown, asked: number): SubscribeVerdict {
    if (answer !== null && typeof answer === 'object' && 'qos' in answer) {
      const qos = (answer as { qos: unknown }).qos;
      // Lower only: a hook cannot grant more than was asked (or than --max-qos allows).
      if (qos === 0 || qos === 1 || qos === 2) return qos < asked ? qos : asked;
      this.wrongAnswer(plugin, 'authorizeSubscribe', answer);
      return NOT_AUTHORIZED;
    }
    const verdict = this.verdict(plugin, 'authorizeSubscribe', answer);
    return verdict === null ? asked : verdict;
  }

  private wrongAnswer(plugin: NamedHooks, name: string, answer: unknown): void {
    const key = `${plugin.name}\0${name}`;
    if (this.wrongShape.has(key)) return;
    this.wrongShape.add(key);
    this.log.error({ plugin: plugin.name, hook: name, answer: String(answer) }, `plugin hook ${name} answered neither true, false nor { reasonCode }: denied (said once)`);
  }
}

/** An answer awaited: settled by the answer, or expired by the clock at its deadline. */
interface Waiting {
  deadline: number;
  settled: boolean;
  expire(): void;
}

/**
 * One timer for every answer awaited. Every call has the same budget, so deadlines come in the order
 * calls were made: a FIFO whose head is the next to expire. Answers that came are dropped from the
 * head as new calls arrive (most answer within microseconds), so the queue stays short.
 */
class AnswerClock {
  private queue: Array<Waiting | undefined> = [];
  private head = 0;
  private timer: NodeJS.Timeout | null = null;

  add(waiting: Waiting): void {
    this.dropSettled();
    this.queue.push(waiting);
    if (this.timer === null) this.arm();
  }

  private dropSettled(): void {
    const queue = this.queue;
    while (this.head < queue.length && queue[this.head]!.settled) queue[this.head++] = undefined;
    if (this.head === queue.length) {
      queue.length = 0;
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > queue.length) {
      this.queue = queue.slice(this.head);
      this.head = 0;
    }
  }

  private arm(): void {
    const next = this.queue[this.head];
    if (next === undefined) return;
    this.timer = setTimeout(this.fire, Math.max(0, next.deadline - Date.now()));
    // A hook still thinking does not keep the process alive.
    this.timer.unref();
  }

  private readonly fire = (): void => {
    this.timer = null;
    const now = Date.now();
    this.dropSettled();
    while (this.head < this.queue.length) {
      const waiting = this.queue[this.head]!;
      if (!waiting.settled) {
        if (waiting.deadline > now) break;
        waiting.settled = true;
        waiting.expire();
      }
      this.queue[this.head++] = undefined;
    }
    this.dropSettled();
    this.arm();
  };
}

function isRefusal(answer: unknown): answer is Refusal {
  if (answer === null || typeof answer !== 'object') return false;
  const code = (answer as Refusal).reasonCode;
  // A refusal is a failure code; "Success" here would be a grant in disguise.
  return Number.isInteger(code) && code >= 0x80 && code <= 0xff;
}

/** A promise or any thenable (only `then` is used). */
export function isPromise(value: unknown): value is Promise<unknown> {
  return value !== null && typeof value === 'object' && typeof (value as { then?: unknown }).then === 'function';
}
