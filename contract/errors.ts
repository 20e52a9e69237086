// Typed errors that cross process boundaries as plain { code, message, problems } and are rebuilt on
// the other side (the renderer never sees a stack trace). No runtime imports: the renderer bundles it.

export type VpnErrorCode =
  | 'BAD_REQUEST'             // a request that does not match the schema (a bug in the caller)
  | 'PROFILE_INVALID'         // a field of a profile is invalid; see problems
  | 'PROFILE_NOT_FOUND'
  | 'PROFILE_NAME_TAKEN'
  | 'PROFILE_IN_USE'          // removing the profile of the running tunnel
  | 'IMPORT_INVALID'          // an import file with problems; see problems (nothing was imported)
  | 'FILE_FAILED'             // reading or writing an import/export file
  | 'STORE_CORRUPT'           // the profiles file changed under us into something invalid
  | 'STORE_FAILED'            // the profiles file could not be read or written
  | 'NOT_SUPPORTED'           // e.g. a file dialog where there is no desktop (browser bridge)
  | 'HELPER_UNTRUSTED'        // the helper socket is not root's: refused before connecting
  | 'HELPER_UNREACHABLE'
  | 'HELPER_LAUNCH_FAILED'    // pkexec refused, dismissed, or the helper exited before READY
  | 'HELPER_AUTH_FAILED'      // helper said NOT_AUTHENTICATED
  | 'HELPER_VERSION_MISMATCH'
  | 'HELPER_TIMEOUT'
  | 'HELPER_DISCONNECTED'
  | 'HELPER_PROTOCOL'         // the helper sent something that breaks contract/helper-api.ts
  | 'HELPER_REJECTED'         // helper said BAD_REQUEST
  | 'TUNNEL_BUSY'             // helper said BUSY
  | 'HELPER_FAILED'           // helper said INTERNAL
  | 'INTERNAL';               // a bug; details are in the main process log, not here

/** One thing wrong with an input, named precisely enough to fix it. */
export interface ProblemInfo {
  /** The file name, or "profile" for a single profile being saved. */
  source: string;
  /** Index in the file's profile list; null for the file or profile as a whole. */
  entry: number | null;
  /** The entry's name, when it has a readable one. */
  entryName: string | null;
  /** The field ("port", "uuid"); "" when the problem is not one field's. */
  field: string;
  /** What was expected (and what was found). */
  message: string;
}

export interface VpnErrorInfo {
  code: VpnErrorCode;
  message: string;
  problems?: ProblemInfo[];
}

export class VpnError extends Error {
  readonly problems: ProblemInfo[];

  constructor(readonly code: VpnErrorCode, message: string, options: { cause?: unknown; problems?: ProblemInfo[] } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'VpnError';
    this.problems = options.problems ?? [];
  }

  toInfo(): VpnErrorInfo {
    return this.problems.length > 0
      ? { code: this.code, message: this.message, problems: this.problems }
      : { code: this.code, message: this.message };
  }

  static fromInfo(info: VpnErrorInfo): VpnError {
    return new VpnError(info.code, info.message, { problems: info.problems });
  }
}

/** "file.json: profiles[2] (Office): port: expected a port 1-65535" */
export function formatProblem(p: ProblemInfo): string {
  const entry = p.entry === null ? '' : `profiles[${p.entry}]${p.entryName ? ` (${p.entryName})` : ''}: `;
  return `${p.source}: ${entry}${p.field ? `${p.field}: ` : ''}${p.message}`;
}
