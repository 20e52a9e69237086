// The profile editor's form as data: text fields in, a valid ProfileDraft (or one message per field)
// out. Validity comes from the same zod schema main checks with (contract/profile-schema.ts), so the
// form cannot accept what main refuses; only the wording is adjusted for a form.
import type { ProblemInfo } from '../contract/ipc-schema';
import {
  type Profile, type ProfileDraft, SERVER_HOST_MAX_CHARS, checkEntry, isProfileKey, profileDraftSchema, sameName,
} from '../contract/profile-schema';

export interface ProfileFormValues {
  name: string;
  server: string;
  port: string;
  encryption: boolean;
  uuid: string;
  autoReconnect: boolean;
  dns: boolean;
}

export type FormField = 'name' | 'server' | 'port' | 'uuid';
export type FieldErrors = Partial<Record<FormField | 'form', string>>;
/** Things worth a second look that do not stop a save. */
export type FieldWarnings = Partial<Record<FormField, string>>;

export const FORM_FIELDS: readonly FormField[] = ['name', 'server', 'port', 'uuid'];
export const DEFAULT_PORT = 5555;

export function emptyForm(): ProfileFormValues {
  return { name: '', server: '', port: String(DEFAULT_PORT), encryption: true, uuid: '', autoReconnect: true, dns: true };
}

export function formFromProfile(p: Profile): ProfileFormValues {
  return { name: p.name, server: p.server, port: String(p.port), encryption: p.encryption, uuid: p.uuid ?? '', autoReconnect: p.autoReconnect, dns: p.dns };
}

const IPV4_LITERAL = /^\d{1,3}(\.\d{1,3}){3}$/;

/** "[fd00::2]" as typed from a URL: the brackets are not part of the address. */
function cleanServer(text: string): string {
  const t = text.trim();
  const bracketed = /^\[([^\]]*)\]$/.exec(t);
  return bracketed ? bracketed[1] : t;
}

function toDraft(v: ProfileFormValues): Record<string, unknown> {
  const uuid = v.uuid.trim();
  const port = v.port.trim();
  return {
    name: v.name,
    server: cleanServer(v.server),
    port: /^\d{1,6}$/.test(port) ? Number(port) : port,
    encryption: v.encryption,
    // With encryption off the key is kept only if it is valid (so switching back on keeps it).
    uuid: uuid === '' || (!v.encryption && !isProfileKey(uuid)) ? null : uuid,
    autoReconnect: v.autoReconnect,
    dns: v.dns,
  };
}

/** An IPv6 address whose last group reads like a port: "fd00::1:5555" may be "[fd00::1]:5555". */
const PORT_LIKE_TAIL = /^(.*:.*):(\d{3,5})$/;

export interface FormCheck {
  /** The draft to send, or null while a field is wrong. */
  draft: ProfileDraft | null;
  /** One message per field. */
  errors: FieldErrors;
  warnings: FieldWarnings;
}

/**
 * The draft to send, or what is wrong with each field. `takenNames`: the other profiles' names (a
 * taken name is refused by main; saying so while typing saves a round trip).
 */
export function validateForm(v: ProfileFormValues, takenNames: readonly string[] = []): FormCheck {
  const errors: FieldErrors = {};
  const warnings: FieldWarnings = {};
  const candidate = toDraft(v);
  const checked = checkEntry(profileDraftSchema, candidate, { source: 'profile', entry: null, entryName: null });
  if ('problems' in checked) Object.assign(errors, fieldErrors(checked.problems, v));
  // An IPv4 literal passes as a host name but can never work: the server is reached over IPv6.
  if (!errors.server && IPV4_LITERAL.test(String(candidate.server))) {
    errors.server = 'The server is reached over IPv6: enter its IPv6 address or a host name with an AAAA record';
  }
  const name = v.name.trim();
  if (!errors.name && name !== '' && takenNames.some((t) => sameName(t, name))) {
    errors.name = `A profile named “${name}” already exists: choose another name`;
  }
  const tail = PORT_LIKE_TAIL.exec(String(candidate.server));
  if (!errors.server && tail && Number(tail[2]) <= 65535) {
    warnings.server = `If ${tail[2]} is the port, enter ${tail[1]} here and ${tail[2]} as the port`;
  }
  return { draft: Object.keys(errors).length === 0 ? (checked as { value: ProfileDraft }).value : null, errors, warnings };
}

/** Problems (from the schema or from main's reply) by form field, the first per field; the rest under `form`. */
export function fieldErrors(problems: readonly ProblemInfo[], v?: ProfileFormValues): FieldErrors {
  const errors: FieldErrors = {};
  for (const p of problems) {
    const top = p.field.split('.')[0];
    const field: FormField | 'form' = (FORM_FIELDS as readonly string[]).includes(top) ? top as FormField : 'form';
    const message = v ? friendly(field, p.message, v) : capitalizeFirst(p.message);
    if (field === 'form') errors.form = errors.form ? `${errors.form}; ${message}` : message;
    else errors[field] ??= message;
  }
  return errors;
}

function friendly(field: FormField | 'form', message: string, v: ProfileFormValues): string {
  switch (field) {
    case 'name': return v.name.trim() === '' ? 'Enter a name' : capitalizeFirst(message);
    case 'server': {
      const server = cleanServer(v.server);
      if (server === '') return 'Enter the server’s IPv6 address or host name';
      if (server.length > SERVER_HOST_MAX_CHARS) return `Too long: ${server.length} characters; a host name has at most ${SERVER_HOST_MAX_CHARS}`;
      return 'Expected an IPv6 address (fd00::1) or a host name (vpn.example.org)';
    }
    // Short: the port field is narrow and its error should fit on one line.
    case 'port': return v.port.trim() === '' ? 'Enter a port' : 'Use 1 to 65535';
    case 'uuid': return v.uuid.trim() === '' ? 'Required when encryption is on: paste the server’s key or generate one' : 'Expected a UUID: 8-4-4-4-12 hex digits';
    default: return capitalizeFirst(message);
  }
}

function capitalizeFirst(text: string): string {
  return text.length > 0 ? text[0].toUpperCase() + text.slice(1) : text;
}

/** A new random key (version 4 UUID); the server must be configured with the same one. */
export function generateKey(): string {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  // Outside a secure context randomUUID is missing; build the same v4 UUID from random bytes.
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
