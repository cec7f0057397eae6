// The broker's side of the plugin API: the hooks of every plugin, asked in order, each answer
// normalized to a Verdict. Several plugins must all allow (the first refusal decides). A hook's
// answer that is not a promise is used at once (no promise, no timer: the hot path stays
// synchronous); a promise becomes a Pending (pending.ts) that --plugin-timeout may expire. A throw, a rejection, a timeout or an
// answer that is not a decision denies, and is logged (an answer of the wrong shape once per hook).
import type { Logger } from '../../log.js';
import { ReasonCode } from '../../protocol/index.js';
import type { BrokerHooks, ClientInfo, Decision, MaybePromise, Refusal } from './types.js';
import { AnswerClock, Pending } from './pending.js';

export { Pending } from './pending.js';
/** An answer now, or one to come. */
export type MaybePending<T> = T | Pending<T>;

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

  authenticate(client: ClientInfo, password: Buffer | undefined): MaybePending<Verdict> {
    return this.decide('authenticate', client, { password });
  }

  authorizePublish(client: ClientInfo, message: object): MaybePending<Verdict> {
    return this.decide('authorizePublish', client, message);
  }

  authorizeDelivery(client: ClientInfo, message: object): MaybePending<Verdict> {
    return this.decide('authorizeDelivery', client, message);
  }

  /** Every plugin's answer in turn; a lower QoS granted by one is what the next is asked about. */
  authorizeSubscribe(client: ClientInfo, filter: string, qos: number): MaybePending<SubscribeVerdict> {
    return this.subscribeFrom(0, client, filter, qos);
  }

  private subscribeFrom(start: number, client: ClientInfo, filter: string, qos: number): MaybePending<SubscribeVerdict> {
    for (let i = start; i < this.plugins.length; i++) {
      const plugin = this.plugins[i]!;
      const hook = plugin.hooks.authorizeSubscribe;
      if (hook === undefined) continue;
      const answer = this.call(plugin, 'authorizeSubscribe', () => hook.call(plugin.hooks, client, { filter, qos: qos as 0 | 1 | 2 }));
      const next = (a: unknown): MaybePending<SubscribeVerdict> => {
        const verdict = this.subscribeVerdict(plugin, a, qos);
        return typeof verdict !== 'number' ? verdict : this.subscribeFrom(i + 1, client, filter, verdict);
      };
      if (isPromise(answer)) return this.budget(plugin, 'authorizeSubscribe', answer, next);
      return next(answer);
    }
    return qos;
  }

  private decide(name: DecisionHook, client: ClientInfo, arg: object, start = 0): MaybePending<Verdict> {
    for (let i = start; i < this.plugins.length; i++) {
      const plugin = this.plugins[i]!;
      const hook = plugin.hooks[name] as ((c: ClientInfo, a: object) => MaybePromise<Decision>) | undefined;
      if (hook === undefined) continue;
      // Inline, not through call(): a closure per delivery is what an authorizeDelivery hook would cost.
      let answer: unknown;
      try {
        answer = hook.call(plugin.hooks, client, arg);
      } catch (err) {
        this.failed(plugin, name, err);
        return NOT_AUTHORIZED;
      }
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
   * `next` of the promise's answer, or of a refusal when it rejects or outlasts the budget: a
   * Pending, not a promise, and no timer of its own (AnswerClock). An async hook pays this per call.
   */
  private budget<T>(plugin: NamedHooks, name: string, answer: PromiseLike<unknown>, next: (answer: unknown) => T | Pending<T>): Pending<T> {
    const pending = new Pending<T>(Date.now() + this.timeoutMs, () => {
      this.log.error({ plugin: plugin.name, hook: name, timeoutMs: this.timeoutMs }, `plugin hook ${name} did not answer within --plugin-timeout: denied`);
      return next(NOT_AUTHORIZED);
    });
    this.clock.add(pending as Pending<unknown>);
    answer.then(
      (a) => {
        if (!pending.answered) pending.answer(next(a));
      },
      (err: unknown) => {
        if (pending.answered) return;
        this.failed(plugin, name, err);
        pending.answer(next(NOT_AUTHORIZED));
      },
    );
    return pending;
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
