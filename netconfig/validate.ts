// Input checks for everything that ends up as an argument to ip/nft/sysctl/resolvectl or in a config file.
import ipaddr from 'ipaddr.js';

export class NetConfigInputError extends Error {
  override name = 'NetConfigInputError';
}

// Linux allows at most 15 bytes; we additionally refuse a leading '-' so a name can never read as an option.
const IFNAME = /^[A-Za-z0-9_.:-]{1,15}$/;

export function checkInterfaceName(name: unknown, what = 'interface name'): string {
  if (typeof name !== 'string' || !IFNAME.test(name) || name.startsWith('-') || name === '.' || name === '..') {
    throw new NetConfigInputError(
      `invalid ${what} ${JSON.stringify(name)}: expected 1-15 characters of A-Z a-z 0-9 _ . : - (not starting with -)`,
    );
  }
  return name;
}

/** A dotted-quad IPv4 address; returns its canonical text. Rejects ipaddr.js's lenient forms such as "1" or "0x7f.1". */
export function checkIPv4(address: unknown, what = 'IPv4 address'): string {
  if (typeof address !== 'string' || !ipaddr.IPv4.isValidFourPartDecimal(address)) {
    throw new NetConfigInputError(`invalid ${what} ${JSON.stringify(address)}: expected a dotted quad such as 198.18.0.1`);
  }
  return ipaddr.IPv4.parse(address).toString();
}

export function checkPrefixLength(prefixLength: unknown): number {
  if (typeof prefixLength !== 'number' || !Number.isInteger(prefixLength) || prefixLength < 0 || prefixLength > 32) {
    throw new NetConfigInputError(`invalid IPv4 prefix length ${JSON.stringify(prefixLength)}: expected an integer 0-32`);
  }
  return prefixLength;
}

/** "a.b.c.d/n" whose host bits are zero (what `ip route` and nft print back); returns the canonical text. */
export function checkIPv4Network(cidr: unknown, what = 'IPv4 network'): string {
  const parts = typeof cidr === 'string' ? cidr.split('/') : [];
  if (parts.length !== 2 || !ipaddr.IPv4.isValidFourPartDecimal(parts[0]!) || !/^\d{1,2}$/.test(parts[1]!)) {
    throw new NetConfigInputError(`invalid ${what} ${JSON.stringify(cidr)}: expected CIDR such as 198.18.0.0/15`);
  }
  const prefix = checkPrefixLength(Number(parts[1]));
  const network = ipaddr.IPv4.networkAddressFromCIDR(`${parts[0]}/${prefix}`).toString();
  if (network !== ipaddr.IPv4.parse(parts[0]!).toString()) {
    throw new NetConfigInputError(`invalid ${what} ${JSON.stringify(cidr)}: host bits set (did you mean ${network}/${prefix}?)`);
  }
  return `${network}/${prefix}`;
}

/** An address with its prefix as assigned to an interface ("198.18.0.1/24"); host bits allowed. */
export function checkIPv4Interface(cidr: unknown): string {
  const parts = typeof cidr === 'string' ? cidr.split('/') : [];
  if (parts.length !== 2 || !/^\d{1,2}$/.test(parts[1]!)) {
    throw new NetConfigInputError(`invalid interface address ${JSON.stringify(cidr)}: expected address/prefix`);
  }
  return `${checkIPv4(parts[0])}/${checkPrefixLength(Number(parts[1]))}`;
}

export function checkMtu(mtu: unknown): number {
  if (typeof mtu !== 'number' || !Number.isInteger(mtu) || mtu < 576 || mtu > 65535) {
    throw new NetConfigInputError(`invalid MTU ${JSON.stringify(mtu)}: expected an integer 576-65535`);
  }
  return mtu;
}

/** A DNS server: IPv4 dotted quad or IPv6 without a zone id (a zone would not fit resolv.conf's syntax anyway). */
export function checkDnsServer(server: unknown): string {
  if (typeof server === 'string' && ipaddr.IPv4.isValidFourPartDecimal(server)) return ipaddr.IPv4.parse(server).toString();
  if (typeof server === 'string' && !server.includes('%') && ipaddr.IPv6.isValid(server)) return ipaddr.IPv6.parse(server).toString();
  throw new NetConfigInputError(`invalid DNS server ${JSON.stringify(server)}: expected an IPv4 or IPv6 address`);
}

// sysctl keys as dotted paths; first character alphanumeric so "key=value" can never look like an option.
const SYSCTL_KEY = /^[A-Za-z0-9][A-Za-z0-9_.\-/:]{0,199}$/;
const SYSCTL_VALUE = /^[A-Za-z0-9_.:\- \t]{0,200}$/;

export function checkSysctlKey(key: unknown): string {
  if (typeof key !== 'string' || !SYSCTL_KEY.test(key) || key.includes('..')) {
    throw new NetConfigInputError(`invalid sysctl key ${JSON.stringify(key)}`);
  }
  return key;
}

export function checkSysctlValue(value: unknown): string {
  if (typeof value !== 'string' || !SYSCTL_VALUE.test(value)) {
    throw new NetConfigInputError(`invalid sysctl value ${JSON.stringify(value)}`);
  }
  return value;
}

// Names of nft tables we may create or delete: a letter, then letters, digits, _ and - (our tables: fourover6, fourover6-guard).
const NFT_NAME = /^[A-Za-z][A-Za-z0-9_-]{0,31}$/;

export function checkNftTableName(name: unknown): string {
  if (typeof name !== 'string' || !NFT_NAME.test(name)) throw new NetConfigInputError(`invalid nft table name ${JSON.stringify(name)}`);
  return name;
}
