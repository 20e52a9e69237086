// How the three commands (4over6, 4over6-server, 4over6-helper) end on an error, and their --version.
// What the user can fix (a config file, a path, an argument) is one line on stderr and exit code 2;
// anything else is a bug and keeps its stack trace (exit 1).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { getSystemErrorMap } from 'node:util';
import { InvalidArgumentError } from 'commander';
import { ConfigError } from '../protocol/config';
import { UuidError } from '../protocol/crypto';

/** Exit code for a problem the user can fix (bad config, unreadable file, bad argument). */
export const EXIT_USAGE = 2;

/** An error whose message alone tells the user what to fix. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

const ERRNO_TEXT: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EISDIR: 'is a directory, not a file',
  ENOTDIR: 'a component of the path is not a directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ELOOP: 'too many symbolic links',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on device',
};

function errnoText(code: string, errno: number | undefined): string {
  if (ERRNO_TEXT[code]) return ERRNO_TEXT[code];
  const entry = errno !== undefined ? getSystemErrorMap().get(errno) : undefined;
  return entry ? entry[1].toLowerCase() : code;
}

/** The one line to print for an error the user can fix, or null for a bug (print its stack). */
export function describeUserError(err: unknown): string | null {
  if (err instanceof ConfigError || err instanceof UuidError || err instanceof InvalidArgumentError || err instanceof UsageError) {
    return err.message;
  }
  const e = err as NodeJS.ErrnoException;
  if (err instanceof Error && typeof e.code === 'string' && typeof e.syscall === 'string') {
    // mkdir -p of a path where a file stands fails with EEXIST, which reads as nonsense.
    const text = e.code === 'EEXIST' && e.syscall === 'mkdir' ? 'exists and is not a directory' : errnoText(e.code, e.errno);
    if (typeof e.path === 'string') return `${e.path}: ${text}`;
    return `${e.syscall}: ${text}`;
  }
  return null;
}

/**
 * Reads a text file the user named, turning every way it can fail into a one-line ConfigError
 * ("x.yaml: no such file or directory", "x.yaml: is a directory, not a file").
 */
export function readUserFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const text = typeof e.code === 'string' ? errnoText(e.code, e.errno) : (err as Error).message;
    throw new ConfigError(path, [{ key: '', message: text }]);
  }
}

/** This package's version (package.json ships next to dist/ in every install). */
export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version?: unknown };
  return typeof pkg.version === 'string' ? pkg.version : 'unknown';
}

/** The end of every main(): exit with main's code, or report what went wrong as one line (or a stack for a bug). */
export function exitWith(program: string, run: Promise<number>): void {
  run.then((code) => process.exit(code), (err: unknown) => {
    const line = describeUserError(err);
    if (line !== null) {
      process.stderr.write(`${program}: ${line}\n`);
      process.exit(EXIT_USAGE);
    }
    console.error(err);
    process.exit(1);
  });
}
