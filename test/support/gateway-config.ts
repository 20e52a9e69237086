// The gateway configuration tests start: one pool, 198.18.0.2-198.18.0.250 behind 198.18.0.1/24, on
// port 5555, with a state directory of the test's own (never the host's /var/lib/4over6).

export interface TestGatewayOptions {
  /** Where the gateway keeps its journal, lock and lease file. */
  stateDir: string;
  /** Default "::" (a namespace); "::1" for in-process gateways. */
  listen?: string;
  /** Default "4o6s0". */
  tunName?: string;
  /** dns0..dns2, default 198.18.0.53 and two empty ones. */
  dns?: readonly [string, string, string];
  /** The shared UUID (pk), or none. */
  key?: string | null;
  /** Further lines, e.g. 'nat: true'. */
  extra?: readonly string[];
}

export function testGatewayYaml(o: TestGatewayOptions): string {
  const [dns0, dns1, dns2] = o.dns ?? ['198.18.0.53', '0.0.0.0', '0.0.0.0'];
  return [
    `listen_address: "${o.listen ?? '::'}"`,
    'port: 5555',
    'gateway: "198.18.0.1"',
    'address_range: "198.18.0.2-198.18.0.250"',
    'netmask: "255.255.255.0"',
    `dns0: "${dns0}"`,
    `dns1: "${dns1}"`,
    `dns2: "${dns2}"`,
    `tun_name: "${o.tunName ?? '4o6s0'}"`,
    ...(o.key ? [`pk: "${o.key}"`] : []),
    `state_dir: "${o.stateDir}"`,
    ...(o.extra ?? []),
  ].join('\n') + '\n';
}
