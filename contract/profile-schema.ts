// A VPN profile as the app keeps it: its zod schema, the profiles document (the store's file and the
// export format are the same), every problem named with entry and field, and the conversion to what
// the helper needs. Below both sides: main's store and import check with it, and the renderer's form
// validates with the same schemas, so the form cannot accept what main refuses. No Node imports.
import { z } from 'zod';
import type { ProblemInfo } from './errors';
import { type HelperTunnelProfileInput, hostSchema, portSchema, uuidSchema } from './helper-api';

export const PROFILE_NAME_MAX_CHARS = 100;
/** The longest server name the schema takes (a DNS name's 253 characters), read from the schema itself. */
export const SERVER_HOST_MAX_CHARS = hostSchema.maxLength ?? 253;
export const PROFILES_FORMAT = '4over6-profiles';
export const PROFILES_VERSION = 1;

/** What each field must hold, for messages about a missing or mistyped value. */
const EXPECTED: Record<string, string> = {
  id: 'a UUID',
  name: `a name of 1-${PROFILE_NAME_MAX_CHARS} characters`,
  server: 'an IPv6 address or a DNS host name',
  port: 'a port 1-65535',
  encryption: 'true or false',
  uuid: 'the key: a UUID (8-4-4-4-12 hex digits), or null',
  autoReconnect: 'true or false',
  dns: 'true or false',
  format: `"${PROFILES_FORMAT}"`,
  version: String(PROFILES_VERSION),
  profiles: 'a list of profiles',
  '': 'a profile (a JSON object)',
};

const name = z.string().trim()
  .min(1, { error: `expected ${EXPECTED.name}` })
  .max(PROFILE_NAME_MAX_CHARS, { error: `expected ${EXPECTED.name}` });

// Without defaults, so a patch can leave a field out.
const fields = {
  name,
  server: hostSchema,
  port: portSchema,
  /** On: frames are sealed with `uuid` as the key (type 200). */
  encryption: z.boolean(),
  /** Kept while encryption is off, so switching it back on does not lose the key. */
  uuid: uuidSchema.toLowerCase().nullable(),
  autoReconnect: z.boolean(),
  dns: z.boolean(),
};

const withDefaults = {
  ...fields,
  uuid: fields.uuid.default(null),
  autoReconnect: fields.autoReconnect.default(true),
  dns: fields.dns.default(true),
};

function requireKeyWhenEncrypted(p: { encryption?: boolean; uuid?: string | null }, ctx: z.RefinementCtx): void {
  if (p.encryption === true && !p.uuid) {
    ctx.addIssue({ code: 'custom', path: ['uuid'], message: `required when encryption is on: expected ${EXPECTED.uuid.replace(', or null', '')}` });
  }
}

/** A profile without its id: what create and import take. Unknown keys are dropped (newer files). */
export const profileDraftSchema = z.object(withDefaults).superRefine(requireKeyWhenEncrypted);
/** A stored profile. */
export const profileSchema = z.object({ id: z.uuid({ error: `expected ${EXPECTED.id}` }), ...withDefaults }).superRefine(requireKeyWhenEncrypted);
/** The fields an update may change; unknown keys (such as id) are refused. */
export const profilePatchSchema = z.strictObject(fields).partial();

export type Profile = z.output<typeof profileSchema>;
export type ProfileDraft = z.input<typeof profileDraftSchema>;
export type ValidDraft = z.output<typeof profileDraftSchema>;
export type ProfilePatch = z.input<typeof profilePatchSchema>;

/** The store's file and the export file: `{ "format": "4over6-profiles", "version": 1, "profiles": [...] }`. */
export const profilesDocumentSchema = z.object({
  format: z.literal(PROFILES_FORMAT),
  version: z.literal(PROFILES_VERSION),
  profiles: z.array(profileSchema),
});
export type ProfilesDocument = z.output<typeof profilesDocumentSchema>;

export function emptyDocument(): ProfilesDocument {
  return { format: PROFILES_FORMAT, version: PROFILES_VERSION, profiles: [] };
}

/** The document as JSON Schema (for conf / electron-store), derived so it cannot drift from zod. */
export function profilesDocumentJsonSchema(): { properties: Record<string, unknown>; required: string[] } {
  const json = z.toJSONSchema(profilesDocumentSchema, { io: 'input', unrepresentable: 'any' }) as {
    properties: Record<string, unknown>;
  };
  return { properties: json.properties, required: ['format', 'version', 'profiles'] };
}

/** A valid key: a canonical UUID (the form keeps one while encryption is off only if it is valid). */
export function isProfileKey(text: string): boolean {
  return uuidSchema.safeParse(text).success;
}

export function sameName(a: string, b: string): boolean {
  return a.trim().localeCompare(b.trim(), undefined, { sensitivity: 'accent' }) === 0;
}

/** Identical profiles: the same name and every setting the same (ids aside), e.g. our own export read back. */
export function sameProfile(a: ValidDraft, b: ValidDraft): boolean {
  return sameName(a.name, b.name) && a.server.toLowerCase() === b.server.toLowerCase() && a.port === b.port &&
    a.encryption === b.encryption && (a.uuid ?? null) === (b.uuid ?? null) && a.autoReconnect === b.autoReconnect && a.dns === b.dns;
}

