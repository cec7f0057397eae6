// The clients one worker process runs: connect (at the ramp rate), subscribe, publish, count.
import { readFileSync } from 'node:fs';
import mqtt, { type MqttClient } from 'mqtt';
import type { BenchOptions } from './options.js';
import type { ClientSpec, PublisherSpec } from './layout.js';
import { emptyCounters, type WorkerCounters } from './ipc.js';
import { decodePayload, encodePayload, wallClockMs } from './header.js';
import { newHistogram, type Histogram } from './histogram.js';
import { SeenSet } from './seen-set.js';

interface Publisher { spec: PublisherSpec; client: MqttClient; seq: number; outstanding: number; pumping: boolean }

/** At most this many PUBLISH per publisher per event-loop turn, so flat-out QoS 0 still yields. */
const BATCH = 64;
const RATE_TICK_MS = 10;

export class SwarmClients {
  readonly counters: WorkerCounters = emptyCounters();
  readonly latency: Histogram = newHistogram();
  readonly connectLatency: Histogram = newHistogram();
  private readonly clients: MqttClient[] = [];
  private readonly publishers: Publisher[] = [];
  private readonly seen = new Map<string, Map<number, SeenSet>>();
  private publishing = false;
  private closing = false;
  private publishStartMs = 0;
  private rateTimer: NodeJS.Timeout | undefined;

  /** --ca, read once for every client of this worker. */
  private readonly ca: Buffer | undefined;

  constructor(private readonly opts: BenchOptions) {
    this.ca = opts.ca === undefined ? undefined : readFileSync(opts.ca);
  }

  /** Connects every client (subscribers subscribed) and resolves once each has succeeded or failed. */
  async connectAll(specs: ClientSpec[], rampPerSec: number): Promise<void> {
    this.counters.firstConnectStartMs = wallClockMs();
    const pending: Promise<void>[] = [];
    for (let k = 0; k < specs.length; k++) {
      if (rampPerSec > 0) {
        const due = this.counters.firstConnectStartMs + (k * 1000) / rampPerSec;
        const wait = due - wallClockMs();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      } else if (k % 200 === 199) {
        await new Promise((r) => setImmediate(r));
      }
      if (this.closing) break;
      pending.push(this.connectOne(specs[k]!));
    }
    await Promise.all(pending);
  }

  private connectOne(spec: ClientSpec): Promise<void> {
    const started = wallClockMs();
    const c = this.counters;
    const client = mqtt.connect(this.opts.url, {
      clientId: spec.clientId, clean: this.opts.clean, protocolVersion: this.opts.protocolVersion, username: this.opts.username,
      password: this.opts.password, reconnectPeriod: 0, connectTimeout: this.opts.connectTimeoutSec * 1000, keepalive: 60, resubscribe: false,
      ...(this.ca === undefined ? {} : { ca: this.ca }),
    });
    this.clients.push(client);
    return new Promise<void>((resolve) => {
      let settled = false;
      let wasConnected = false;
      const fail = (code: string): void => {
        c.errors++;
        c.errorCodes[code] = (c.errorCodes[code] ?? 0) + 1;
        if (!settled) { settled = true; c.connectFailed++; resolve(); }
      };
      client.on('error', (err: Error & { code?: string | number }) => fail(String(err.code ?? err.message)));
      client.on('close', () => {
        if (wasConnected) {
          wasConnected = false;
          c.connected--;
          if (!this.closing) { c.dropped++; c.errors++; c.errorCodes['closed'] = (c.errorCodes['closed'] ?? 0) + 1; }
        } else if (!settled) {
          fail('closed before CONNACK');
        }
      });
      client.once('connect', () => {
        wasConnected = true;
        c.connected++;
        const ready = (): void => {
          if (settled) return;
          settled = true;
          const now = wallClockMs();
          c.connectOk++;
          c.lastConnectDoneMs = Math.max(c.lastConnectDoneMs, now);
          this.connectLatency.recordValue(Math.max(1, Math.round((now - started) * 1000)));
          resolve();
        };
        if (spec.role === 'sub') {
          this.listen(client, spec.clientId, spec.expectsFrom);
          client.subscribe(spec.filter, { qos: this.opts.qos }, (err) => (err ? fail('SUBSCRIBE failed') : ready()));
        } else {
          if (spec.role === 'pub') this.publishers.push({ spec, client, seq: 0, outstanding: 0, pumping: false });
          ready();
        }
      });
    });
  }

