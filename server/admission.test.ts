import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Source, UnleasedAdmission, sourceOf } from './admission';

const src = (a: string): Source => {
  const s = sourceOf(a);
  assert.ok(s, a);
  return s;
};

test('source keys: canonical address and its /64; IPv4 (also IPv4-mapped) by /24; garbage is null', () => {
  assert.deepEqual(sourceOf('fd00:0:0:0:0:0:0:1'), { address: 'fd00::1', prefix: 'fd00::/64' });
  assert.deepEqual(sourceOf('2001:db8:1:2:aaaa:bbbb:cccc:dddd'), { address: '2001:db8:1:2:aaaa:bbbb:cccc:dddd', prefix: '2001:db8:1:2::/64' });
  assert.deepEqual(sourceOf('::ffff:198.18.3.4'), { address: '198.18.3.4', prefix: '198.18.3.0/24' });
  assert.deepEqual(sourceOf('198.18.3.4'), { address: '198.18.3.4', prefix: '198.18.3.0/24' });
  assert.equal(sourceOf(undefined), null);
  assert.equal(sourceOf('not an address'), null);
});

test('per-address limit: the next one from that address is refused, another address still gets in', () => {
  const a = new UnleasedAdmission({ perAddress: 2, perPrefix: 10, total: 10 });
  assert.equal(a.admit(src('fd00::1')), null);
  assert.equal(a.admit(src('fd00::1')), null);
  assert.equal(a.admit(src('fd00::1')), 'perAddress');
  assert.equal(a.admit(src('fd00::2')), null);
  assert.equal(a.unleased, 3, 'a refusal counts nothing');
  assert.equal(a.fromAddress(src('fd00::1')), 2);
});

test('per-prefix limit counts every address of the /64, not those of the next /64', () => {
  const a = new UnleasedAdmission({ perAddress: 10, perPrefix: 3, total: 10 });
  for (const x of ['fd00::1', 'fd00::2', 'fd00::ffff:1']) assert.equal(a.admit(src(x)), null);
  assert.equal(a.admit(src('fd00::3')), 'perPrefix');
  assert.equal(a.admit(src('fd00:0:0:1::1')), null);
  assert.equal(a.fromPrefix(src('fd00::9')), 3);
});

test('the total limit applies across sources; limits are checked address, prefix, total in that order', () => {
  const a = new UnleasedAdmission({ perAddress: 1, perPrefix: 1, total: 2 });
  assert.equal(a.admit(src('fd00:1::1')), null);
  assert.equal(a.admit(src('fd00:2::1')), null);
  assert.equal(a.admit(src('fd00:3::1')), 'total');
  assert.equal(a.admit(src('fd00:1::1')), 'perAddress');
  assert.equal(a.admit(src('fd00:1::2')), 'perPrefix');
});

test('release frees exactly one place; releasing what was never admitted changes nothing', () => {
  const a = new UnleasedAdmission({ perAddress: 1, perPrefix: 2, total: 2 });
  assert.equal(a.admit(src('fd00::1')), null);
  assert.equal(a.admit(src('fd00::2')), null);
  a.release(src('fd00::1'));
  assert.equal(a.unleased, 1);
  assert.equal(a.fromAddress(src('fd00::1')), 0);
  assert.equal(a.fromPrefix(src('fd00::1')), 1);
  assert.equal(a.admit(src('fd00::1')), null);
  a.release(src('fd00:9::9'));
  assert.equal(a.unleased, 2);
  a.release(src('fd00::1'));
  a.release(src('fd00::2'));
  assert.equal(a.unleased, 0);
  assert.equal(a.fromPrefix(src('fd00::1')), 0);
});
