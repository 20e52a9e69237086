import assert from 'node:assert/strict';
import { test } from 'node:test';
import { intToIpv4, ipv4ToInt } from '../protocol/config';
import { type Grant, LeaseTable, identityOf, isExclusiveIdentity, isIdentity } from './lease-table';

const ip = ipv4ToInt;
const GRACE = 600_000;
const A = 'id:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
const B = 'id:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb';
const C = 'id:cccccccccccccccccccccccccccccccc';
const LEGACY = 'src:fd00::1';

/** 198.18.0.first .. 198.18.0.last, gateway 198.18.0.1 excluded when inside. */
function table(first = 2, last = 4, grace = GRACE): LeaseTable {
  return new LeaseTable(ip(`198.18.0.${first}`), ip(`198.18.0.${last}`), [ip('198.18.0.1')], grace);
}
const show = (g: Grant | null) => (g === null ? null : `${intToIpv4(g.address)} ${g.kind}${g.previousHolder ? ` from ${g.previousHolder}` : ''}`);

test('identities: a client id is exclusive, a source address is not', () => {
  assert.equal(isExclusiveIdentity(A), true);
  assert.equal(isExclusiveIdentity(LEGACY), false);
});

test('free addresses go first-in first-out, never the gateway; then null', () => {
  const t = new LeaseTable(ip('198.18.0.1'), ip('198.18.0.3'), [ip('198.18.0.2')], GRACE);
  assert.equal(t.freeCount, 2);
  assert.equal(t.contains(ip('198.18.0.2')), false);
  assert.equal(show(t.acquire(A, null, 0)), '198.18.0.1 free');
  assert.equal(show(t.acquire(B, null, 0)), '198.18.0.3 free');
  assert.equal(t.acquire(C, null, 0), null);
  assert.equal(t.inUseCount, 2);
  assert.equal(t.freeCount, 0);
});

test('a released address is reserved for its holder and comes back to it, with or without asking', () => {
  const t = table();
  const a = t.acquire(A, null, 0)!;
  t.release(a.address, 1000);
  assert.equal(t.reservedCount, 1);
  assert.equal(t.holderOf(a.address), A);
  assert.equal(show(t.acquire(B, null, 2000)), '198.18.0.3 free', 'someone else gets a free one');
  assert.equal(show(t.acquire(A, null, 3000)), '198.18.0.2 reserved');
  t.release(a.address, 4000);
  assert.equal(show(t.acquire(A, a.address, 5000)), '198.18.0.2 requested');
  assert.equal(t.reservedCount, 0);
});

test('reserved addresses go to others only when no free one is left, the earliest-ending reservation first', () => {
  const t = table(2, 4);
  for (const who of [A, B, C]) t.acquire(who, null, 0);
  t.release(ip('198.18.0.3'), 100); // B's, ends first
  t.release(ip('198.18.0.2'), 200); // A's
  assert.equal(t.freeCount, 0);
  assert.equal(show(t.acquire('id:dddddddddddddddddddddddddddddddd', null, 300)), '198.18.0.3 reclaimed from id:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb');
  assert.equal(t.holderOf(ip('198.18.0.2')), A, 'the other reservation stays');
  // B's reservation is gone: B gets what is left, A's reservation, not its own address.
  assert.equal(show(t.acquire(B, ip('198.18.0.3'), 400)), '198.18.0.2 reclaimed from id:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa');
  assert.equal(t.acquire(A, null, 500), null);
});

test('asking: a free address is granted; one reserved for another or in use is not; outside the pool is ignored', () => {
  const t = table(2, 6);
  assert.equal(show(t.acquire(A, ip('198.18.0.5'), 0)), '198.18.0.5 requested', 'free, though not next in line');
  assert.equal(show(t.acquire(B, ip('198.18.0.5'), 0)), '198.18.0.2 free', 'in use by A');
  t.release(ip('198.18.0.5'), 10);
  assert.equal(show(t.acquire(C, ip('198.18.0.5'), 20)), '198.18.0.3 free', 'reserved for A');
  assert.equal(show(t.acquire(LEGACY, ip('198.18.0.1'), 30)), '198.18.0.4 free', 'the gateway is not in the pool');
  assert.equal(show(t.acquire('src:fd00::2', ip('10.9.9.9'), 40)), '198.18.0.6 free');
  assert.equal(t.holderOf(ip('198.18.0.5')), A);
});

