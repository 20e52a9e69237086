// The IPv4 lease pool with reservations: which address a client gets. Pure: no sockets, no files;
// the clock is passed in (wall-clock milliseconds, so reservations can be written to disk).
//
// Every address of the pool (an inclusive range minus the gateway) is in one state:
//   free      nobody's; handed out first-in first-out, so a just-released address is reused last
//   reserved  free, but kept for its last holder until a deadline (lease_grace after release)
//   in use    held by a live session
//
// Who a holder is: an identity string. "id:<client id>" (our extension's id, protocol.md 4.1) is
// exclusive: one client, at most one address in use, so a second connection of that id takes the
// address over. Anything else (a legacy client's IPv6 source address) may hold several addresses
// at once: two legacy clients behind one address are two sessions.
//
// Choosing an address for identity I asking for address R (null: it did not ask):
//   1. I is exclusive and already holds an address in use       -> that one ("takeover": the caller
//                                                                   closes the old session)
//   2. R is in the pool and free, or reserved for I              -> R
//   3. an address is reserved for I                              -> that one
//   4. a free address                                            -> the one free the longest
//   5. an address reserved for someone else                      -> the one whose reservation ends first
//   6. none                                                      -> null (pool exhausted)
// An address in use is never given to another identity. Each identity keeps at most one reservation:
// when it gets an address or a newer reservation, its older one becomes free.
import { intToIpv4 } from '../protocol/config';

export type GrantKind = 'takeover' | 'requested' | 'reserved' | 'free' | 'reclaimed';

export interface Grant {
  address: number;
  kind: GrantKind;
  /** For 'reclaimed': whose reservation was cut short. */
  previousHolder?: string;
}

/** One non-free address, as written to and read from disk. */
export interface LeaseRecord {
  address: number;
  holder: string;
  /** Reservation deadline (wall-clock ms); absent for an address in use. */
  until?: number;
}

const FREE = 0;
const RESERVED = 1;
const IN_USE = 2;
const EXCLUDED = 3;
const NONE = -1;

/** A holder's identity: its client id when its IP request carried one, else its source address. */
export function identityOf(clientId: string | undefined, sourceAddress: string): string {
  return clientId !== undefined ? `id:${clientId}` : `src:${sourceAddress}`;
}

/** Whether `text` is an identity as identityOf makes them (for what is read back from disk). */
export function isIdentity(text: string): boolean {
  return /^id:[0-9a-f]{32}$/.test(text) || /^src:[0-9a-f:.]{2,45}$/.test(text);
}

/** True for identities that hold at most one address, so a new connection takes it over. */
export function isExclusiveIdentity(identity: string): boolean {
  return identity.startsWith('id:');
}

/** An intrusive FIFO list of address indexes; next/prev arrays are shared by the lists of one table. */
class IndexList {
  head = NONE;
  tail = NONE;
  size = 0;
  constructor(private readonly next: Int32Array, private readonly prev: Int32Array) {}

  push(i: number): void {
    this.next[i] = NONE;
    this.prev[i] = this.tail;
    if (this.tail === NONE) this.head = i;
    else this.next[this.tail] = i;
    this.tail = i;
    this.size++;
  }

  remove(i: number): void {
    const n = this.next[i];
    const p = this.prev[i];
    if (p === NONE) this.head = n;
    else this.next[p] = n;
    if (n === NONE) this.tail = p;
    else this.prev[n] = p;
    this.next[i] = NONE;
    this.prev[i] = NONE;
    this.size--;
  }
}

export class LeaseTable {
  private readonly first: number;
  private readonly state: Uint8Array;
  private readonly holder: Array<string | undefined>;
  private readonly until: Float64Array;
  private readonly free: IndexList;
  /** In order of their deadlines (grace is the same for all, so: in order of release). */
  private readonly reserved: IndexList;
  private readonly reservationOf = new Map<string, number>();
  /** Exclusive identities -> index of their address in use. */
  private readonly inUseOf = new Map<string, number>();
  private inUse = 0;

  constructor(first: number, last: number, exclude: number[], private readonly graceMs: number) {
    if (last < first) throw new RangeError(`empty pool: ${intToIpv4(first)}-${intToIpv4(last)}`);
    const size = last - first + 1;
    if (size > 1 << 20) throw new RangeError(`pool of ${size} addresses is too large (max ${1 << 20})`);
    this.first = first;
    this.state = new Uint8Array(size);
    this.holder = new Array<string | undefined>(size);
    this.until = new Float64Array(size);
    const next = new Int32Array(size).fill(NONE);
    const prev = new Int32Array(size).fill(NONE);
    this.free = new IndexList(next, prev);
    this.reserved = new IndexList(next, prev);
    const skip = new Set(exclude);
    for (let i = 0; i < size; i++) {
      if (skip.has(first + i)) this.state[i] = EXCLUDED;
      else this.free.push(i);
    }
  }

  /** Free addresses not reserved for anyone. */
  get freeCount(): number {
    return this.free.size;
  }

  get reservedCount(): number {
    return this.reserved.size;
  }

  get inUseCount(): number {
    return this.inUse;
  }

  /** Whether `address` belongs to the pool (and is not the gateway's). */
  contains(address: number): boolean {
    const i = address - this.first;
    return i >= 0 && i < this.state.length && this.state[i] !== EXCLUDED;
  }

