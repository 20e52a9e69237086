// Fixture for offload.test.ts, run inside a throwaway network namespace (`ip netns exec <ns> node
// gso-hairpin.js <hex packets>`): a vnet-header TUN whose kernel forwards what we write back out
// of the same device. writePackets coalesces the packets into GSO writes; the kernel parses each
// virtio-net header, forwards the super-packet (TTL - 1) and hands it back as a TSO read, which the
// read path cuts into segments again. Prints the TCP packets read back (hex, one JSON line).
import { execFileSync } from 'node:child_process';
import { TunDevice } from './tun';

const packets = process.argv.slice(2).map((hex) => Buffer.from(hex, 'hex'));
const expectedBytes = packets.reduce((n, p) => n + p.length, 0);
const sysctl = (key: string, value: string) => execFileSync('sysctl', ['-qw', `${key}=${value}`]);

const dev = TunDevice.open('4o6gso0', { coalesce: true });
execFileSync('ip', ['addr', 'add', '198.18.7.1/24', 'dev', dev.name]);
execFileSync('ip', ['link', 'set', 'dev', dev.name, 'mtu', '1500', 'up']);
execFileSync('ip', ['route', 'add', '198.18.8.0/24', 'dev', dev.name]);
sysctl('net.ipv4.ip_forward', '1');
for (const scope of ['all', 'default', dev.name]) {
  sysctl(`net.ipv4.conf.${scope}.rp_filter`, '0');
  sysctl(`net.ipv4.conf.${scope}.send_redirects`, '0');
}

const back: string[] = [];
let backBytes = 0;
const deadline = setTimeout(() => finish('deadline'), 10_000);
function finish(why: string): void {
  clearTimeout(deadline);
  dev.close();
  process.stdout.write(`${JSON.stringify({ why, packets: back })}\n`);
}
dev.startReading((scratch, lengths, count) => {
  let p = 0;
  for (let i = 0; i < count; i++) {
    const packet = scratch.subarray(p, p + lengths[i]);
    p += lengths[i];
    if (packet[0] >> 4 !== 4 || packet[9] !== 6) continue; // e.g. IPv6 router solicitations
    back.push(packet.toString('hex'));
    backBytes += packet.length;
  }
  if (backBytes >= expectedBytes) finish('complete');
});
const written = dev.writePackets(packets);
if (written !== packets.length) {
  process.stdout.write(`${JSON.stringify({ why: `wrote ${written} of ${packets.length}`, packets: [] })}\n`);
  process.exit(1);
}
