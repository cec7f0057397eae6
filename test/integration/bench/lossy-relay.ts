// A deliberately lossy MQTT relay over real sockets: everything client -> broker passes through,
// but every Nth PUBLISH broker -> client is dropped, as a broker that loses messages would.
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface LossyRelay { port: number; url: string; dropped(): number; close(): Promise<void> }

/** Splits a byte stream into whole MQTT packets (fixed header + remaining length). */
class FrameSplitter {
  private buf: Buffer = Buffer.alloc(0);
  push(chunk: Buffer): Buffer[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const frames: Buffer[] = [];
    for (;;) {
      let len = 0;
      let mult = 1;
      let i = 1;
      for (; ; i++) {
        if (i >= this.buf.length) return frames;
        const b = this.buf[i]!;
        len += (b & 0x7f) * mult;
        mult *= 128;
        if ((b & 0x80) === 0) break;
      }
      const total = i + 1 + len;
      if (this.buf.length < total) return frames;
      frames.push(this.buf.subarray(0, total));
      this.buf = this.buf.subarray(total);
    }
  }
}

export function startLossyRelay(upstreamPort: number, dropEvery: number): Promise<LossyRelay> {
  let publishes = 0;
  let dropped = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((down) => {
    const up = connect(upstreamPort, '127.0.0.1');
    sockets.add(down).add(up);
    const splitter = new FrameSplitter();
    down.on('data', (d) => up.write(d));
    up.on('data', (chunk) => {
      for (const frame of splitter.push(chunk)) {
        if (frame[0]! >> 4 === 3 && ++publishes % dropEvery === 0) { dropped++; continue; }
        down.write(frame);
      }
    });
    const close = (): void => { down.destroy(); up.destroy(); sockets.delete(down); sockets.delete(up); };
    down.on('close', close).on('error', close);
    up.on('close', close).on('error', close);
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      resolve({
        port, url: `mqtt://127.0.0.1:${port}`, dropped: () => dropped,
        close: () => new Promise<void>((r) => { for (const s of sockets) s.destroy(); server.close(() => r()); }),
      });
    });
  });
}
