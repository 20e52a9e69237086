// The legacy server_config.yaml and client_config.yaml, plus our optional keys. protocol.md "Legacy configuration files".
import ipaddr from 'ipaddr.js';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { z } from 'zod';
import { parseUuid } from './crypto';
import { isIPv4 } from './messages';
import { isServerHost } from './names';

export interface ConfigProblem {
  /** The YAML key at fault ("" for the document as a whole). */
  key: string;
  message: string;
}

export class ConfigError extends Error {
  readonly code = 'CONFIG_INVALID';
  constructor(readonly source: string, readonly problems: ConfigProblem[]) {
    super(`${source}: ${problems.map(formatConfigProblem).join('; ')}`);
    this.name = 'ConfigError';
  }
}

/** "`netmask` must be a dotted IPv4 mask like 255.255.255.0, got the number 24". */
export function formatConfigProblem(p: ConfigProblem): string {
  return p.key ? `\`${p.key}\` ${p.message}` : p.message;
}

export interface ParsedConfig<T> {
  config: T;
  /** Unknown keys and other things worth a log line, never fatal. */
  warnings: string[];
}

// ---- shared field schemas ------------------------------------------------------------------
// Every message completes the sentence "`<key>` ...": it says what the key must be and what it got.

/** What a YAML value is, for "got ...": `the number 24`, `"lots"`, `a list`. */
export function describeValue(value: unknown): string {
  if (value === null) return 'an empty value';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') return `the number ${value}`;
  if (typeof value === 'boolean') return `the boolean ${value}`;
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return String(value);
}

/**
 * Zod's error callback: "must be <what>, got <the input>". Given to a schema, it words every issue of
 * that schema, its checks (refine, regex, min, ...) included: a check needs its own only to say
 * something else (the netmask's "contiguous").
 */
const mustBe = (what: string) => (iss: { input?: unknown }) => `must be ${what}, got ${describeValue(iss.input)}`;

function textField(what: string) {
  return z.string({ error: mustBe(what) }).trim();
}

const IPV4_WHAT = 'a dotted IPv4 address like 198.51.100.1';
const ipv4 = textField(IPV4_WHAT).refine(isIPv4);

const MASK_WHAT = 'a dotted IPv4 mask like 255.255.255.0';
const netmask = textField(MASK_WHAT)
  .refine(isIPv4)
  .refine((m) => ipaddr.IPv4.parse(m).prefixLengthFromSubnetMask() !== null, { error: mustBe(`a contiguous mask like 255.255.255.0`) });

/** yaml-cpp reads `port: "5555"` as readily as `port: 5555`; so do we. */
const PORT_WHAT = 'a port number 1-65535';
const port = z.union([z.number(), z.string().trim().regex(/^\d+$/).transform(Number)], { error: mustBe(PORT_WHAT) })
  .refine((n) => Number.isInteger(n) && n >= 1 && n <= 65535);

const UUID_WHAT = 'a UUID like bbde0d1c-083b-4f20-9cce-799367ba1a5a';
const uuid = z.string({ error: mustBe(UUID_WHAT) }).trim().transform((text, ctx) => {
  try {
    return parseUuid(text, { legacy: true });
  } catch {
    ctx.addIssue({ code: 'custom', message: `must be ${UUID_WHAT}, got ${describeValue(text)}, which is not a UUID` });
    return z.NEVER;
  }
});

const boolean = z.boolean({ error: mustBe('true or false') });

function intIn(min: number, max: number) {
  const what = `a whole number ${min}-${max}`;
  return z.number({ error: mustBe(what) }).int().min(min).max(max);
}

const IFNAME_WHAT = 'a network interface name (1-15 letters, digits, "_", ".", ":" or "-")';
const interfaceName = z.string({ error: mustBe(IFNAME_WHAT) }).regex(/^[A-Za-z0-9_.:-]{1,15}$/);
/** The gateway's TUN name may hold one "%d" for the kernel to fill in with the first free number. */
const TUN_PATTERN_WHAT = 'a network interface name (1-15 letters, digits, "_", ".", ":" or "-", and at most one "%d")';
const tunNamePattern = z.string({ error: mustBe(TUN_PATTERN_WHAT) })
  .regex(/^(?=.{1,15}$)[A-Za-z0-9_.:-]*(?:%d)?[A-Za-z0-9_.:-]*$/);

