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
  // Even when the message names a cause that would otherwise decide the sentence.
  const timedOut = explainFailure({ reason: 'wrong-key', message: 'no frame decrypted before the socket closed (ETIMEDOUT)' });
  assert.equal(timedOut.summary, 'The server could not read this profile’s encrypted traffic: its key is different, or it does not encrypt.');
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

test('each system error code in the message decides the sentence, whatever the reason says', () => {
  const rows: [string, string, RegExp][] = [
    ['getaddrinfo ENODATA vpn.example.org', 'The server name has no IPv6 address.', /^Check the spelling of the server name/],
    ['getaddrinfo EAI_NONAME vpn.example.org', 'The server name has no IPv6 address.', /^Check the spelling of the server name/],
    ['getaddrinfo EAI_NODATA vpn.example.org', 'The server name has no IPv6 address.', /^Check the spelling of the server name/],
    ['connect ETIMEDOUT fd00::1:5555', 'The server did not answer in time.', /^A firewall may block the port, or the server is down\. Try again later\.$/],
    ['connect ECONNREFUSED fd00::1:5599', 'The server refused the connection: nothing listens on that port.', /^Check the port in this profile, or ask whether the gateway is running\.$/],
    ['connect EHOSTUNREACH fd00::7:5555', 'Nothing answers at the server’s IPv6 address.', /ask the server’s administrator whether the gateway is up\.$/],
    ['connect ENETUNREACH fd00::1:5555', 'This computer has no IPv6 route to the server.', /The app connects again when the network is back\.$/],
    ['getaddrinfo EAI_AGAIN vpn.example.org', 'The server name could not be looked up: no DNS server answered.', /IPv6 address instead of its name avoids the lookup\.$/],
    ['no heartbeat for 90 s: this computer was asleep', 'This computer was asleep for longer than the server waits.', /^Connecting again brings the tunnel back\.$/],
    ['the server requires encryption', 'The server accepts only encrypted connections.', /^Edit this profile: turn on “Encrypt traffic” and enter the server’s key\.$/],
    ["this computer's address fd00::2 went away (network change)", 'This computer’s network changed.', /^The app connects again over the new network\.$/],
  ];
  for (const [message, summary, advice] of rows) {
    // connection-lost: a reason whose own sentence is none of these.
    const e = explainFailure({ reason: 'connection-lost', message });
    assert.equal(e.summary, summary, message);
    assert.match(e.advice, advice, message);
  }
  // The first match wins, in the order of the list: a timeout while the address is unreachable is "no route".
  assert.equal(explainFailure({ reason: 'connection-lost', message: 'ENETUNREACH after ETIMEDOUT' }).summary, 'This computer has no IPv6 route to the server.');
  // A code is a whole word: ESOCKETTIMEDOUT is not ETIMEDOUT, "asleepy" is not "asleep".
  assert.equal(explainFailure({ reason: 'connection-lost', message: 'ESOCKETTIMEDOUT' }).summary, 'The connection to the server was lost.');
  assert.equal(explainFailure({ reason: 'connection-lost', message: 'feeling asleepy' }).summary, 'The connection to the server was lost.');
});

test('without a known cause, each reason has its own sentence and advice', () => {
  const rows: [Failure['reason'], string, RegExp][] = [
    ['dns-failed', 'The server name could not be looked up.', /^Check the server name in this profile and that this computer is online\.$/],
    ['server-unreachable', 'The server could not be reached.', /^Check the server address and port in this profile, and that this computer is online with IPv6\.$/],
    ['no-ipv4-offered', 'The server did not offer an IPv4 address.', /^It may have none left to give\. Try again later, or ask the server’s administrator\.$/],
    ['bad-ip-response', 'The server’s address offer was invalid.', /^Tell the server’s administrator; the details below show what it sent\.$/],
    ['wrong-key', 'The server could not read this profile’s encrypted traffic: its key is different, or it does not encrypt.', /^Ask the server’s administrator for its key/],
    ['plaintext-refused', 'The server closed the connection without offering an address.', /If it does not encrypt, it may have no free address: try again later\.$/],
    ['heartbeat-lost', 'The server stopped answering.', /^The network or the server went away\. The app connects again by itself when the profile allows it\.$/],
    ['connection-lost', 'The connection to the server was lost.', /^The app connects again by itself when the profile allows it; otherwise click Try again\.$/],
    ['network-changed', "This computer's network changed.", /^The app connects again at once from the new network when the profile allows it; otherwise click Try again\.$/],
    ['protocol-error', 'The server sent data this app does not understand.', /^Check that the address and port are those of a 4over6 gateway/],
    ['tun-failed', 'The tunnel device could not be created.', /^The helper needs \/dev\/net\/tun/],
    ['system-config-failed', 'The tunnel’s address, routes or DNS could not be set.', /^Another VPN or network tool may hold the same routes: disconnect it and try again\. The details say which change failed\.$/],
  ];
  for (const [reason, summary, advice] of rows) {
    const e = explainFailure({ reason, message: 'something else went wrong' });
    assert.equal(e.summary, summary, reason);
    assert.match(e.advice, advice, reason);
    assert.equal(e.detail, 'something else went wrong');
  }
});

test('the detail: the message, else the reason in words (a blank message is none)', () => {
  assert.equal(explainFailure({ reason: 'heartbeat-lost', message: '' }).detail, 'the server stopped answering (no heartbeat)');
  assert.equal(explainFailure({ reason: 'heartbeat-lost', message: '  \n' }).detail, 'the server stopped answering (no heartbeat)');
  assert.equal(explainFailure({ reason: 'heartbeat-lost', message: ' no heartbeat for 60 s ' }).detail, 'no heartbeat for 60 s');
});

test('a reason from a newer helper that this app does not know still reads as a sentence', () => {
  const e = explainFailure({ reason: 'quota-exceeded' as Failure['reason'], message: '' });
  assert.deepEqual(e, { summary: 'quota-exceeded.', advice: 'Try again.', detail: 'quota-exceeded' });
  // Its message is still read for a known cause.
  assert.equal(explainFailure({ reason: 'quota-exceeded' as Failure['reason'], message: 'connect ETIMEDOUT' }).summary, 'The server did not answer in time.');
});
