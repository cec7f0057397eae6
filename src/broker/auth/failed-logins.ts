// What the broker does with a failed login (a wrong user name or password at CONNECT, or an
// enhanced authentication method's refusal): counts it against the remote address
// (login-throttle.ts), logs it (failed-login-log.ts), and holds the refusing CONNACK for the
// throttle's delay before answers.ts sends it. Other errors are answered at once.
//
// The hold costs one timer and two socket listeners per held connection, nothing per address, and
// never delays anyone else. A client that goes away during it (its socket ends or closes) is closed
// at once and told nothing: an answer to a half-closed socket would let a guesser skip the delay.
// Successful logins are never held, even from an address that is failing: a fleet of devices
// behind one NAT keeps connecting while one of them retries a wrong password. The price: a guesser
// that stops waiting for the answer reads the refusal from its absence, so the hold slows guessers
// that wait for their answer (most tools), and the log is what shows the others.
import { MqttError } from '../../protocol/index.js';
import type { BrokerConfig } from '../../config.js';
import type { Logger } from '../../log.js';
import type { Connection } from '../connection.js';
import { FailedLoginLog, type LoginAttempt } from './failed-login-log.js';
import { LoginThrottle } from './login-throttle.js';

/** A login refused because the credentials (or the enhanced-auth method) said no: counted and throttled. */
export class LoginFailedError extends MqttError {
  constructor(
    message: string,
    reasonCode: number,
    readonly attempt: LoginAttempt,
  ) {
    super(message, reasonCode);
    this.name = 'LoginFailedError';
  }
}

export class FailedLogins {
  readonly throttle: LoginThrottle;
  private readonly log: FailedLoginLog;
  /** Refusals held now (each has one timer). */
  holding = 0;

  constructor(config: BrokerConfig, log: Logger, now: () => number = Date.now) {
    this.throttle = new LoginThrottle({ baseDelayMs: config.authFailDelayMs, maxDelayMs: config.authFailMaxDelayMs }, now);
    this.log = new FailedLoginLog(log, config.authFailLogIntervalMs);
  }

  /** CONNECT failed with err: a failed login is counted, logged and answered after its delay; anything else at once. */
  refuse(conn: Connection, err: unknown): void {
    const address = conn.socket.remoteAddress;
    if (!(err instanceof LoginFailedError) || address === undefined || conn.closed) {
      conn.fail(err);
      return;
    }
    const delayMs = this.throttle.failed(address);
    this.log.failed(address, err.attempt, delayMs);
    if (delayMs === 0) conn.fail(err);
    else this.hold(conn, delayMs, err);
  }

  /** Answers err after delayMs, unless the client leaves first (then closed without an answer). */
  private hold(conn: Connection, delayMs: number, err: LoginFailedError): void {
    if (conn.endedWhileConnecting !== null) {
      // Gone already (while its password was checked): its 'end' or 'close' will not come again.
      conn.close(conn.endedWhileConnecting, { will: false });
      return;
    }
    const socket = conn.socket;
    this.holding++;
    const done = (): void => {
      this.holding--;
      clearTimeout(timer);
      socket.off('end', left);
      socket.off('close', left);
    };
    const left = (): void => {
      done();
      conn.close('left during the failed-login delay', { will: false });
    };
    const timer = setTimeout(() => {
      done();
      conn.fail(err);
    }, delayMs);
    // The timer never keeps a stopping process alive; the socket's 'close' ends the hold in any case.
    timer.unref();
    socket.once('end', left);
    socket.once('close', left);
  }
}
