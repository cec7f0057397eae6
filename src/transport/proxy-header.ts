// The PROXY protocol header (HAProxy's proxy-protocol.txt, v1 text and v2 binary), parsed from the
// bytes a connection starts with. Pure: no sockets here (proxy-protocol.ts reads them).
//
// Strict, as the spec asks of a receiver: a header is refused as soon as its first bytes cannot
// start one, v1 is bounded by 107 bytes, ports and addresses are checked; a v2 TLV block is
// skipped unread.
import { isIPv4, isIPv6, SocketAddress } from 'node:net';

export interface ProxyAddress {
  address: string;
  port: number;
  family: 'IPv4' | 'IPv6';
}

export interface ProxyHeader {
  version: 1 | 2;
  /**
   * The client as the proxy saw it; null when the header carries no address to use (v1 UNKNOWN,
   * v2 LOCAL such as a health check, v2 UNSPEC or UNIX): the connection's own address stands.
   */
  source: ProxyAddress | null;
  /** The address the client connected to on the proxy (null when source is). */
  destination: ProxyAddress | null;
}

/** A header that is not one, or is malformed: the connection must be closed. */
export class ProxyHeaderError extends Error {
  /** peer: the socket's own remote address (the proxy's, or whoever sent the bytes), when known. */
  constructor(
    message: string,
    readonly peer?: string,
  ) {
    super(message);
    this.name = 'ProxyHeaderError';
  }
}

/** The longest v1 header, CRLF included. */
export const V1_MAX_LENGTH = 107;
/** The v2 fixed part: signature, version/command, family/transport, length. */
const V2_FIXED_LENGTH = 16;
/** The longest v2 header: the fixed part and a 16-bit length of addresses and TLVs. */
export const V2_MAX_LENGTH = V2_FIXED_LENGTH + 0xffff;

const V1_PREFIX = Buffer.from('PROXY ', 'latin1');
const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);

/** Address bytes each v2 family needs at least (AF_UNSPEC, AF_INET, AF_INET6, AF_UNIX). */
const V2_ADDRESS_LENGTH = [0, 12, 36, 216] as const;

/** A parsed header and how many bytes it took (those after it are the client's). */
export interface ParsedProxyHeader {
  header: ProxyHeader;
  length: number;
}

/** Not enough bytes yet: the header needs at least this many in all (never more than V2_MAX_LENGTH). */
export interface IncompleteProxyHeader {
  needed: number;
}

/**
 * Parses the header at the start of `bytes`. Says how many bytes it needs while they are too few
 * (so a reader need not parse again before they came); throws ProxyHeaderError as soon as the
 * bytes cannot start a header.
 */
export function parseProxyHeader(bytes: Buffer): ParsedProxyHeader | IncompleteProxyHeader {
  if (bytes.length === 0) return { needed: 1 };
  if (bytes[0] === V1_PREFIX[0]) return parseV1(bytes);
  if (bytes[0] === V2_SIGNATURE[0]) return parseV2(bytes);
  throw new ProxyHeaderError('not a PROXY protocol header');
}

/** Whether `bytes` starts like `prefix` as far as both go. */
function startsLike(bytes: Buffer, prefix: Buffer): boolean {
  const n = Math.min(bytes.length, prefix.length);
  return bytes.compare(prefix, 0, n, 0, n) === 0;
}

function parseV1(bytes: Buffer): ParsedProxyHeader | IncompleteProxyHeader {
  if (!startsLike(bytes, V1_PREFIX)) throw new ProxyHeaderError('not a PROXY protocol header');
  const lf = bytes.subarray(0, V1_MAX_LENGTH).indexOf(0x0a);
  if (lf === -1) {
    if (bytes.length >= V1_MAX_LENGTH) throw new ProxyHeaderError(`v1 header longer than ${V1_MAX_LENGTH} bytes`);
    return { needed: bytes.length + 1 };
  }
  if (bytes[lf - 1] !== 0x0d) throw new ProxyHeaderError('v1 header does not end with CRLF');
  const line = bytes.toString('latin1', 0, lf - 1);
  const parts = line.split(' ');
  const protocol = parts[1];
  // UNKNOWN: the proxy could not tell; whatever follows up to CRLF is ignored.
  if (protocol === 'UNKNOWN') return { header: { version: 1, source: null, destination: null }, length: lf + 1 };
  if (protocol !== 'TCP4' && protocol !== 'TCP6') throw new ProxyHeaderError(`v1 header: unknown protocol '${protocol.slice(0, 16)}'`);
  if (parts.length !== 6) throw new ProxyHeaderError('v1 header: expected protocol, two addresses and two ports, separated by single spaces');
  const family = protocol === 'TCP4' ? 'IPv4' : 'IPv6';
  return {
    header: { version: 1, source: v1Address(parts[2], parts[4], family), destination: v1Address(parts[3], parts[5], family) },
    length: lf + 1,
  };
}

