// The type-105 payload: the capabilities a gateway grants one connection. protocol.md "Between our
// own peers: capabilities and super-packets". Same line as the IP request's (extension-line.ts):
//
//   4o6/1 caps=<name>,<name>
//
// Sent only to a client whose IP request listed caps, right after the type-101 response, naming
// what both ends support. Unknown names are ignored; a payload that is not our line grants nothing.
import { encodeCapabilityList, encodeExtensionLine, parseCapabilityList, parseExtensionLine } from './extension-line';

/** Encodes the type-105 payload; an empty buffer when there is nothing to grant. */
export function encodeCapabilitiesPayload(caps: readonly string[]): Buffer {
  return caps.length === 0 ? Buffer.alloc(0) : encodeExtensionLine([['caps', encodeCapabilityList(caps)]]);
}

/** Reads a type-105 payload: the granted names (the last `caps=` field counts), [] for anything else. */
export function parseCapabilitiesPayload(payload: Uint8Array): string[] {
  let caps: string[] = [];
  for (const [key, value] of parseExtensionLine(payload) ?? []) if (key === 'caps') caps = parseCapabilityList(value);
  return caps;
}

/** What a gateway grants: the names it supports that the client offered, in the gateway's order. */
export function sharedCapabilities(offered: readonly string[], supported: readonly string[]): string[] {
  return supported.filter((name) => offered.includes(name));
}