const HOST_WHAT = 'an IPv6 address or a host name';
/** An IPv6 literal may come in brackets ("[fd00::1]"): both of them, or neither. */
const unbracketed = (h: string): string => /^\[(.*)\]$/.exec(h)?.[1] ?? h;
const hostName = textField(HOST_WHAT).refine((h) => isServerHost(unbracketed(h))).transform(unbracketed);

/** Where the gateway keeps its journal of system changes and its lease file. */
export const DEFAULT_SERVER_STATE_DIR = '/var/lib/4over6/gateway';

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

// ---- server ----------------------------------------------------------------------------------

const LISTEN_WHAT = 'an IPv6 address such as "::"';
const RANGE_WHAT = '"first-last", two dotted IPv4 addresses like "198.51.100.2-198.51.100.250"';
const DIR_WHAT = 'an absolute directory path';

const serverSchema = z.object({
  listen_address: textField(LISTEN_WHAT).refine((a) => ipaddr.IPv6.isValid(a)),
  port,
  gateway: ipv4,
  address_range: textField(RANGE_WHAT),
  netmask,
  dns0: ipv4,
  dns1: ipv4,
  dns2: ipv4,
  pk: uuid.optional(),
  // Ours, all optional:
  require_encryption: boolean.default(true),
  nat: boolean.default(false),
  nat_interface: interfaceName.optional(),
  tun_name: tunNamePattern.default('4over6srv%d'),
  mtu: intIn(576, 2003).default(1500),
  tun_offload: boolean.default(true),
  heartbeat_interval: intIn(1, 3600).default(20),
  heartbeat_timeout: intIn(1, 3600).default(60),
  log_level: z.enum(LOG_LEVELS, { error: mustBe(`one of ${LOG_LEVELS.join(', ')}`) }).default('info'),
  metrics_listen: textField('"host:port" or an absolute socket path').min(1).optional(),
  max_queue_bytes: intIn(16 * 1024, 64 * 1024 * 1024).default(1024 * 1024),
  state_dir: textField(DIR_WHAT).regex(/^\/[^\0]*$/).default(DEFAULT_SERVER_STATE_DIR),
  ip_request_timeout: intIn(1, 3600).default(10),
  max_unleased_per_address: intIn(1, 1_000_000).default(16),
  max_unleased_per_prefix: intIn(1, 1_000_000).default(64),
  max_unleased: intIn(1, 1_000_000).default(1024),
  lease_grace: intIn(0, 7 * 24 * 3600).default(600),
});

export interface ServerConfig {
  listenAddress: string;
  port: number;
  gateway: string;
  /** Inclusive pool bounds, as 32-bit unsigned integers. */
  poolFirst: number;
  poolLast: number;
  netmask: string;
  prefixLength: number;
  dns: [string, string, string];
  /** 16 raw UUID bytes; present = encryption enabled. */
  key: Buffer | null;
  requireEncryption: boolean;
  nat: boolean;
  natInterface: string | null;
  tunName: string;
  mtu: number;
  /** Coalesce TCP segments into GSO packets on TUN writes (IFF_VNET_HDR). */
  tunOffload: boolean;
  heartbeatIntervalS: number;
  heartbeatTimeoutS: number;
  logLevel: LogLevel;
  /** "host:port" for HTTP or an absolute Unix socket path. */
  metricsListen: string | null;
  maxQueueBytes: number;
  /** The gateway's journal of system changes and its lease file live here. */
  stateDir: string;
  /** A connection that has not sent a valid IP request this long after accept is closed. */
  ipRequestTimeoutS: number;
  /** Limits on connections without a lease yet: per source address, per source /64, in all. */
  maxUnleasedPerAddress: number;
  maxUnleasedPerPrefix: number;
  maxUnleased: number;
  /** A released address stays reserved for its last holder this long (0: not at all). */
  leaseGraceS: number;
}