  private listen(client: MqttClient, subscriberId: string, expectsFrom: number[] | 'all'): void {
    const perPublisher = new Map<number, SeenSet>();
    this.seen.set(subscriberId, perPublisher);
    const c = this.counters;
    client.on('message', (_topic, payload) => {
      const header = decodePayload(payload);
      if (!header || (expectsFrom !== 'all' && !expectsFrom.includes(header.publisherId))) { c.unexpected++; return; }
      let set = perPublisher.get(header.publisherId);
      if (!set) perPublisher.set(header.publisherId, (set = new SeenSet()));
      if (!set.add(header.seq)) { c.duplicates++; return; }
      c.received++;
      const now = wallClockMs();
      c.lastReceiveMs = now;
      this.latency.recordValue(Math.max(1, Math.round((now - header.sentAtMs) * 1000)));
    });
  }

  startPublishing(): void {
    this.publishing = true;
    this.publishStartMs = wallClockMs();
    if (this.opts.rate > 0) this.rateTimer = setInterval(() => this.rateTick(), RATE_TICK_MS);
    else for (const p of this.publishers) this.pump(p);
  }

  stopPublishing(): void {
    this.publishing = false;
    if (this.rateTimer) clearInterval(this.rateTimer);
  }

  /** Fixed rate: each publisher catches up to rate × elapsed, never beyond its in-flight window. */
  private rateTick(): void {
    const elapsedSec = (wallClockMs() - this.publishStartMs) / 1000;
    const due = Math.floor(this.opts.rate * elapsedSec);
    for (const p of this.publishers) {
      while (this.publishing && p.seq < due && this.hasRoom(p)) this.publishOne(p);
    }
  }

  private hasRoom(p: Publisher): boolean {
    return p.outstanding < this.opts.inflight && p.client.connected;
  }

  /** Flat out: publish while the window allows; completions call back into pump. */
  private pump(p: Publisher): void {
    if (p.pumping) return;
    p.pumping = true;
    let n = 0;
    while (this.publishing && this.hasRoom(p) && n < BATCH) { this.publishOne(p); n++; }
    p.pumping = false;
    if (this.publishing && n === BATCH && this.hasRoom(p)) setImmediate(() => this.pump(p));
  }

  private publishOne(p: Publisher): void {
    const c = this.counters;
    const payload = encodePayload({ publisherId: p.spec.publisherId, seq: p.seq++, sentAtMs: wallClockMs() }, this.opts.payloadBytes);
    p.outstanding++;
    c.outstanding++;
    c.sent++;
    c.expected += p.spec.fanout;
    p.client.publish(p.spec.topic, payload, { qos: this.opts.qos }, (err) => {
      p.outstanding--;
      c.outstanding--;
      if (err) { c.errors++; c.errorCodes['publish'] = (c.errorCodes['publish'] ?? 0) + 1; } else c.acked++;
      // QoS 0 completes synchronously inside publish(); pump's loop carries on then.
      if (this.publishing && this.opts.rate === 0 && !p.pumping) setImmediate(() => this.pump(p));
    });
  }

  /** Disconnects every client (DISCONNECT sent), bounded so a stuck broker cannot hold the process. */
  async closeAll(timeoutMs: number): Promise<void> {
    this.closing = true;
    this.stopPublishing();
    const ends = this.clients.map((client) => new Promise<void>((resolve) => client.end(false, {}, () => resolve())));
    await Promise.race([Promise.all(ends), new Promise((r) => setTimeout(r, timeoutMs))]);
    for (const client of this.clients) client.end(true);
  }
}
