// A throwaway certificate authority for TLS tests, made with the openssl command: a CA, a server
// certificate for 127.0.0.1 and localhost, and client certificates with a chosen CN.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestCa {
  dir: string;
  /** CA certificate file (PEM), and its contents. */
  caFile: string;
  ca: Buffer;
  /** Server certificate and key files. */
  serverCert: string;
  serverKey: string;
  /** A new certificate and key signed by the CA; `serial` picks its serial number (hex, without 0x). */
  issue(name: string, cn: string, options?: { serial?: string; server?: boolean }): { cert: string; key: string };
  remove(): void;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

export function createTestCa(): TestCa {
  const dir = mkdtempSync(join(tmpdir(), 'starling-ca-'));
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-subj', '/CN=Starling test CA', '-keyout', 'ca.key', '-out', 'ca.crt'], dir);
  let serials = 0x1000;
  const issue = (name: string, cn: string, options: { serial?: string; server?: boolean } = {}): { cert: string; key: string } => {
    openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-subj', `/CN=${cn}`, '-keyout', `${name}.key`, '-out', `${name}.csr`], dir);
    const ext = options.server === true ? 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' : 'extendedKeyUsage=clientAuth\n';
    writeFileSync(join(dir, `${name}.ext`), ext);
    const serial = options.serial ?? (serials++).toString(16);
    openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-set_serial', `0x${serial}`, '-days', '2', '-extfile', `${name}.ext`, '-out', `${name}.crt`], dir);
    return { cert: join(dir, `${name}.crt`), key: join(dir, `${name}.key`) };
  };
  const server = issue('server', '127.0.0.1', { server: true });
  const caFile = join(dir, 'ca.crt');
  return { dir, caFile, ca: readFileSync(caFile), serverCert: server.cert, serverKey: server.key, issue, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
