// The user's profiles: list, create, edit, remove, duplicate, with unique names, over a small
// key-value backend (conf under Node, electron-store in Electron: same file, same JSON Schema).
// Everything read from disk is validated; a file that is broken at startup is moved aside, reported
// and its valid profiles kept, so the app never crashes on it and nothing is silently lost.
import { randomUUID } from 'node:crypto';
import { readFile, rename } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { z } from 'zod';
import { type StoreStatus, VpnError } from '../contract/ipc-schema';
import {
  PROFILE_NAME_MAX_CHARS, type Profile, type ValidDraft, checkDocument, checkEntry, emptyDocument,
  parseJson, profileDraftSchema, profilePatchSchema, profileSchema, profilesDocumentJsonSchema, sameName,
} from '../contract/profile-schema';

/** What ProfileStore needs from conf / electron-store (their `get`/`set`/`path`). */
export interface KeyValueBackend {
  readonly path: string;
  get(key: string): unknown;
  set(key: string, value: unknown): void;
}

export const PROFILES_FILE_BASENAME = 'profiles';

/**
 * The options both backends are built with, so both read and write the same file the same way.
 * (electron-store calls the file name `name`; its backend maps `configName` to it.)
 */
export function storeFileOptions(cwd: string) {
  const { properties, required } = profilesDocumentJsonSchema();
  return {
    cwd,
    configName: PROFILES_FILE_BASENAME,
    fileExtension: 'json',
    schema: properties,
    rootSchema: { required },
    defaults: emptyDocument(),
    // Profiles hold encryption keys: owner-only.
    configFileMode: 0o600,
    // Keys are plain field names; a broken file is reported by us, never silently cleared.
    accessPropertiesByDotNotation: false,
    clearInvalidConfig: false,
    watch: false,
  };
}
export type StoreFileOptions = ReturnType<typeof storeFileOptions>;

export class ProfileStore {
  constructor(private readonly backend: KeyValueBackend) {}

  get path(): string {
    return this.backend.path;
  }

  list(): Profile[] {
    return this.read();
  }

  find(id: string): Profile | undefined {
    return this.read().find((p) => p.id === id);
  }

  get(id: string): Profile {
    const found = this.find(id);
    if (!found) throw new VpnError('PROFILE_NOT_FOUND', `no profile with id ${JSON.stringify(id)}`);
    return found;
  }

  create(draft: unknown): Profile {
    const valid = validate(profileDraftSchema, draft);
    const profiles = this.read();
    assertNameFree(profiles, valid.name);
    const profile = { id: randomUUID(), ...valid };
    this.write([...profiles, profile]);
    return profile;
  }

  update(id: string, patch: unknown): Profile {
    const changes = validate(profilePatchSchema, patch);
    const profiles = this.read();
    const index = indexOf(profiles, id);
    const updated = validate(profileSchema, { ...profiles[index], ...changes, id });
    assertNameFree(profiles.filter((p) => p.id !== id), updated.name);
    this.write(profiles.map((p, i) => (i === index ? updated : p)));
    return updated;
  }

  remove(id: string): void {
    const profiles = this.read();
    indexOf(profiles, id);
    this.write(profiles.filter((p) => p.id !== id));
  }

  /** A copy named "<name> (copy)" ("(copy 2)", ... when taken). */
  duplicate(id: string): Profile {
    const profiles = this.read();
    const original = profiles[indexOf(profiles, id)];
    const copy = { ...original, id: randomUUID(), name: uniqueName(original.name, profiles.map((p) => p.name), (n) => (n === 1 ? ' (copy)' : ` (copy ${n})`)) };
    this.write([...profiles, copy]);
    return copy;
  }

  /** Adds validated drafts in one write: all of them or, when the write fails, none. */
  addAll(drafts: ValidDraft[]): Profile[] {
    const profiles = this.read();
    for (const d of drafts) assertNameFree(profiles, d.name);
    const added = drafts.map((d) => ({ id: randomUUID(), ...d }));
    this.write([...profiles, ...added]);
    return added;
  }

