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
    super(`${source}: ${problems.map((p) => (p.key ? `${p.key}: ${p.message}` : p.message)).join('; ')}`);
    this.name = 'ConfigError';
  }
}

export interface ParsedConfig<T> {
  config: T;
  /** Unknown keys and other things worth a log line, never fatal. */
  warnings: string[];
}

// ---- shared field schemas ------------------------------------------------------------------

const ipv4 = z.string({ error: 'expected an IPv4 address in dotted-quad form' }).trim()
  .refine(isIPv4, { error: (iss) => `expected an IPv4 address in dotted-quad form, got "${String(iss.input)}"` });

/** yaml-cpp reads `port: "5555"` as readily as `port: 5555`; so do we. */
const port = z.union([z.number(), z.string().trim().regex(/^\d+$/).transform(Number)], {
  error: (iss) => `expected a port number 1-65535, got ${JSON.stringify(iss.input)}`,
}).refine((n) => Number.isInteger(n) && n >= 1 && n <= 65535, {
  error: (iss) => `expected a port number 1-65535, got ${JSON.stringify(iss.input)}`,
});

const uuid = z.string({ error: 'expected a UUID string' }).trim().transform((text, ctx) => {
  try {
    return parseUuid(text, { legacy: true });
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
    return z.NEVER;
  }
});

const boolean = z.boolean({ error: (iss) => `expected true or false, got ${JSON.stringify(iss.input)}` });

function intIn(min: number, max: number) {
  return z.number({ error: (iss) => `expected a number ${min}-${max}, got ${JSON.stringify(iss.input)}` })
    .int({ error: `expected a whole number ${min}-${max}` })
    .min(min, { error: `expected a number ${min}-${max}` })
    .max(max, { error: `expected a number ${min}-${max}` });
}

const interfaceName = z.string().regex(/^[A-Za-z0-9_.:-]{1,15}$/, {
  error: 'expected a network interface name (1-15 letters, digits, "_", ".", ":" or "-")',
});

const hostName = z.string({ error: 'expected an IPv6 address or a host name' }).trim().refine(
  (h) => isServerHost(h.replace(/^\[|\]$/g, '')),
  { error: (iss) => `expected an IPv6 address or a host name, got "${String(iss.input)}"` },
).transform((h) => h.replace(/^\[|\]$/g, ''));

/** Where the gateway keeps its journal of system changes and its lease file. */
export const DEFAULT_SERVER_STATE_DIR = '/var/lib/4over6/gateway';

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

// ---- server ----------------------------------------------------------------------------------

const serverSchema = z.object({
  listen_address: z.string({ error: 'expected an IPv6 address such as "::"' }).trim().refine((a) => ipaddr.IPv6.isValid(a), {
    error: (iss) => `expected an IPv6 address such as "::", got "${String(iss.input)}"`,
  }),
  port,
  gateway: ipv4,
  address_range: z.string({ error: 'expected "first-last", two IPv4 addresses' }),
  netmask: ipv4,
  dns0: ipv4,
  dns1: ipv4,
  dns2: ipv4,
  pk: uuid.optional(),
  // Ours, all optional:
  require_encryption: boolean.default(true),
  nat: boolean.default(false),
  nat_interface: interfaceName.optional(),
  tun_name: interfaceName.default('4over6srv%d'),
  mtu: intIn(576, 2003).default(1500),
  tun_offload: boolean.default(true),
  heartbeat_interval: intIn(1, 3600).default(20),
  heartbeat_timeout: intIn(1, 3600).default(60),
  log_level: z.enum(LOG_LEVELS, { error: `expected one of ${LOG_LEVELS.join(', ')}` }).default('info'),
  metrics_listen: z.string().trim().min(1).optional(),
  max_queue_bytes: intIn(16 * 1024, 64 * 1024 * 1024).default(1024 * 1024),
  state_dir: z.string({ error: 'expected an absolute directory path' }).trim()
    .regex(/^\/[^\0]*$/, { error: 'expected an absolute directory path' }).default(DEFAULT_SERVER_STATE_DIR),
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

  const dash = value.address_range.indexOf('-'); // legacy: split at the first '-'
  const first = dash < 0 ? '' : value.address_range.slice(0, dash).trim();
  const last = dash < 0 ? '' : value.address_range.slice(dash + 1).trim();
  if (!isIPv4(first) || !isIPv4(last)) {
    problems.push({ key: 'address_range', message: `expected "first-last", two IPv4 addresses, got "${value.address_range}"` });
  } else if (ipv4ToInt(first) > ipv4ToInt(last)) {
    problems.push({ key: 'address_range', message: `first address ${first} is after last address ${last}` });
  }
  const prefixLength = ipaddr.IPv4.parse(value.netmask).prefixLengthFromSubnetMask();
  if (prefixLength === null) {
    problems.push({ key: 'netmask', message: `expected a contiguous netmask such as 255.255.255.0, got "${value.netmask}"` });
  }
  if (value.heartbeat_timeout <= value.heartbeat_interval) {
    problems.push({ key: 'heartbeat_timeout', message: `must be longer than heartbeat_interval (${value.heartbeat_interval} s)` });
  }
  if (value.nat && !value.nat_interface) {
    problems.push({ key: 'nat_interface', message: 'required when nat is true: the outbound interface to masquerade on' });
  }
  if (problems.length > 0) throw new ConfigError(source, problems);

  return {
    warnings,
    config: {
      listenAddress: value.listen_address,
      port: value.port,
      gateway: value.gateway,
      poolFirst: ipv4ToInt(first),
      poolLast: ipv4ToInt(last),
      netmask: value.netmask,
      prefixLength: prefixLength ?? 24,
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
    },
  };
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
    throw new ConfigError(source, [{ key: '', message: 'expected a YAML mapping of keys to values' }]);
  }
  const known = new Set(Object.keys(schema.shape));
  const warnings = Object.keys(doc).filter((k) => !known.has(k)).map((k) => `${source}: unknown key "${k}" ignored`);
  const result = schema.safeParse(doc);
  if (!result.success) {
    throw new ConfigError(source, result.error.issues.map((issue) => ({
      key: issue.path.join('.'),
      message: issue.code === 'invalid_type' && issue.input === undefined ? 'required key is missing' : issue.message,
    })));
  }
  return { value: result.data as z.output<S>, warnings };
}
