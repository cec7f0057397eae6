// The TLS settings of an mqtts or wss listener, from files: read at start (a bad file fails the
// start) and again on SIGHUP (a bad file keeps the context in use: one error line).
import { readFileSync } from 'node:fs';
import { createSecureContext, type SecureContextOptions, type TlsOptions } from 'node:tls';
import { ConfigError, type TlsConfig } from '../config.js';

/** key, cert and ca, read now. Throws a ConfigError naming the file. */
export function readSecureContext(tls: TlsConfig): SecureContextOptions {
  const read = (what: string, path: string): Buffer => {
    try {
      return readFileSync(path);
    } catch (err) {
      throw new ConfigError(`TLS ${what} ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
    }
  };
  const context: SecureContextOptions = { key: read('key', tls.key), cert: read('certificate', tls.cert), minVersion: tls.minVersion ?? 'TLSv1.2' };
  if (tls.ca !== undefined) context.ca = read('CA', tls.ca);
  return context;
}

/** A TLS server's options: the context (checked: a key that does not fit fails the start), and whether client certificates are asked for and required. */
export function tlsServerOptions(tls: TlsConfig): TlsOptions {
  const context = readSecureContext(tls);
  try {
    createSecureContext(context);
  } catch (err) {
    throw new ConfigError(`TLS certificate ${tls.cert} and key ${tls.key}: ${(err as Error).message}`, { cause: err });
  }
  return {
    ...context,
    // Identity as username needs a certificate to read; without one the client is refused at CONNECT.
    requestCert: tls.requireCertificate === true || tls.useIdentityAsUsername === true,
    rejectUnauthorized: tls.requireCertificate === true,
  };
}