  private read(): Profile[] {
    let raw: unknown;
    try {
      raw = { format: this.backend.get('format'), version: this.backend.get('version'), profiles: this.backend.get('profiles') };
    } catch (err) {
      // conf validates with the JSON Schema on every read: a file edited into garbage lands here.
      throw new VpnError('STORE_CORRUPT', `the profiles file ${this.path} is no longer readable: ${(err as Error).message}`, { cause: err });
    }
    const { valid, problems } = checkDocument(raw, basename(this.path), profileSchema, { unique: true });
    if (problems.length > 0) {
      throw new VpnError('STORE_CORRUPT', `the profiles file ${this.path} was changed into something invalid; restart the app to recover it`, { problems });
    }
    return valid;
  }

  private write(profiles: Profile[]): void {
    try {
      this.backend.set('profiles', profiles);
    } catch (err) {
      throw new VpnError('STORE_FAILED', `could not save profiles to ${this.path}: ${(err as Error).message}`, { cause: err });
    }
  }
}

/** "Office", "Office (2)", ... within the name length limit. */
export function uniqueName(base: string, taken: readonly string[], suffix: (n: number) => string): string {
  for (let n = 1; ; n++) {
    const s = suffix(n);
    const candidate = base.slice(0, PROFILE_NAME_MAX_CHARS - s.length).trimEnd() + s;
    if (!taken.some((t) => sameName(t, candidate))) return candidate;
  }
}

function validate<S extends z.ZodType>(schema: S, value: unknown): z.output<S> {
  const checked = checkEntry(schema, value, { source: 'profile', entry: null, entryName: null });
  if ('problems' in checked) {
    throw new VpnError('PROFILE_INVALID', `invalid profile: ${checked.problems.map((p) => (p.field ? `${p.field}: ${p.message}` : p.message)).join('; ')}`, { problems: checked.problems });
  }
  return checked.value;
}

function indexOf(profiles: Profile[], id: string): number {
  const index = profiles.findIndex((p) => p.id === id);
  if (index < 0) throw new VpnError('PROFILE_NOT_FOUND', `no profile with id ${JSON.stringify(id)}`);
  return index;
}

function assertNameFree(profiles: Profile[], name: string): void {
  if (profiles.some((p) => sameName(p.name, name))) {
    throw new VpnError('PROFILE_NAME_TAKEN', `a profile named "${name}" already exists`, {
      problems: [{ source: 'profile', entry: null, entryName: name, field: 'name', message: `"${name}" is already taken` }],
    });
  }
}

// ---- opening, with recovery --------------------------------------------------------------------

export type BackendOpener = (options: StoreFileOptions) => Promise<KeyValueBackend>;

/**
 * Opens the store in `cwd`. A file that is not valid JSON, or breaks the schema, is renamed to
 * `profiles.json.corrupt-<time>` and its valid profiles are written to a fresh file; the returned
 * status says so, with every problem, for the UI to show.
 */
export async function openProfileStore(cwd: string, open: BackendOpener, now: () => Date = () => new Date()): Promise<{ store: ProfileStore; status: StoreStatus }> {
  const options = storeFileOptions(cwd);
  const path = join(cwd, `${options.configName}.${options.fileExtension}`);
  let recovery: StoreStatus['recovery'] = null;
  let keep: Profile[] = [];

  let text: string | null = null;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new VpnError('STORE_FAILED', `cannot read the profiles file ${path}: ${(err as Error).message}`, { cause: err });
    }
  }
  if (text !== null) {
    const parsed = parseJson(text, basename(path));
    const checked = 'problems' in parsed ? { valid: [], problems: parsed.problems } : checkDocument(parsed.json, basename(path), profileSchema, { unique: true });
    if (checked.problems.length > 0) {
      const backupPath = `${path}.corrupt-${now().toISOString().replace(/[:.]/g, '-')}`;
      try {
        await rename(path, backupPath);
      } catch (err) {
        throw new VpnError('STORE_FAILED', `the profiles file ${path} is invalid and could not be moved aside: ${(err as Error).message}`, { cause: err, problems: checked.problems });
      }
      keep = checked.valid;
      recovery = { backupPath, kept: keep.length, problems: checked.problems };
    }
  }

  let backend: KeyValueBackend;
  try {
    backend = await open(options);
    if (recovery) backend.set('profiles', keep);
  } catch (err) {
    throw new VpnError('STORE_FAILED', `cannot open the profiles file ${path}: ${(err as Error).message}`, { cause: err });
  }
  return { store: new ProfileStore(backend), status: { path: backend.path, recovery } };
}
