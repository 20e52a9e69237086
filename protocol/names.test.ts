// Server hosts and keys as every input path checks them (config files, CLI, helper contract, UI).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isCanonicalUuid, isServerHost } from './names';

const label = (n: number, c = 'a') => c.repeat(n);

test('a server host is an IPv6 literal or a DNS name of 63-character labels and 253 characters at most', () => {
  const hosts: [string, boolean][] = [
    ['fd00::1', true], ['::', true], ['2001:db8::ffff:198.51.100.7', true], ['FD00::A', true], ['fe80::1%eth0', true], // a zone: a link-local server
   
    ['vpn.example.org', true], ['vpn.example.org.', true], ['a', true], ['a.b', true], ['x1-2.example', true], ['0.example', true],
    ['Vpn.Example.ORG', true], ['a-b-c', true], ['a--b', true],
    [label(63), true], [label(64), false], [`${label(63)}.${label(63)}`, true], [`x.${label(64)}`, false],
    // 253 characters in all: four labels of 63 and their dots are 255.
    [`${label(63)}.${label(63)}.${label(63)}.${label(61)}`, true], [`${label(63)}.${label(63)}.${label(63)}.${label(62)}`, false],
    ['', false], ['.', false], ['.example', false], ['a..b', false], ['a.b..', false], ['-vpn.example', false], ['vpn-.example', false],
    ['vpn.-x', false], ['vpn.x-', false], ['vpn_1.example', false], ['vpn example', false], [' vpn.example', false], ['vpn.example ', false],
    ['vpn.example\n', false], ['[fd00::1]', false], ['fd00:::1', false], ['vpn.example;reboot', false], ['a/b', false],
  ];
  for (const [text, ok] of hosts) assert.equal(isServerHost(text), ok, JSON.stringify(text));
});

test('a key is a canonical 8-4-4-4-12 hex UUID, in either case, and nothing around it', () => {
  const keys: [string, boolean][] = [
    ['bbde0d1c-083b-4f20-9cce-799367ba1a5a', true], ['BBDE0D1C-083B-4F20-9CCE-799367BA1A5A', true], ['00000000-0000-0000-0000-000000000000', true],
    ['bbde0d1c083b4f209cce799367ba1a5a', false], ['{bbde0d1c-083b-4f20-9cce-799367ba1a5a}', false], ['bbde0d1c-083b-4f20-9cce-799367ba1a5', false],
    ['bbde0d1c-083b-4f20-9cce-799367ba1a5aa', false], ['xbbde0d1c-083b-4f20-9cce-799367ba1a5a', false], ['bbde0d1-c083b-4f20-9cce-799367ba1a5a', false],
    ['bbde0d1c-083-b4f20-9cce-799367ba1a5a', false], ['bbde0d1c-083b-4f2-09cce-799367ba1a5a', false], ['bbde0d1c-083b-4f20-9cc-e799367ba1a5a', false],
    ['gbde0d1c-083b-4f20-9cce-799367ba1a5a', false], ['bbde0d1c-083b-4f20-9cce-799367ba1a5g', false], ['bbde0d1c-g83b-4f20-9cce-799367ba1a5a', false],
    ['bbde0d1c-083b-gf20-9cce-799367ba1a5a', false], ['bbde0d1c-083b-4f20-gcce-799367ba1a5a', false], ['bbde0d1c_083b_4f20_9cce_799367ba1a5a', false],
    [' bbde0d1c-083b-4f20-9cce-799367ba1a5a', false], ['bbde0d1c-083b-4f20-9cce-799367ba1a5a\n', false], ['', false],
  ];
  for (const [text, ok] of keys) assert.equal(isCanonicalUuid(text), ok, JSON.stringify(text));
});
