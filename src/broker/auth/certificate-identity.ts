// Mosquitto's use_identity_as_username: on a TLS listener that asks for it, the client's verified
// certificate names the user (its CN), and the CONNECT's username and password are not used.
// The listener marks the sockets it hands over (transport/listeners.ts); CONNECT reads the mark.
import type { PeerCertificate } from 'node:tls';

const IDENTITY_AS_USERNAME = Symbol('starling.identityAsUsername');

/** What a TLS socket (or a WebSocket stream over one) tells about its peer's certificate. */
export interface CertificateSocket {
  authorized?: boolean;
  getPeerCertificate?: () => PeerCertificate;
  [IDENTITY_AS_USERNAME]?: true;
}

export function markIdentityAsUsername(socket: object): void {
  (socket as CertificateSocket)[IDENTITY_AS_USERNAME] = true;
}

/**
 * undefined: this socket's listener does not ask; null: it does, but the client has no certificate
 * the CA verified, or one without a CN (refused); else the CN, the client's username.
 */
export function certificateUsername(socket: object): string | null | undefined {
  const s = socket as CertificateSocket;
  if (s[IDENTITY_AS_USERNAME] !== true) return undefined;
  if (s.authorized !== true) return null;
  const cn = s.getPeerCertificate?.().subject?.CN;
  // A subject with several CNs gives an array: no single name, no user.
  return typeof cn === 'string' && cn !== '' ? cn : null;
}