test('a client id already in use takes its address over; a legacy source gets a second address instead', () => {
  const t = table(2, 5);
  const a = t.acquire(A, null, 0)!;
  assert.equal(show(t.acquire(A, null, 10)), '198.18.0.2 takeover');
  assert.equal(show(t.acquire(A, ip('198.18.0.4'), 10)), '198.18.0.2 takeover', 'one address per id, whatever it asks for');
  assert.equal(t.inUseCount, 1);
  assert.equal(t.isInUse(a.address), true);
  assert.equal(show(t.acquire(LEGACY, null, 20)), '198.18.0.3 free');
  assert.equal(show(t.acquire(LEGACY, null, 30)), '198.18.0.4 free', 'two legacy clients behind one address');
  assert.equal(show(t.acquire(LEGACY, ip('198.18.0.3'), 40)), '198.18.0.5 free', 'not the address its other session uses');
});

test('after a takeover the old session\'s release does not free the address the new one holds... once released it is reserved', () => {
  const t = table(2, 3);
  const a = t.acquire(A, null, 0)!;
  t.acquire(A, null, 10); // takeover: same address, still in use
  t.release(a.address, 20); // the new session ends
  assert.equal(t.isInUse(a.address), false);
  t.release(a.address, 30); // a second release is harmless
  assert.equal(t.reservedCount, 1);
  assert.equal(t.inUseCount, 0);
  assert.equal(show(t.acquire(A, null, 40)), '198.18.0.2 reserved', 'after the release, no takeover: a reservation');
});

test('reservations end after the grace period, exactly at the deadline, and their address joins the free queue last', () => {
  const t = table(2, 4, 1000);
  t.acquire(A, null, 0);
  t.release(ip('198.18.0.2'), 5000);
  assert.equal(t.expire(5999), 0);
  assert.equal(t.holderOf(ip('198.18.0.2')), A);
  assert.equal(t.expire(6000), 1);
  assert.equal(t.holderOf(ip('198.18.0.2')), undefined);
  assert.equal(t.freeCount, 3);
  assert.equal(show(t.acquire(B, null, 6000)), '198.18.0.3 free');
  assert.equal(show(t.acquire(C, null, 6000)), '198.18.0.4 free');
  assert.equal(show(t.acquire(A, null, 6000)), '198.18.0.2 free', 'A has no reservation any more');
});

test('acquire ends due reservations first', () => {
  const t = table(2, 2, 1000);
  t.acquire(A, null, 0);
  t.release(ip('198.18.0.2'), 0);
  assert.equal(show(t.acquire(B, null, 1000)), '198.18.0.2 free', 'free, not reclaimed');
});

test('lease_grace 0: a released address is free at once', () => {
  const t = table(2, 3, 0);
  t.acquire(A, null, 0);
  t.release(ip('198.18.0.2'), 0);
  assert.equal(t.reservedCount, 0);
  assert.equal(t.freeCount, 2);
  assert.equal(show(t.acquire(B, null, 0)), '198.18.0.3 free');
  assert.equal(show(t.acquire(A, null, 0)), '198.18.0.2 free');
  assert.equal(t.restore([{ address: ip('198.18.0.3'), holder: C }], 0), 0);
});

test('one reservation per identity: a newer one, or a new address, lets the older go', () => {
  const t = table(2, 5);
  t.acquire(LEGACY, null, 0); // .2
  t.acquire(LEGACY, null, 0); // .3
  t.release(ip('198.18.0.2'), 10);
  t.release(ip('198.18.0.3'), 20);
  assert.equal(t.reservedCount, 1);
  assert.equal(t.holderOf(ip('198.18.0.2')), undefined);
  assert.equal(t.holderOf(ip('198.18.0.3')), LEGACY);
  // A with a reservation asks for another free address: it gets that one and its reservation goes.
  t.acquire(A, null, 30); // .4
  t.release(ip('198.18.0.4'), 40);
  assert.equal(show(t.acquire(A, ip('198.18.0.5'), 50)), '198.18.0.5 requested');
  assert.equal(t.holderOf(ip('198.18.0.4')), undefined);
  assert.equal(t.reservedCount, 1);
});

test('release of an address not in use or outside the pool changes nothing', () => {
  const t = table(2, 3);
  t.release(ip('198.18.0.2'), 0);
  t.release(ip('198.18.0.1'), 0);
  t.release(ip('10.0.0.1'), 0);
  assert.deepEqual([t.freeCount, t.reservedCount, t.inUseCount], [2, 0, 0]);
});

