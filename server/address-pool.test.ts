import assert from 'node:assert/strict';
import { test } from 'node:test';
import { intToIpv4, ipv4ToInt } from '../protocol/config';
import { AddressPool } from './address-pool';

const ip = ipv4ToInt;

test('leases the inclusive range, never the gateway, then reports exhaustion', () => {
  const pool = new AddressPool(ip('198.18.0.1'), ip('198.18.0.3'), [ip('198.18.0.2')]);
  assert.equal(pool.freeCount, 2);
  assert.equal(intToIpv4(pool.lease()!), '198.18.0.1');
  assert.equal(intToIpv4(pool.lease()!), '198.18.0.3');
  assert.equal(pool.lease(), null);
  assert.equal(pool.leasedCount, 2);
});

test('released addresses come back, last in the queue; double release is harmless', () => {
  const pool = new AddressPool(ip('198.18.0.2'), ip('198.18.0.4'));
  const a = pool.lease()!;
  pool.release(a);
  pool.release(a);
  assert.equal(pool.freeCount, 3);
  assert.equal(intToIpv4(pool.lease()!), '198.18.0.3');
  assert.equal(intToIpv4(pool.lease()!), '198.18.0.4');
  assert.equal(pool.lease(), a);
  assert.equal(pool.lease(), null);
});