// ---- problems ----------------------------------------------------------------------------------

export interface ProblemContext {
  source: string;
  entry: number | null;
  entryName: string | null;
}

/** One problem per zod issue, each saying what the field should hold. */
export function problemsFrom(error: z.ZodError, at: ProblemContext): ProblemInfo[] {
  return error.issues.map((issue) => {
    const field = issue.path.map(String).join('.');
    const last = String(issue.path[issue.path.length - 1] ?? '');
    const expected = EXPECTED[last];
    let message = issue.message;
    if (issue.code === 'invalid_type' || issue.code === 'invalid_value') {
      const what = expected ?? (issue.code === 'invalid_type' ? issue.expected : issue.values.map((v) => JSON.stringify(v)).join(' or '));
      message = issue.input === undefined ? `required: expected ${what}` : `expected ${what}, got ${describe(issue.input)}`;
    } else if (issue.code === 'unrecognized_keys') {
      message = `unknown field(s) ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
    } else if (issue.input !== undefined && (typeof issue.input !== 'object' || issue.input === null)) {
      message = `${message}, got ${describe(issue.input)}`;
    }
    return { ...at, field, message };
  });
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  if (Array.isArray(value)) return 'a list';
  if (value === null) return 'null';
  return typeof value === 'object' ? 'an object' : String(value);
}

/** Validates one profile-like value; `reportInput` lets messages quote what was found. */
export function checkEntry<S extends z.ZodType>(schema: S, value: unknown, at: ProblemContext): { value: z.output<S> } | { problems: ProblemInfo[] } {
  const parsed = schema.safeParse(value, { reportInput: true });
  return parsed.success ? { value: parsed.data } : { problems: problemsFrom(parsed.error, at) };
}

/** The readable name of a raw entry, for problem messages. */
export function entryNameOf(raw: unknown): string | null {
  const n = typeof raw === 'object' && raw !== null ? (raw as { name?: unknown }).name : undefined;
  return typeof n === 'string' && n.trim() !== '' ? n.trim().slice(0, PROFILE_NAME_MAX_CHARS) : null;
}

export interface CheckedEntries<T> {
  /** The entries that are valid (in file order). */
  valid: T[];
  problems: ProblemInfo[];
}

/**
 * Validates a `{ format, version, profiles }` document entry by entry, naming every problem.
 * `entrySchema` is `profileSchema` for the store (ids kept) or `profileDraftSchema` for imports.
 */
export function checkDocument<S extends z.ZodType<{ name: string; id?: string }>>(
  json: unknown, source: string, entrySchema: S, options: { unique: boolean },
): CheckedEntries<z.output<S>> {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    return { valid: [], problems: [{ source, entry: null, entryName: null, field: '', message: `expected a JSON object {"format": "${PROFILES_FORMAT}", "version": ${PROFILES_VERSION}, "profiles": [...]}` }] };
  }
  const head = z.object({ format: profilesDocumentSchema.shape.format, version: profilesDocumentSchema.shape.version, profiles: z.array(z.unknown()) })
    .safeParse(json, { reportInput: true });
  if (!head.success) return { valid: [], problems: problemsFrom(head.error, { source, entry: null, entryName: null }) };

  const valid: z.output<S>[] = [];
  const problems: ProblemInfo[] = [];
  head.data.profiles.forEach((raw, index) => {
    const at = { source, entry: index, entryName: entryNameOf(raw) };
    const checked = checkEntry(entrySchema, raw, at);
    if ('problems' in checked) {
      problems.push(...checked.problems);
      return;
    }
    // The store keeps names and ids unique; an import renames instead (so it passes unique: false).
    const earlier = options.unique ? valid.find((v) => sameName(v.name, checked.value.name) || (v.id && v.id === checked.value.id)) : undefined;
    if (earlier) {
      const field = sameName(earlier.name, checked.value.name) ? 'name' : 'id';
      problems.push({ ...at, field, message: `the same ${field} as an earlier profile ("${earlier.name}")` });
      return;
    }
    valid.push(checked.value);
  });
  return { valid, problems };
}

/** Parses JSON text, turning a syntax error into a problem with its position. */
export function parseJson(text: string, source: string): { json: unknown } | { problems: ProblemInfo[] } {
  try {
    return { json: JSON.parse(text) };
  } catch (err) {
    return { problems: [{ source, entry: null, entryName: null, field: '', message: `not valid JSON: ${(err as Error).message}` }] };
  }
}

// ---- to the helper -----------------------------------------------------------------------------

/** What the helper gets: no id, and the key only when encryption is on. */
export function toHelperProfile(p: Profile): HelperTunnelProfileInput {
  return {
    name: p.name,
    server: p.server,
    port: p.port,
    uuid: p.encryption ? p.uuid : null,
    autoReconnect: p.autoReconnect,
    dns: p.dns,
  };
}
