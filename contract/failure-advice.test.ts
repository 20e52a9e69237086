import assert from 'node:assert/strict';
import { test } from 'node:test';
import { explainFailure } from './failure-advice';
import type { Failure } from './tunnel-state';

// Messages as the engine writes them (helper/tunnel-engine.ts), with Node's own error texts inside.
const cases: { failure: Failure; summary: RegExp; advice: RegExp }[] = [
  {
    failure: { reason: 'server-unreachable', message: 'cannot connect to [fd00::1]:5555: connect ENETUNREACH fd00::1:5555 - Local (:::0)' },
    summary: /no IPv6 route to the server/, advice: /lost its IPv6 address.*check your network/,
  },
  {
    failure: { reason: 'server-unreachable', message: 'cannot connect to [fd00::7]:5555: connect EHOSTUNREACH fd00::7:5555' },
    summary: /Nothing answers at the server’s IPv6 address/, advice: /Check the server address/,
  },
  {
    failure: { reason: 'dns-failed', message: 'cannot resolve vpn.example.org to an IPv6 address: getaddrinfo EAI_AGAIN vpn.example.org' },
    summary: /no DNS server answered/, advice: /online/,
  },
  {
    failure: { reason: 'dns-failed', message: 'cannot resolve vpn.example.org to an IPv6 address: getaddrinfo ENOTFOUND vpn.example.org' },
    summary: /has no IPv6 address/, advice: /spelling/,
  },
  {
    failure: { reason: 'server-unreachable', message: 'cannot connect to [fd00::1]:5599: connect ECONNREFUSED fd00::1:5599' },
    summary: /refused the connection/, advice: /Check the port/,
  },
  {
    failure: { reason: 'wrong-key', message: 'the server answered 199: it has no key or a different key' },
    summary: /could not read this profile’s encrypted traffic/, advice: /enter it in this profile.*turn encryption off/,
  },
  {
    failure: { reason: 'plaintext-refused', message: 'the server closed the connection before offering an address (client sent plaintext but this server requires encryption)' },
    summary: /^The server accepts only encrypted connections\.$/, advice: /turn on “Encrypt traffic”/,
  },
  {
    failure: { reason: 'plaintext-refused', message: 'the server closed the connection before offering an address (closed by peer)' },
    summary: /closed the connection without offering an address/, advice: /accepts only encrypted connections.*turn on “Encrypt traffic”/,
  },
  {
    failure: { reason: 'connection-lost', message: "this computer's address fd00::2 went away (network change)" },
    summary: /network changed/, advice: /new network/,
  },
  {
    failure: { reason: 'tun-failed', message: 'open /dev/net/tun: ENOENT' },
    summary: /tunnel device could not be created/, advice: /modprobe tun/,
  },
];

test('each cause gets a sentence that says what happened and one that says what to do; the raw text is the detail', () => {
  for (const { failure, summary, advice } of cases) {
    const e = explainFailure(failure);
    assert.match(e.summary, summary, failure.message);
    assert.match(e.advice, advice, failure.message);
    assert.equal(e.detail, failure.message);
    assert.doesNotMatch(e.summary + e.advice, /E[A-Z_]{4,}|199|getaddrinfo/, 'no error codes in the sentences');
  }
});

test('a wrong key stays a wrong key whatever its message says', () => {
  const e = explainFailure({ reason: 'wrong-key', message: "the server's frames do not decrypt with our key (ECONNRESET)" });
  assert.match(e.summary, /encrypted traffic/);
});

test('every reason has a sentence without a known cause, and an empty message still has a detail', () => {
  const reasons: Failure['reason'][] = ['dns-failed', 'server-unreachable', 'no-ipv4-offered', 'bad-ip-response', 'wrong-key',
    'plaintext-refused', 'heartbeat-lost', 'connection-lost', 'protocol-error', 'tun-failed', 'system-config-failed'];
  const summaries = new Set<string>();
  for (const reason of reasons) {
    const e = explainFailure({ reason, message: '' });
    assert.match(e.summary, /^[A-Z].*\.$/, reason);
    assert.ok(e.advice.length > 10, reason);
    assert.ok(e.detail.length > 0, reason);
    summaries.add(e.summary);
  }
  assert.equal(summaries.size, reasons.length, 'one sentence per reason');
});
