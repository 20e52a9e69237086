// Import and export of profiles. Import takes our JSON document or a legacy client_config.yaml; it
// is all-or-nothing: a file with any problem imports nothing and the error names every problem
// (file, entry, field, what was expected). A profile identical to one already here (the app's own
// export read back) is skipped and reported; a different profile whose name is in use is renamed
// "name (2)", never overwritten. Export writes our document (the same format the store keeps on disk).
import { randomBytes } from 'node:crypto';
import { readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import { type ExportTextResult, type ImportResult, type ProblemInfo, VpnError, formatProblem } from '../contract/ipc-schema';
import { ConfigError, parseClientConfig } from '../protocol/config';
import { formatUuid } from '../protocol/crypto';
import {
  PROFILES_FORMAT, PROFILES_VERSION, PROFILE_NAME_MAX_CHARS, type Profile, type ProfilesDocument, type ValidDraft,
  checkDocument, checkEntry, parseJson, profileDraftSchema, sameProfile,
} from '../contract/profile-schema';
import { type ProfileStore, uniqueName } from './profile-store';

/** Profile files are a few KiB; anything this big is the wrong file. */
export const MAX_IMPORT_BYTES = 1024 * 1024;

export interface ParsedImport {
  drafts: ValidDraft[];
  warnings: string[];
}

/** Parses a file's text by its content (and name); throws IMPORT_INVALID naming every problem. */
export function parseImport(fileName: string, text: string): ParsedImport {
  const source = basename(fileName);
  const ext = extname(source).toLowerCase();
  const looksJson = ext === '.json' || (ext !== '.yaml' && ext !== '.yml' && /^\s*\{/.test(text) && text.includes(`"${PROFILES_FORMAT}"`));
  const result = looksJson ? parseOurs(source, text) : parseLegacy(source, text);
  if ('problems' in result) throw importError(source, result.problems);
  return result;
}

function parseOurs(source: string, text: string): ParsedImport | { problems: ProblemInfo[] } {
  const parsed = parseJson(text, source);
  if ('problems' in parsed) return parsed;
  const { valid, problems } = checkDocument(parsed.json, source, profileDraftSchema, { unique: false });
  if (problems.length > 0) return { problems };
  if (valid.length === 0) return { problems: [{ source, entry: null, entryName: null, field: 'profiles', message: 'the file holds no profiles' }] };
  return { drafts: valid, warnings: [] };
}

/** Our keys a legacy file may carry that an app profile does not keep, with their defaults. */
const LEGACY_ONLY = [
  ['mtu', 'mtu', 1500], ['prefixLength', 'prefix_length', 24], ['defaultRoute', 'default_route', true],
  ['allowPlaintext', 'allow_plaintext', false], ['tunName', 'tun_name', '4over6'],
] as const;

function parseLegacy(source: string, text: string): ParsedImport | { problems: ProblemInfo[] } {
  let config;
  let warnings: string[];
  try {
    ({ config, warnings } = parseClientConfig(text, source));
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return { problems: err.problems.map((p) => ({ source, entry: null, entryName: null, field: p.key, message: p.message })) };
  }
  for (const [prop, key, fallback] of LEGACY_ONLY) {
    if (config[prop] !== fallback) warnings.push(`${source}: ${key} ${JSON.stringify(config[prop])} is not kept: app profiles use ${JSON.stringify(fallback)}`);
  }
  const draft = {
    name: nameFromFileName(source),
    server: config.server,
    port: config.port,
    encryption: config.key !== null,
    uuid: config.key ? formatUuid(config.key) : null,
    dns: config.dns,
  };
  const checked = checkEntry(profileDraftSchema, draft, { source, entry: null, entryName: draft.name });
  return 'problems' in checked ? checked : { drafts: [checked.value], warnings };
}

/** "office-vpn.yaml" -> "office-vpn". */
export function nameFromFileName(fileName: string): string {
  const stem = basename(fileName, extname(fileName)).trim().slice(0, PROFILE_NAME_MAX_CHARS);
  return stem === '' ? 'Imported profile' : stem;
}

function importError(source: string, problems: ProblemInfo[]): VpnError {
  const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
  return new VpnError('IMPORT_INVALID', `nothing was imported: ${source} has ${count}:\n${problems.map(formatProblem).join('\n')}`, { problems });
}

/** Renames drafts whose names are taken (by stored profiles or earlier drafts) to "name (2)", ... */
export function renameClashes(drafts: ValidDraft[], takenNames: readonly string[]): { drafts: ValidDraft[]; renamed: ImportResult['renamed'] } {
  const taken = [...takenNames];
  const renamed: ImportResult['renamed'] = [];
  const out = drafts.map((d) => {
    const name = uniqueName(d.name, taken, (n) => (n === 1 ? '' : ` (${n})`));
    taken.push(name);
    if (name !== d.name) renamed.push({ from: d.name, to: name });
    return { ...d, name };
  });
  return { drafts: out, renamed };
}

/** Drafts that are not identical to an existing profile or an earlier draft, and the names of those that are. */
export function skipIdentical(drafts: readonly ValidDraft[], existing: readonly ValidDraft[]): { drafts: ValidDraft[]; skipped: string[] } {
  const kept: ValidDraft[] = [];
  const skipped: string[] = [];
  for (const d of drafts) {
    if (existing.some((e) => sameProfile(e, d)) || kept.some((k) => sameProfile(k, d))) skipped.push(d.name);
    else kept.push(d);
  }
  return { drafts: kept, skipped };
}

export function importProfilesFromText(store: ProfileStore, fileName: string, text: string): ImportResult {
  const { drafts, warnings } = parseImport(fileName, text);
  const existing = store.list();
  const fresh = skipIdentical(drafts, existing);
  const plan = renameClashes(fresh.drafts, existing.map((p) => p.name));
  const imported = plan.drafts.length > 0 ? store.addAll(plan.drafts) : [];
  return { imported, renamed: plan.renamed, skipped: fresh.skipped, warnings };
}

export async function importProfilesFromFile(store: ProfileStore, path: string): Promise<ImportResult> {
  let text: string;
  try {
    const info = await stat(path);
    if (!info.isFile()) throw new Error('not a regular file');
    if (info.size > MAX_IMPORT_BYTES) throw new Error(`${info.size} bytes; a profiles file is at most ${MAX_IMPORT_BYTES}`);
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new VpnError('FILE_FAILED', `cannot import ${path}: ${(err as Error).message}`, { cause: err });
  }
  return importProfilesFromText(store, basename(path), text);
}

// ---- export ------------------------------------------------------------------------------------

export const EXPORT_FILE_NAME = '4over6-profiles.json';

export function exportDocument(profiles: Profile[]): string {
  const doc: ProfilesDocument = { format: PROFILES_FORMAT, version: PROFILES_VERSION, profiles };
  return `${JSON.stringify(doc, null, 2)}\n`;
}

/** The chosen profiles (all when `ids` is absent), in store order. */
export function selectProfiles(store: ProfileStore, ids?: readonly string[]): Profile[] {
  const all = store.list();
  if (!ids) return all;
  const missing = ids.filter((id) => !all.some((p) => p.id === id));
  if (missing.length > 0) throw new VpnError('PROFILE_NOT_FOUND', `no profile with id ${missing.map((id) => JSON.stringify(id)).join(', ')}`);
  return all.filter((p) => ids.includes(p.id));
}

export function exportProfilesToText(store: ProfileStore, ids?: readonly string[]): ExportTextResult {
  const profiles = selectProfiles(store, ids);
  return { fileName: EXPORT_FILE_NAME, text: exportDocument(profiles), count: profiles.length };
}

/** Writes owner-only (the file holds keys), through a temporary file so a crash leaves no half file. */
export async function exportProfilesToFile(store: ProfileStore, path: string, ids?: readonly string[]): Promise<{ path: string; count: number }> {
  const { text, count } = exportProfilesToText(store, ids);
  const temp = join(dirname(path), `.${basename(path)}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    await writeFile(temp, text, { mode: 0o600, flag: 'wx' });
    await rename(temp, path);
  } catch (err) {
    await unlink(temp).catch(() => undefined);
    throw new VpnError('FILE_FAILED', `cannot export to ${path}: ${(err as Error).message}`, { cause: err });
  }
  return { path, count };
}