function v1Address(address: string, port: string, family: 'IPv4' | 'IPv6'): ProxyAddress {
  // isIPv6 takes a zone (fe80::1%eth0), which a header cannot carry.
  const valid = family === 'IPv4' ? isIPv4(address) : isIPv6(address) && !address.includes('%');
  if (!valid) throw new ProxyHeaderError(`v1 header: '${address.slice(0, 45)}' is not an ${family} address`);
  // Decimal 0..65535 without leading zeros.
  if (!/^(0|[1-9]\d{0,4})$/.test(port) || Number(port) > 0xffff) throw new ProxyHeaderError(`v1 header: '${port.slice(0, 8)}' is not a port`);
  // The form Node gives remoteAddress (lower case, zeros compressed).
  const canonical = family === 'IPv6' ? new SocketAddress({ address, family: 'ipv6' }).address : address;
  return { address: canonical, port: Number(port), family };
}

function parseV2(bytes: Buffer): ParsedProxyHeader | IncompleteProxyHeader {
  if (!startsLike(bytes, V2_SIGNATURE)) throw new ProxyHeaderError('not a PROXY protocol header');
  if (bytes.length < V2_FIXED_LENGTH) {
    // The version can be refused before the rest arrives.
    if (bytes.length > 12 && bytes[12] >> 4 !== 2) throw new ProxyHeaderError(`v2 header: version ${bytes[12] >> 4} is not 2`);
    return { needed: V2_FIXED_LENGTH };
  }
  const versionCommand = bytes[12];
  if (versionCommand >> 4 !== 2) throw new ProxyHeaderError(`v2 header: version ${versionCommand >> 4} is not 2`);
  const command = versionCommand & 0x0f;
  if (command > 1) throw new ProxyHeaderError(`v2 header: unknown command ${command}`);
  const family = bytes[13] >> 4;
  const transport = bytes[13] & 0x0f;
  const length = V2_FIXED_LENGTH + bytes.readUInt16BE(14);
  // LOCAL (a health check of the proxy's own): the block is skipped, its family ignored.
  if (command === 0) return bytes.length < length ? { needed: length } : { header: { version: 2, source: null, destination: null }, length };
  if (family >= V2_ADDRESS_LENGTH.length) throw new ProxyHeaderError(`v2 header: unknown address family ${family}`);
  // MQTT runs over a stream: DGRAM (2) or an unknown transport is not a client of ours.
  if (transport > 1) throw new ProxyHeaderError(`v2 header: transport ${transport} is not a stream`);
  if (length - V2_FIXED_LENGTH < V2_ADDRESS_LENGTH[family]) {
    throw new ProxyHeaderError(`v2 header: length ${length - V2_FIXED_LENGTH} is too short for address family ${family}`);
  }
  if (bytes.length < length) return { needed: length };
  // UNSPEC (the proxy could not tell) and UNIX (a path, not a network address) keep the connection's own.
  if (family !== 1 && family !== 2) return { header: { version: 2, source: null, destination: null }, length };
  const header: ProxyHeader =
    family === 1
      ? {
          version: 2,
          source: { address: ipv4(bytes, 16), port: bytes.readUInt16BE(24), family: 'IPv4' },
          destination: { address: ipv4(bytes, 20), port: bytes.readUInt16BE(26), family: 'IPv4' },
        }
      : {
          version: 2,
          source: { address: ipv6(bytes, 16), port: bytes.readUInt16BE(48), family: 'IPv6' },
          destination: { address: ipv6(bytes, 32), port: bytes.readUInt16BE(50), family: 'IPv6' },
        };
  // The TLVs after the addresses (ALPN, SSL, AWS/Azure ids) are skipped: nothing here uses them.
  return { header, length };
}

function ipv4(bytes: Buffer, at: number): string {
  return `${bytes[at]}.${bytes[at + 1]}.${bytes[at + 2]}.${bytes[at + 3]}`;
}

function ipv6(bytes: Buffer, at: number): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(at + i).toString(16));
  return new SocketAddress({ address: groups.join(':'), family: 'ipv6' }).address;
}
