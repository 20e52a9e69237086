// Admission of connections that hold no lease yet ("unleased": accepted, no valid IP request so far).
// A peer without a key can open connections for free; these limits stop one address, one /64 or
// everyone together from holding more than a bounded number of them. Pure: no sockets, no clock.
import ipaddr from 'ipaddr.js';

export interface AdmissionLimits {
  /** Unleased connections from one source address. */
  perAddress: number;
  /** Unleased connections from one /64 (one household or one small network behind a router). */
  perPrefix: number;
  /** Unleased connections in all. */
  total: number;
}

export type Refusal = 'perAddress' | 'perPrefix' | 'total';
export const REFUSALS: readonly Refusal[] = ['perAddress', 'perPrefix', 'total'];

/** Where a connection comes from, as the keys its limits count by. */
export interface Source {
  /** The address in canonical form (IPv4-mapped IPv6 addresses as plain IPv4). */
  address: string;
  /** Its /64 for IPv6; its /24 for IPv4 (a listener on "::" also takes IPv4 connections). */
  prefix: string;
}

/** The source keys of a peer address as net.Socket reports it; null when it cannot be parsed. */
export function sourceOf(remoteAddress: string | undefined): Source | null {
  if (remoteAddress === undefined || !ipaddr.isValid(remoteAddress)) return null;
  const parsed = ipaddr.process(remoteAddress); // unwraps ::ffff:a.b.c.d
  if (parsed.kind() === 'ipv4') {
    const o = (parsed as ipaddr.IPv4).octets;
    return { address: parsed.toString(), prefix: `${o[0]}.${o[1]}.${o[2]}.0/24` };
  }
  const parts = (parsed as ipaddr.IPv6).parts;
  const prefix = new ipaddr.IPv6([parts[0], parts[1], parts[2], parts[3], 0, 0, 0, 0]).toString();
  return { address: parsed.toString(), prefix: `${prefix}/64` };
}

/** Counts unleased connections by source; says which limit a new one would pass, if any. */
export class UnleasedAdmission {
  private readonly byAddress = new Map<string, number>();
  private readonly byPrefix = new Map<string, number>();
  private count = 0;

  constructor(private readonly limits: AdmissionLimits) {}

  get unleased(): number {
    return this.count;
  }

  /** How many unleased connections `source` holds now. */
  fromAddress(source: Source): number {
    return this.byAddress.get(source.address) ?? 0;
  }

  fromPrefix(source: Source): number {
    return this.byPrefix.get(source.prefix) ?? 0;
  }

  /** Counts the connection in and returns null, or returns the limit it would pass and counts nothing. */
  admit(source: Source): Refusal | null {
    if (this.fromAddress(source) >= this.limits.perAddress) return 'perAddress';
    if (this.fromPrefix(source) >= this.limits.perPrefix) return 'perPrefix';
    if (this.count >= this.limits.total) return 'total';
    this.byAddress.set(source.address, this.fromAddress(source) + 1);
    this.byPrefix.set(source.prefix, this.fromPrefix(source) + 1);
    this.count++;
    return null;
  }

  /** The connection got its lease or closed: it no longer counts. Call once per admit that returned null. */
  release(source: Source): void {
    if (decrement(this.byAddress, source.address) && decrement(this.byPrefix, source.prefix)) this.count--;
  }
}

/** Lowers a count by one, deleting it at zero; false when there was nothing to lower. */
function decrement(counts: Map<string, number>, key: string): boolean {
  const n = counts.get(key);
  if (n === undefined) return false;
  if (n <= 1) counts.delete(key);
  else counts.set(key, n - 1);
  return true;
}