test('records and restore: in use becomes reserved for the grace period, deadlines kept or shortened, the rest skipped', () => {
  const before = table(2, 6);
  before.acquire(A, null, 0); // .2 in use
  before.acquire(B, null, 0); // .3
  before.release(ip('198.18.0.3'), 100_000); // reserved until 700,000
  before.acquire(LEGACY, null, 0); // .4 in use
  assert.deepEqual(before.records(), [
    { address: ip('198.18.0.2'), holder: A },
    { address: ip('198.18.0.3'), holder: B, until: 700_000 },
    { address: ip('198.18.0.4'), holder: LEGACY },
  ]);

  const after = table(2, 6);
  const now = 200_000;
  const n = after.restore([
    ...before.records(),
    { address: ip('198.18.0.5'), holder: C, until: 150_000 }, // expired
    { address: ip('198.18.0.9'), holder: 'id:99999999999999999999999999999999' }, // outside the pool
    { address: ip('198.18.0.1'), holder: 'id:11111111111111111111111111111111' }, // the gateway
    { address: ip('198.18.0.2'), holder: 'id:22222222222222222222222222222222', until: 300_000 }, // address again
    { address: ip('198.18.0.6'), holder: B, until: 5_000_000 }, // B again, later deadline (shortened to now + grace)
  ], now);
  assert.equal(n, 3);
  assert.equal(after.inUseCount, 0);
  assert.deepEqual(after.records(), [
    { address: ip('198.18.0.2'), holder: A, until: now + GRACE },
    { address: ip('198.18.0.4'), holder: LEGACY, until: now + GRACE },
    { address: ip('198.18.0.6'), holder: B, until: now + GRACE },
  ]);
  assert.equal(after.freeCount, 2);
  assert.equal(show(after.acquire(A, ip('198.18.0.2'), now)), '198.18.0.2 requested');
  assert.equal(show(after.acquire(LEGACY, null, now)), '198.18.0.4 reserved');
  assert.equal(show(after.acquire(C, null, now)), '198.18.0.3 free');
  assert.equal(after.expire(now + GRACE), 1, 'B\'s reservation ends at now + grace');
});

test('restored reservations end in deadline order, before those made later', () => {
  const t = table(2, 4, 1000);
  t.restore([{ address: ip('198.18.0.3'), holder: B, until: 900 }, { address: ip('198.18.0.2'), holder: A, until: 500 }], 0);
  t.acquire(C, null, 100); // .4, the only free one
  t.release(ip('198.18.0.4'), 200); // until 1200
  assert.equal(t.expire(500), 1);
  assert.equal(t.holderOf(ip('198.18.0.2')), undefined);
  assert.equal(t.expire(900), 1);
  assert.equal(t.holderOf(ip('198.18.0.4')), C);
  assert.equal(t.expire(1200), 1);
});

test('a large pool: a thousand clients leave and come back to their own addresses', () => {
  const t = new LeaseTable(ip('198.18.0.2'), ip('198.18.15.254'), [ip('198.18.0.1')], GRACE);
  const id = (k: number) => `id:${k.toString(16).padStart(32, '0')}`;
  const first = Array.from({ length: 1000 }, (_, k) => t.acquire(id(k), null, 0)!.address);
  first.forEach((a) => t.release(a, 1));
  const again = Array.from({ length: 1000 }, (_, k) => t.acquire(id(999 - k), null, 2)!).reverse();
  assert.deepEqual(again.map((g) => g.address), first);
  assert.ok(again.every((g) => g.kind === 'reserved'));
});

test('identities: made from the client id when there is one, else the source; only well-formed ones are read back', () => {
  assert.equal(identityOf('0123456789abcdef0123456789abcdef', 'fd00::7'), 'id:0123456789abcdef0123456789abcdef');
  assert.equal(identityOf('', 'fd00::7'), 'id:', 'an empty id is still an id (the parser refuses it before)');
  assert.equal(identityOf(undefined, 'fd00::7'), 'src:fd00::7');
  assert.equal(isExclusiveIdentity('src:id:'), false);

  const good = [A, 'id:0123456789abcdef0123456789abcdef', LEGACY, 'src:::', 'src:::ffff:198.51.100.7',
    `src:${'fd00:1111:2222:3333:4444:5555:6666:7777'.padEnd(45, '.')}`];
  for (const text of good) assert.equal(isIdentity(text), true, text);
  const bad = ['', 'id:', 'id:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', 'id:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', 'id:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
    'id:gggggggggggggggggggggggggggggggg', ` ${A}`, `${A} `, `${A}\n`, 'xid:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa',
    'src:', 'src::', `src:${':'.repeat(46)}`, 'src:FD00::1', 'src:fd00::1 ', ' src:fd00::1', 'src:fd00::1/64', 'xsrc:fd00::1', 'src:fd00::1\n'];
  for (const text of bad) assert.equal(isIdentity(text), false, JSON.stringify(text));
});