export function ipv4ToInt(address: string): number {
  const [a, b, c, d] = ipaddr.IPv4.parse(address).octets;
  return ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
}

export function intToIpv4(n: number): string {
  return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

export function parseServerConfig(text: string, source = 'server_config.yaml'): ParsedConfig<ServerConfig> {
  const { value, warnings } = parseDocument(text, source, serverSchema);
  const problems: ConfigProblem[] = [];
  const prefixLength = ipaddr.IPv4.parse(value.netmask).prefixLengthFromSubnetMask() ?? 32; // contiguous: checked by the schema
  const pool = checkAddressPlan(value.gateway, prefixLength, value.address_range, problems);
  if (value.heartbeat_timeout <= value.heartbeat_interval) {
    problems.push({ key: 'heartbeat_timeout', message: `must be longer than heartbeat_interval (${value.heartbeat_interval} s), got ${value.heartbeat_timeout} s` });
  }
  if (value.nat && !value.nat_interface) {
    problems.push({ key: 'nat_interface', message: 'is required when nat is true: the outbound interface to masquerade on' });
  }
  if (problems.length > 0 || !pool) throw new ConfigError(source, problems);

  return {
    warnings,
    config: {
      listenAddress: value.listen_address,
      port: value.port,
      gateway: value.gateway,
      poolFirst: pool.first,
      poolLast: pool.last,
      netmask: value.netmask,
      prefixLength,
      dns: [value.dns0, value.dns1, value.dns2],
      key: value.pk ?? null,
      requireEncryption: value.require_encryption,
      nat: value.nat,
      natInterface: value.nat_interface ?? null,
      tunName: value.tun_name,
      mtu: value.mtu,
      tunOffload: value.tun_offload,
      heartbeatIntervalS: value.heartbeat_interval,
      heartbeatTimeoutS: value.heartbeat_timeout,
      logLevel: value.log_level,
      metricsListen: value.metrics_listen ?? null,
      maxQueueBytes: value.max_queue_bytes,
      stateDir: value.state_dir,
      ipRequestTimeoutS: value.ip_request_timeout,
      maxUnleasedPerAddress: value.max_unleased_per_address,
      maxUnleasedPerPrefix: value.max_unleased_per_prefix,
      maxUnleased: value.max_unleased,
      leaseGraceS: value.lease_grace,
    },
  };
}

/** Gateway ranges no client could route to. */
const UNUSABLE_GATEWAY_RANGES: Record<string, string> = {
  unspecified: 'an unspecified address (0.0.0.0/8)',
  broadcast: 'the broadcast address',
  loopback: 'a loopback address (127.0.0.0/8)',
  multicast: 'a multicast address (224.0.0.0/4)',
};

/**
 * The gateway, its subnet (gateway/netmask) and the pool must fit together: the pool lies inside the
 * subnet and holds neither its network nor its broadcast address nor the gateway. Returns the pool bounds,
 * or null after adding problems.
 */
function checkAddressPlan(gateway: string, prefixLength: number, range: string, problems: ConfigProblem[]): { first: number; last: number } | null {
  const before = problems.length;
  const unusable = UNUSABLE_GATEWAY_RANGES[ipaddr.IPv4.parse(gateway).range()];
  if (unusable) problems.push({ key: 'gateway', message: `must be a unicast address clients can route to, got ${gateway}, ${unusable}` });

  const dash = range.indexOf('-'); // legacy: split at the first '-'
  const [firstText, lastText] = dash < 0 ? ['', ''] : [range.slice(0, dash).trim(), range.slice(dash + 1).trim()];
  if (!isIPv4(firstText) || !isIPv4(lastText)) {
    problems.push({ key: 'address_range', message: mustBe(RANGE_WHAT)({ input: range }) });
    return null;
  }
  const first = ipv4ToInt(firstText);
  const last = ipv4ToInt(lastText);
  if (first > last) {
    problems.push({ key: 'address_range', message: `is reversed: ${firstText} comes after ${lastText}; write the lower address first` });
    return null;
  }
  if (unusable) return null; // the subnet checks below would only repeat that the gateway is wrong

  const mask = prefixLength === 0 ? 0 : (0xffffffff << (32 - prefixLength)) >>> 0;
  const gw = ipv4ToInt(gateway);
  const network = (gw & mask) >>> 0;
  const broadcast = (network | ~mask) >>> 0;
  const subnet = `${intToIpv4(network)}/${prefixLength}`;
  // /31 and /32 have no network or broadcast address to avoid (RFC 3021).
  const hasEnds = prefixLength <= 30;
  if (!unusable && hasEnds && (gw === network || gw === broadcast)) {
    problems.push({ key: 'gateway', message: `must be a host address of its subnet ${subnet}, got ${gateway}, its ${gw === network ? 'network' : 'broadcast'} address` });
  }
  if (first < network || last > broadcast) {
    problems.push({ key: 'address_range', message: `must lie inside the gateway's subnet ${subnet} (gateway ${gateway} with its netmask), got ${firstText}-${lastText}` });
  } else if (hasEnds && first === network) {
    problems.push({ key: 'address_range', message: `must not contain the subnet's network address ${intToIpv4(network)}, got ${firstText}-${lastText}` });
  } else if (hasEnds && last === broadcast) {
    problems.push({ key: 'address_range', message: `must not contain the subnet's broadcast address ${intToIpv4(broadcast)}, got ${firstText}-${lastText}` });
  } else if (first <= gw && gw <= last) {
    problems.push({ key: 'address_range', message: `must not contain the gateway's own address ${gateway}, got ${firstText}-${lastText}` });
  }
  return problems.length === before ? { first, last } : null;
}

// ---- client ----------------------------------------------------------------------------------

const clientSchema = z.object({
  server: hostName,
  port,
  pk: uuid.optional(),
  // Ours, all optional:
  mtu: intIn(576, 2003).default(1500),
  prefix_length: intIn(1, 32).default(24),
  default_route: boolean.default(true),
  dns: boolean.default(true),
  allow_plaintext: boolean.default(false),
  tun_name: interfaceName.default('4over6'),
});

export interface ClientConfig {
  /** IPv6 literal (without brackets) or a host name to resolve to AAAA. */
  server: string;
  port: number;
  key: Buffer | null;
  mtu: number;
  prefixLength: number;
  defaultRoute: boolean;
  dns: boolean;
  allowPlaintext: boolean;
  tunName: string;
}

export function parseClientConfig(text: string, source = 'client_config.yaml'): ParsedConfig<ClientConfig> {
  const { value, warnings } = parseDocument(text, source, clientSchema);
  return {
    warnings,
    config: {
      server: value.server,
      port: value.port,
      key: value.pk ?? null,
      mtu: value.mtu,
      prefixLength: value.prefix_length,
      defaultRoute: value.default_route,
      dns: value.dns,
      allowPlaintext: value.allow_plaintext,
      tunName: value.tun_name,
    },
  };
}

// ---- shared parsing --------------------------------------------------------------------------

function parseDocument<S extends z.ZodObject>(text: string, source: string, schema: S): { value: z.output<S>; warnings: string[] } {
  let doc: unknown;
  try {
    doc = parseYaml(text, { prettyErrors: true });
  } catch (err) {
    const where = err instanceof YAMLParseError && err.linePos ? ` (line ${err.linePos[0].line})` : '';
    throw new ConfigError(source, [{ key: '', message: `not valid YAML${where}: ${(err as Error).message.split('\n')[0]}` }]);
  }
  if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
    throw new ConfigError(source, [{ key: '', message: 'the file must be a YAML mapping of keys to values' }]);
  }
  const known = new Set(Object.keys(schema.shape));
  const warnings = Object.keys(doc).filter((k) => !known.has(k)).map((k) => `${source}: unknown key "${k}" ignored`);
  // A value of the wrong type and a missing key are both "invalid_type": the document tells them apart.
  const result = schema.safeParse(doc);
  if (!result.success) {
    throw new ConfigError(source, result.error.issues.map((issue) => ({
      key: issue.path.join('.'),
      message: issue.code === 'invalid_type' && !(issue.path[0] !== undefined && issue.path[0] in doc) ? 'is required but missing' : issue.message,
    })));
  }
  return { value: result.data as z.output<S>, warnings };
}
