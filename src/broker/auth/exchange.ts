// One connection's enhanced authentication: the method it chose at CONNECT (kept for
// re-authentication [MQTT-4.12.1-1]), the identity it proved, and the exchange in progress, if
// any. handlers/auth.ts drives it; Connection holds it (null: the client used none).
import { MqttError, ReasonCode, type AuthPacket } from '../../protocol/index.js';
import type { EnhancedAuthMethod } from './enhanced-auth.js';

interface Waiter {
  resolve(packet: AuthPacket): void;
  reject(err: Error): void;
}

export class AuthExchange {
  /** The identity the last successful exchange proved (undefined before, or when the method gives none). */
  username: string | undefined = undefined;
  /** An exchange is under way (CONNECT's, or a re-authentication): the method or the client has the next word. */
  inProgress = false;
  /** When the exchange under way began (ms): a re-authentication gets as long as CONNECT's (keepalive.ts). */
  startedAt = 0;
  /** The server sent AUTH 0x18 and waits for the client's. */
  private waiter: Waiter | null = null;

  constructor(readonly method: EnhancedAuthMethod<any>) {}

  get name(): string {
    return this.method.name;
  }

  /** The client's next AUTH (0x18, method checked by the handler); rejects if the connection closes first. */
  nextFromClient(): Promise<AuthPacket> {
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  /** Hands the client's AUTH to the waiting exchange; false when none waits (the server did not ask). */
  deliver(packet: AuthPacket): boolean {
    const waiter = this.waiter;
    if (waiter === null) return false;
    this.waiter = null;
    waiter.resolve(packet);
    return true;
  }

  /** The connection closed: an exchange waiting for the client ends (Connection.close calls this). */
  abandon(reason: string): void {
    const waiter = this.waiter;
    if (waiter === null) return;
    this.waiter = null;
    waiter.reject(new MqttError(`enhanced authentication abandoned: ${reason}`, ReasonCode.NotAuthorized));
  }
}
