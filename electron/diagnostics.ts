// The diagnostics bundle ("Save diagnostics" on the Logs screen): what a person reporting a problem
// can attach without giving away their keys or where they connect from or to. One JSON document:
// the app and helper versions, the tunnel's state, the profiles, and the kept log events, with every
// key (UUID), IP address and server name replaced by a numbered placeholder. The same value gets the
// same placeholder throughout, so "the address in the log is the server's" still shows.
import ipaddr from 'ipaddr.js';
import type { AboutInfo, LogEntry, TunnelSnapshot } from '../contract/ipc-schema';
import type { Profile } from '../contract/profile-schema';
import { formatLogEntry } from '../contract/format';

export const DIAGNOSTICS_FORMAT = '4over6-diagnostics';

const UUID = /\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi;
/** IPv4 dotted quads; checked octet by octet below. */
const IPV4 = /(?<![\d.])(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?![\d.])/g;
/** Runs that may be IPv6 addresses (with an optional embedded IPv4 tail or zone); checked with ipaddr.js. */
const IPV6_CANDIDATE = /(?<![\w:])(?:[0-9a-f]{0,4}:){2,7}(?:[0-9a-f]{0,4}|\d{1,3}(?:\.\d{1,3}){3})(?:%[\w.-]+)?(?![\w:])/gi;
/** Addresses that identify nobody and help reading: unspecified and loopback. */
const KEEP = new Set(['0.0.0.0', '127.0.0.1', '::', '::1']);

/** Replaces keys, addresses and the given host names by placeholders, the same one per value. */
export class Redactor {
  private readonly seen = new Map<string, string>();
  private readonly counts = new Map<string, number>();
  private readonly hosts: string[];

  constructor(hostNames: readonly string[] = []) {
    // Longest first, so "vpn.example.org" is not half-replaced by "example.org".
    this.hosts = [...new Set(hostNames.map((h) => h.trim().toLowerCase()).filter((h) => h !== '' && !isIp(h)))]
      .sort((a, b) => b.length - a.length);
  }

  text(input: string): string {
    let out = input.replace(UUID, (m) => this.placeholder('key', m.toLowerCase()));
    out = out.replace(IPV6_CANDIDATE, (m) => {
      const bare = m.split('%')[0];
      if (!ipaddr.IPv6.isValid(bare)) return m;
      const normal = ipaddr.IPv6.parse(bare).toNormalizedString();
      return KEEP.has(bare) ? m : this.placeholder('ipv6', normal);
    });
    out = out.replace(IPV4, (m, ...octets: string[]) =>
      (octets.slice(0, 4).every((o) => Number(o) <= 255) && !KEEP.has(m) ? this.placeholder('ipv4', m) : m));
    for (const host of this.hosts) {
      out = out.replace(new RegExp(`(?<![\\w.-])${escapeRegExp(host)}(?![\\w-])`, 'gi'), () => this.placeholder('host', host));
    }
    return out;
  }

  /** Every string inside a JSON-like value, redacted; keys of objects are kept. */
  value<T>(v: T): T {
    if (typeof v === 'string') return this.text(v) as T;
    if (Array.isArray(v)) return v.map((x) => this.value(x)) as T;
    if (v !== null && typeof v === 'object') {
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, this.value(x)])) as T;
    }
    return v;
  }

  private placeholder(kind: string, value: string): string {
    const key = `${kind}:${value}`;
    let p = this.seen.get(key);
    if (!p) {
      const n = (this.counts.get(kind) ?? 0) + 1;
      this.counts.set(kind, n);
      p = `<${kind}-${n}>`;
      this.seen.set(key, p);
    }
    return p;
  }
}

function isIp(text: string): boolean {
  return ipaddr.isValid(text);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export interface DiagnosticsInput {
  about: AboutInfo;
  snapshot: TunnelSnapshot;
  profiles: readonly Profile[];
  logs: readonly LogEntry[];
  /** Anything else worth attaching (settings, store status), as plain data. */
  extra?: Record<string, unknown>;
  nowMs: number;
}

/** The bundle as JSON text, redacted. The profiles keep their settings; their ids are dropped. */
export function diagnosticsBundle(input: DiagnosticsInput): string {
  const r = new Redactor(input.profiles.map((p) => p.server));
  const { licences: _licences, ...about } = input.about;
  const doc = {
    format: DIAGNOSTICS_FORMAT,
    createdAt: new Date(input.nowMs).toISOString(),
    about,
    tunnel: r.value(input.snapshot),
    profiles: input.profiles.map(({ id: _id, ...p }) => r.value(p)),
    ...(input.extra ? { extra: r.value(input.extra) } : {}),
    log: input.logs.map((e) => r.text(formatLogEntry(e))),
  };
  return `${JSON.stringify(doc, null, 2)}\n`;
}

export function diagnosticsFileName(nowMs: number): string {
  return `4over6-diagnostics-${new Date(nowMs).toISOString().replace(/[:.]/g, '-')}.json`;
}
