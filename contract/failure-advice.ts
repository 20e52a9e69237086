// Why a tunnel failed, in a sentence a person can act on, the same in the window and the tray's
// notifications. The engine reports a reason and a raw message ("cannot connect to [fd00::1]:5555:
// connect ENETUNREACH fd00::1:5555"); the cause that decides what to do is often only in the message
// (a system error code), so it is read from there. The raw message stays available as the detail.
import { FAILURE_TEXT, type Failure } from './tunnel-state';

export interface FailureAdvice {
  /** What happened, one sentence: "This computer has no IPv6 route to the server." */
  summary: string;
  /** What to do about it, one or two sentences. */
  advice: string;
  /** The engine's own words, for the Details disclosure and bug reports. */
  detail: string;
}

/** Causes found in the raw message, most specific first. */
const CAUSES: { test: RegExp; summary: string; advice: string }[] = [
  {
    test: /\bENETUNREACH\b/,
    summary: 'This computer has no IPv6 route to the server.',
    advice: 'It may have lost its IPv6 address, or this network has no IPv6: check your network connection. ' +
      'The app connects again when the network is back.',
  },
  {
    test: /\bEHOSTUNREACH\b/,
    summary: 'Nothing answers at the server’s IPv6 address.',
    advice: 'Check the server address in this profile, or ask the server’s administrator whether the gateway is up.',
  },
  {
    test: /\bEAI_AGAIN\b/,
    summary: 'The server name could not be looked up: no DNS server answered.',
    advice: 'Check that this computer is online, then try again. Entering the server’s IPv6 address instead of its name avoids the lookup.',
  },
  {
    test: /\b(ENOTFOUND|ENODATA|EAI_NONAME|EAI_NODATA)\b/,
    summary: 'The server name has no IPv6 address.',
    advice: 'Check the spelling of the server name, or enter its IPv6 address instead.',
  },
  {
    test: /\bECONNREFUSED\b/,
    summary: 'The server refused the connection: nothing listens on that port.',
    advice: 'Check the port in this profile, or ask whether the gateway is running.',
  },
  {
    test: /\bETIMEDOUT\b/,
    summary: 'The server did not answer in time.',
    advice: 'A firewall may block the port, or the server is down. Try again later.',
  },
  {
    test: /requires encryption/,
    summary: 'The server accepts only encrypted connections.',
    advice: 'Edit this profile: turn on “Encrypt traffic” and enter the server’s key.',
  },
  {
    test: /\basleep\b/,
    summary: 'This computer was asleep for longer than the server waits.',
    advice: 'Connecting again brings the tunnel back.',
  },
  {
    test: /went away \(network change\)/,
    summary: 'This computer’s network changed.',
    advice: 'The app connects again over the new network.',
  },
];

/** When the message names no known cause: by the engine's reason. */
const BY_REASON: Record<Failure['reason'], { summary: string; advice: string }> = {
  'dns-failed': {
    summary: 'The server name could not be looked up.',
    advice: 'Check the server name in this profile and that this computer is online.',
  },
  'server-unreachable': {
    summary: 'The server could not be reached.',
    advice: 'Check the server address and port in this profile, and that this computer is online with IPv6.',
  },
  'no-ipv4-offered': {
    summary: 'The server did not offer an IPv4 address.',
    advice: 'It may have none left to give. Try again later, or ask the server’s administrator.',
  },
  'bad-ip-response': {
    summary: 'The server’s address offer was invalid.',
    advice: 'Tell the server’s administrator; the details below show what it sent.',
  },
  'wrong-key': {
    summary: 'The server could not read this profile’s encrypted traffic: its key is different, or it does not encrypt.',
    advice: 'Ask the server’s administrator for its key and enter it in this profile (Edit), or turn encryption off if the server has no key.',
  },
  'plaintext-refused': {
    summary: 'The server closed the connection without offering an address.',
    advice: 'It most likely accepts only encrypted connections: edit this profile, turn on “Encrypt traffic” and enter the server’s key. ' +
      'If it does not encrypt, it may have no free address: try again later.',
  },
  'heartbeat-lost': {
    summary: 'The server stopped answering.',
    advice: 'The network or the server went away. The app connects again by itself when the profile allows it.',
  },
  'connection-lost': {
    summary: 'The connection to the server was lost.',
    advice: 'The app connects again by itself when the profile allows it; otherwise click Try again.',
  },
  'network-changed': {
    summary: "This computer's network changed.",
    advice: 'The app connects again at once from the new network when the profile allows it; otherwise click Try again.',
  },
  'protocol-error': {
    summary: 'The server sent data this app does not understand.',
    advice: 'Check that the address and port are those of a 4over6 gateway; tell its administrator if it keeps happening.',
  },
  'tun-failed': {
    summary: 'The tunnel device could not be created.',
    advice: 'The helper needs /dev/net/tun: check that the tun kernel module is loaded (sudo modprobe tun), then try again.',
  },
  'system-config-failed': {
    summary: 'The tunnel’s address, routes or DNS could not be set.',
    advice: 'Another VPN or network tool may hold the same routes: disconnect it and try again. The details say which change failed.',
  },
};

export function explainFailure(failure: Failure): FailureAdvice {
  const detail = failure.message.trim() || FAILURE_TEXT[failure.reason] || failure.reason;
  // A wrong key is decided by the engine (a 199 answer, frames that do not decrypt): its message
  // names no system error, and a system error inside it would not change what to do.
  const cause = failure.reason === 'wrong-key' ? undefined : CAUSES.find((c) => c.test.test(failure.message));
  // A reason this app does not know (a newer helper) has no sentence of ours (BY_REASON and
  // FAILURE_TEXT cover the same reasons): its name has to do.
  const known = cause ?? BY_REASON[failure.reason] ?? { summary: `${failure.reason}.`, advice: 'Try again.' };
  return { summary: known.summary, advice: known.advice, detail };
}
