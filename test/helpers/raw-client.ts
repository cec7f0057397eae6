// A raw MQTT client over a real socket, for tests where a client library would refuse to
// misbehave: hand-made bytes, packets out of order, a reader that stops reading.
import { connect, type Socket } from 'node:net';
import { encode, PacketParser, type Packet, type ProtocolVersion } from '../../src/protocol/index.js';

export class RawClient {
  readonly packets: Packet[] = [];
  closed = false;
  private readonly parser: PacketParser;
  private waiters: Array<() => void> = [];
  parseError: Error | null = null;

  private constructor(readonly socket: Socket, readonly version: ProtocolVersion) {
    this.parser = new PacketParser({ protocolVersion: version });
    socket.on('data', (chunk: Buffer) => {
      try {
        this.parser.parse(chunk, (p) => this.packets.push(p));
      } catch (err) {
        this.parseError = err as Error;
      }
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => undefined);
  }

  /** localAddress: the client's own address (any 127.x.y.z on Linux), to look like another host. */
  static open(port: number, version: ProtocolVersion = 4, localAddress?: string): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = connect({ port, host: '127.0.0.1', localAddress }, () => {
        socket.off('error', reject);
        resolve(new RawClient(socket, version));
      });
      socket.once('error', reject);
    });
  }

  /** Opens, sends CONNECT and waits for CONNACK. */
  static async connected(port: number, clientId: string, version: ProtocolVersion = 4, extra: Partial<Packet> = {}): Promise<RawClient> {
    const client = await RawClient.open(port, version);
    client.send({ cmd: 'connect', protocolName: version === 3 ? 'MQIsdp' : 'MQTT', protocolVersion: version, clean: true, keepalive: 0, clientId, ...extra } as Packet);
    const connack = await client.next('connack');
    if ((connack as { reasonCode: number }).reasonCode !== 0) throw new Error(`CONNACK ${(connack as { reasonCode: number }).reasonCode}`);
    return client;
  }

  send(packet: Packet): void {
    this.socket.write(encode(packet, this.version));
  }

  sendBytes(bytes: Buffer | number[]): void {
    this.socket.write(Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes));
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  /** The next received packet (optionally of one type, skipping nothing: it must be that type). */
  async next(cmd?: Packet['cmd'], timeoutMs = 3000): Promise<Packet> {
    const deadline = Date.now() + timeoutMs;
    while (this.packets.length === 0) {
      if (this.closed) throw new Error(`connection closed while waiting for ${cmd ?? 'a packet'}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${cmd ?? 'a packet'}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    const packet = this.packets.shift() as Packet;
    if (cmd !== undefined && packet.cmd !== cmd) throw new Error(`expected ${cmd}, got ${JSON.stringify(packet)}`);
    return packet;
  }

  /** Resolves once the server has closed the connection. */
  async waitClosed(timeoutMs = 3000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('timed out waiting for the server to close the connection');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /**
   * Waits for the server to close the connection and returns the packets it sent that were not
   * read yet, in order: a test asserts the exact goodbye (a v5 DISCONNECT or CONNACK with its
   * reason code) or that there was none (v3.1.1). Bytes that do not parse fail the wait.
   */
  async packetsBeforeClose(timeoutMs = 3000): Promise<Packet[]> {
    await this.waitClosed(timeoutMs);
    if (this.parseError !== null) throw this.parseError;
    return this.packets.splice(0);
  }

  /** Closes the socket without DISCONNECT (an abrupt network loss, as far as the broker knows). */
  destroy(): void {
    this.socket.destroy();
  }
}
