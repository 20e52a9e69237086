// The client's leak guard: one nftables table, `inet fourover6-guard`, apart from the gateway's NAT
// table `inet fourover6`. Pure: builds the ruleset text from checked values (every name, address and
// port is validated here, so nothing unchecked reaches `nft -f -`), and reads the local networks
// from `ip -j -4 addr` output. netconfig/net-config.ts loads it (journalled); helper/kill-switch.ts
// decides which spec applies when.
//
// What the table does (output and forward hooks; a drop in any table is final in nftables, so no
// other table's accept can let a packet past it):
//   - loopback, DHCPv4 (to keep the native link configured) and the TCP connection to the gateway pass;
//   - with dnsServers: DNS (TCP/UDP port 53, IPv4 and IPv6) goes only to those servers, only through
//     the tunnel device;
//   - IPv4 leaves only through the tunnel device (none: all IPv4 is blocked), or to lanNetworks;
//   - IPv6 is otherwise left alone: the tunnel carries IPv4 only and the gateway is reached over IPv6.
// Blocked packets this computer sends are rejected (an ICMP "administratively prohibited"), so
// applications fail at once instead of waiting for timeouts; forwarded ones are dropped.
import type { NetChange } from './changes';
import { checkInterfaceName, checkIPv4, checkIPv4Network, NetConfigInputError } from './validate';
import ipaddr from 'ipaddr.js';

export const GUARD_TABLE = { family: 'inet', name: 'fourover6-guard' } as const;

export interface GuardSpec {
  /** IPv4 may leave through this device; null: through none (everything but loopback and the LAN is blocked). */
  tunnelDev: string | null;
  /** The only DNS servers allowed (reached through tunnelDev); null: DNS is not restricted beyond the IPv4 rule. */
  dnsServers: string[] | null;
  /** The TCP connection to the gateway, always let through (even on port 53). */
  gateway: { address: string; port: number } | null;
  /** IPv4 networks allowed outside the tunnel ("allow LAN"). */
  lanNetworks: string[];
}

export function isGuardTable(change: NetChange): boolean {
  return change.kind === 'nft-table' && change.family === GUARD_TABLE.family && change.name === GUARD_TABLE.name;
}

/** The `nft -f -` input that replaces the guard table atomically with one for spec; throws on any invalid field. */
export function guardRuleset(spec: GuardSpec): string {
  const tun = spec.tunnelDev === null ? null : checkInterfaceName(spec.tunnelDev, 'tunnel interface name');
  if (spec.dnsServers !== null && tun === null) throw new NetConfigInputError('DNS servers without a tunnel device to reach them');
  const dns = spec.dnsServers === null ? null : [...new Set(spec.dnsServers.map((d) => checkIPv4(d, 'DNS server')))];
  const lan = [...new Set(spec.lanNetworks.map((n) => checkIPv4Network(n, 'LAN network')))];
  const gateway = spec.gateway === null ? null : { address: checkIPv6(spec.gateway.address), port: checkPort(spec.gateway.port) };
  const { family, name } = GUARD_TABLE;
  const reject = 'reject with icmpx admin-prohibited';

  const output = [
    'oifname "lo" accept',
    ...(gateway ? [`ip6 daddr ${gateway.address} tcp dport ${gateway.port} accept`] : []),
    'udp sport 68 udp dport 67 accept',
  ];
  if (dns !== null) {
    if (dns.length > 0) output.push(`oifname "${tun}" ip daddr { ${dns.join(', ')} } meta l4proto { tcp, udp } th dport 53 accept`);
    output.push(`meta l4proto { tcp, udp } th dport 53 ${reject}`);
  }
  const ipv4Allowed = [
    ...(tun ? [`meta nfproto ipv4 oifname "${tun}" accept`] : []),
    ...(lan.length > 0 ? [`ip daddr { ${lan.join(', ')} } accept`] : []),
  ];
  output.push(...ipv4Allowed, `meta nfproto ipv4 ${reject}`);
  const forward = [...ipv4Allowed, 'meta nfproto ipv4 drop'];

  // "add + delete + define" in one transaction: the old rules stay until the new ones are in place.
  return `table ${family} ${name} {}
delete table ${family} ${name}
table ${family} ${name} {
  chain output {
    type filter hook output priority filter; policy accept;
${output.map((r) => `    ${r}`).join('\n')}
  }
  chain forward {
    type filter hook forward priority filter; policy accept;
${forward.map((r) => `    ${r}`).join('\n')}
  }
}
`;
}

/**
 * The IPv4 networks of this computer's interfaces ("the LAN"), from `ip -j -4 addr show` output,
 * leaving out loopback and the given devices (the tunnel). Malformed entries are skipped.
 */
export function localIpv4Networks(ipAddrJson: string, excludeDevs: readonly string[]): string[] {
  let links: unknown;
  try {
    links = JSON.parse(ipAddrJson);
  } catch {
    return [];
  }
  if (!Array.isArray(links)) return [];
  const networks = new Set<string>();
  for (const link of links as { ifname?: unknown; flags?: unknown; addr_info?: unknown }[]) {
    if (typeof link?.ifname !== 'string' || excludeDevs.includes(link.ifname)) continue;
    if (Array.isArray(link.flags) && link.flags.includes('LOOPBACK')) continue;
    if (!Array.isArray(link.addr_info)) continue;
    for (const a of link.addr_info as { family?: unknown; local?: unknown; prefixlen?: unknown }[]) {
      if (a?.family !== 'inet' || typeof a.local !== 'string' || typeof a.prefixlen !== 'number') continue;
      if (!ipaddr.IPv4.isValidFourPartDecimal(a.local) || !Number.isInteger(a.prefixlen) || a.prefixlen < 1 || a.prefixlen > 32) continue;
      const network = ipaddr.IPv4.networkAddressFromCIDR(`${a.local}/${a.prefixlen}`).toString();
      if (network.startsWith('127.')) continue;
      networks.add(`${network}/${a.prefixlen}`);
    }
  }
  return [...networks].sort();
}

function checkIPv6(address: unknown): string {
  if (typeof address !== 'string' || !ipaddr.IPv6.isValid(address) || address.includes('%')) {
    throw new NetConfigInputError(`invalid gateway address ${JSON.stringify(address)}: expected an IPv6 address`);
  }
  return ipaddr.IPv6.parse(address).toString();
}

function checkPort(port: unknown): number {
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new NetConfigInputError(`invalid gateway port ${JSON.stringify(port)}: expected 1-65535`);
  }
  return port;
}