  /** Who holds `address` (in use or reserved), or undefined. */
  holderOf(address: number): string | undefined {
    return this.contains(address) ? this.holder[address - this.first] : undefined;
  }

  isInUse(address: number): boolean {
    return this.contains(address) && this.state[address - this.first] === IN_USE;
  }

  /** Chooses an address for `identity` (rules in the header comment) and marks it in use; null when none is left. */
  acquire(identity: string, requested: number | null, now: number): Grant | null {
    this.expire(now);
    if (isExclusiveIdentity(identity)) {
      const held = this.inUseOf.get(identity);
      if (held !== undefined) return { address: this.first + held, kind: 'takeover' };
    }
    if (requested !== null && this.contains(requested)) {
      const i = requested - this.first;
      if (this.state[i] === FREE || (this.state[i] === RESERVED && this.holder[i] === identity)) {
        return this.take(i, identity, 'requested');
      }
    }
    const mine = this.reservationOf.get(identity);
    if (mine !== undefined) return this.take(mine, identity, 'reserved');
    if (this.free.head !== NONE) return this.take(this.free.head, identity, 'free');
    if (this.reserved.head !== NONE) {
      const i = this.reserved.head;
      const previousHolder = this.holder[i];
      const grant = this.take(i, identity, 'reclaimed');
      if (previousHolder !== undefined) grant.previousHolder = previousHolder;
      return grant;
    }
    return null;
  }

  /** The session holding `address` ended: the address stays reserved for its holder for the grace period. */
  release(address: number, now: number): void {
    if (!this.contains(address)) return;
    const i = address - this.first;
    if (this.state[i] !== IN_USE) return; // double release is harmless
    const identity = this.holder[i] as string;
    this.inUse--;
    if (this.inUseOf.get(identity) === i) this.inUseOf.delete(identity);
    if (this.graceMs <= 0) {
      this.makeFree(i);
      return;
    }
    this.reserve(i, identity, now + this.graceMs);
  }

  /** Ends the reservations whose deadline has come; returns how many. */
  expire(now: number): number {
    let n = 0;
    while (this.reserved.head !== NONE && this.until[this.reserved.head] <= now) {
      const i = this.reserved.head;
      this.reserved.remove(i);
      this.reservationOf.delete(this.holder[i] as string);
      this.makeFree(i);
      n++;
    }
    return n;
  }

  /** Every address in use or reserved: what the lease file holds. */
  records(): LeaseRecord[] {
    const out: LeaseRecord[] = [];
    for (let i = 0; i < this.state.length; i++) {
      if (this.state[i] === IN_USE) out.push({ address: this.first + i, holder: this.holder[i] as string });
      else if (this.state[i] === RESERVED) out.push({ address: this.first + i, holder: this.holder[i] as string, until: this.until[i] });
    }
    return out;
  }

  /**
   * Loads records of an earlier run into a table where nothing is in use yet. Addresses in use then
   * become reservations until now + grace (their sessions are gone); reservations keep their
   * deadline, at most now + grace. Records outside the pool, expired, or for an address or identity
   * already loaded are skipped. Returns how many reservations were made.
   */
  restore(records: readonly LeaseRecord[], now: number): number {
    if (this.graceMs <= 0) return 0;
    const latest = now + this.graceMs;
    const seen = new Set<number>();
    const byHolder = new Map<string, LeaseRecord & { until: number }>();
    for (const r of records) {
      const until = Math.min(r.until ?? latest, latest);
      if (until <= now || !this.contains(r.address) || seen.has(r.address)) continue;
      seen.add(r.address); // the first record of an address counts
      const other = byHolder.get(r.holder);
      if (other === undefined || other.until < until) byHolder.set(r.holder, { ...r, until }); // an identity's latest
    }
    let n = 0;
    for (const r of [...byHolder.values()].sort((a, b) => a.until - b.until)) {
      const i = r.address - this.first;
      if (this.state[i] !== FREE) continue;
      this.free.remove(i);
      this.reserve(i, r.holder, r.until);
      n++;
    }
    return n;
  }

  private take(i: number, identity: string, kind: GrantKind): Grant {
    if (this.state[i] === FREE) {
      this.free.remove(i);
    } else if (this.state[i] === RESERVED) {
      this.reserved.remove(i);
      this.reservationOf.delete(this.holder[i] as string);
    }
    // One address per identity at a time: the identity's other reservation, if any, is let go.
    const other = this.reservationOf.get(identity);
    if (other !== undefined && other !== i) {
      this.reserved.remove(other);
      this.reservationOf.delete(identity);
      this.makeFree(other);
    }
    this.state[i] = IN_USE;
    this.holder[i] = identity;
    this.inUse++;
    if (isExclusiveIdentity(identity)) this.inUseOf.set(identity, i);
    return { address: this.first + i, kind };
  }

  private reserve(i: number, identity: string, until: number): void {
    const older = this.reservationOf.get(identity);
    if (older !== undefined) {
      this.reserved.remove(older);
      this.makeFree(older);
    }
    this.state[i] = RESERVED;
    this.holder[i] = identity;
    this.until[i] = until;
    this.reserved.push(i);
    this.reservationOf.set(identity, i);
  }

  private makeFree(i: number): void {
    this.state[i] = FREE;
    this.holder[i] = undefined;
    this.free.push(i);
  }
}
