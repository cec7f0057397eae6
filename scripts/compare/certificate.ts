// A throwaway self-signed certificate for 127.0.0.1, for the TLS and WebSocket-over-TLS runs: every
// broker serves it and the swarm trusts it as its CA (--ca). Readable by all, because Mosquitto
// reads its key after dropping to its own user.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TlsFiles } from './brokers.js';

export function makeTestCertificate(): TlsFiles {
  const dir = mkdtempSync(join(tmpdir(), 'compare-tls-'));
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost', '-keyout', key, '-out', cert], { stdio: 'ignore' });
  chmodSync(dir, 0o755);
  chmodSync(key, 0o644);
  return { cert, key };
}
