// The IPv4 lease pool: an inclusive range minus the gateway; O(1) lease and release, FIFO reuse.
import { intToIpv4 } from '../protocol/config';

export class AddressPool {
  /** Ring buffer of free addresses (uint32); FIFO so a just-released address is reused last. */
  private readonly ring: Uint32Array;
  private head = 0;
  private free = 0;
  private readonly leased = new Set<number>();

  constructor(first: number, last: number, exclude: number[] = []) {
    if (last < first) throw new RangeError(`empty pool: ${intToIpv4(first)}-${intToIpv4(last)}`);
    const size = last - first + 1;
    if (size > 1 << 20) throw new RangeError(`pool of ${size} addresses is too large (max ${1 << 20})`);
    this.ring = new Uint32Array(size);
    const skip = new Set(exclude);
    for (let a = first; a <= last; a++) {
      if (!skip.has(a)) this.ring[this.free++] = a;
    }
  }

  get freeCount(): number {
    return this.free;
  }

  get leasedCount(): number {
    return this.leased.size;
  }

  /** Returns a free address, or null when the pool is exhausted. */
  lease(): number | null {
    if (this.free === 0) return null;
    const address = this.ring[this.head];
    this.head = (this.head + 1) % this.ring.length;
    this.free--;
    this.leased.add(address);
    return address;
  }

  release(address: number): void {
    if (!this.leased.delete(address)) return; // double release is harmless
    this.ring[(this.head + this.free) % this.ring.length] = address;
    this.free++;
  }
}