test('the pool: both ends belong to it, the addresses beside them and the gateway do not', () => {
  const t = new LeaseTable(ip('198.18.0.2'), ip('198.18.0.9'), [ip('198.18.0.5')], GRACE);
  const inside = (a: string) => t.contains(ip(a));
  assert.deepEqual(['198.18.0.1', '198.18.0.2', '198.18.0.5', '198.18.0.9', '198.18.0.10'].map(inside), [false, true, false, true, false]);
  assert.equal(t.freeCount, 7);
  // Outside the pool nothing is held, in use or granted on request.
  const a = t.acquire(A, ip('198.18.0.10'), 0)!;
  assert.equal(show(a), '198.18.0.2 free');
  assert.equal(t.holderOf(ip('198.18.0.2')), A);
  assert.equal(t.isInUse(ip('198.18.0.2')), true);
  assert.equal(t.holderOf(ip('198.18.0.10')), undefined);
  assert.equal(t.isInUse(ip('198.18.0.1')), false);
  assert.equal(t.isInUse(ip('198.18.0.3')), false, 'free');
  assert.equal(show(t.acquire(B, ip('198.18.0.5'), 0)), '198.18.0.3 free', 'the gateway is never granted');
  assert.equal(show(t.acquire(C, ip('198.18.0.9'), 0)), '198.18.0.9 requested', 'the last address can be asked for');
  t.release(ip('198.18.0.2'), 0);
  assert.equal(t.isInUse(ip('198.18.0.2')), false, 'reserved is not in use');
  assert.equal(t.holderOf(ip('198.18.0.2')), A);
  // One address, the first: asked for and granted.
  const one = new LeaseTable(ip('198.18.0.2'), ip('198.18.0.2'), [], GRACE);
  assert.equal(show(one.acquire(A, ip('198.18.0.2'), 0)), '198.18.0.2 requested');
});

test('a pool that is empty or too large is refused with a message naming it', () => {
  assert.throws(() => new LeaseTable(ip('198.18.0.9'), ip('198.18.0.2'), [], GRACE),
    (e: Error) => e instanceof RangeError && e.message === 'empty pool: 198.18.0.9-198.18.0.2');
  const first = ip('198.18.0.0');
  assert.throws(() => new LeaseTable(first, first + (1 << 20), [], GRACE),
    (e: Error) => e instanceof RangeError && e.message === `pool of ${(1 << 20) + 1} addresses is too large (max 1048576)`);
  const largest = new LeaseTable(first, first + (1 << 20) - 1, [], GRACE);
  assert.equal(largest.freeCount, 1 << 20);
  assert.equal(largest.contains(first + (1 << 20) - 1), true);
  assert.equal(largest.contains(first + (1 << 20)), false);
});

test('restore keeps each identity\'s latest reservation whatever the order, the first of equal ones, and nothing due now', () => {
  const t = table(2, 9);
  const now = 1000;
  const n = t.restore([
    { address: ip('198.18.0.2'), holder: A, until: 9000 }, // A's latest comes first
    { address: ip('198.18.0.3'), holder: A, until: 5000 },
    { address: ip('198.18.0.4'), holder: B, until: 7000 }, // B: two equal deadlines, the first counts
    { address: ip('198.18.0.5'), holder: B, until: 7000 },
    { address: ip('198.18.0.6'), holder: C, until: now }, // due now: not restored
  ], now);
  assert.equal(n, 2);
  assert.deepEqual(t.records(), [{ address: ip('198.18.0.2'), holder: A, until: 9000 }, { address: ip('198.18.0.4'), holder: B, until: 7000 }]);
  assert.equal(t.reservedCount, 2);
  assert.equal(t.freeCount, 6);
});

test('restore into a table whose address is already taken leaves it with its holder', () => {
  const t = table(2, 4);
  t.acquire(A, null, 0); // .2 in use
  assert.equal(t.restore([{ address: ip('198.18.0.2'), holder: B, until: 5000 }], 0), 0);
  assert.equal(t.holderOf(ip('198.18.0.2')), A);
  assert.equal(t.isInUse(ip('198.18.0.2')), true);
  assert.deepEqual([t.freeCount, t.reservedCount, t.inUseCount], [2, 0, 1]);
  // Restored twice: the second time the address is already reserved.
  assert.equal(t.restore([{ address: ip('198.18.0.3'), holder: B, until: 5000 }], 0), 1);
  assert.equal(t.restore([{ address: ip('198.18.0.3'), holder: B, until: 5000 }], 0), 0);
  assert.deepEqual([t.freeCount, t.reservedCount, t.inUseCount], [1, 1, 1]);
  assert.equal(show(t.acquire(C, null, 0)), '198.18.0.4 free');
});

test('a takeover answers the address the id holds, wherever it is in the pool', () => {
  const t = table(2, 5);
  t.acquire(B, null, 0); // .2
  t.acquire(C, null, 0); // .3
  assert.equal(show(t.acquire(A, null, 0)), '198.18.0.4 free');
  assert.equal(show(t.acquire(A, null, 10)), '198.18.0.4 takeover');
});
