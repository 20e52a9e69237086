// What a server host and a shared key look like, checked the same way by config files, the CLI, the
// helper contract and the UI.
import ipaddr from 'ipaddr.js';

const DNS_NAME = /^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;
const CANONICAL_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** An IPv6 literal (without brackets) or a DNS host name to resolve to AAAA. */
export function isServerHost(text: string): boolean {
  return ipaddr.IPv6.isValid(text) || DNS_NAME.test(text);
}

/** Canonical 8-4-4-4-12 hex, any case. */
export function isCanonicalUuid(text: string): boolean {
  return CANONICAL_UUID.test(text);
}
