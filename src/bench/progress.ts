// The live one-line progress display (stderr, TTY only, so --json output on stdout stays clean).
import type { WorkerCounters } from './ipc.js';

export class ProgressLine {
  private timer: NodeJS.Timeout | undefined;
  private last = { at: performance.now(), sent: 0, received: 0 };

  constructor(private readonly clients: number, private readonly total: () => WorkerCounters) {}

  start(): void {
    this.timer = setInterval(() => this.draw(), 1000);
  }

  private draw(): void {
    const t = this.total();
    const now = performance.now();
    const sec = (now - this.last.at) / 1000;
    const out = Math.round((t.sent - this.last.sent) / sec);
    const inn = Math.round((t.received - this.last.received) / sec);
    this.last = { at: now, sent: t.sent, received: t.received };
    process.stderr.write(`\r\x1b[K connected ${t.connected}/${this.clients}  out ${out.toLocaleString('en-US')} msg/s  in ${inn.toLocaleString('en-US')} msg/s  errors ${t.errors}`);
  }

  stop(): void {
    if (!this.timer) return;
    clearInterval(this.timer);
    this.timer = undefined;
    process.stderr.write('\r\x1b[K');
  }
}
