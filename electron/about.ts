// What the About screen shows about the app itself: name, version and licence from its package.json,
// and the licence of each runtime dependency from theirs (as installed next to the app).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AboutInfo, LicenceInfo } from '../contract/ipc-schema';

export type AppInfo = Omit<AboutInfo, 'helper'>;

interface PackageJson {
  name?: string;
  version?: string;
  license?: unknown;
  dependencies?: Record<string, string>;
}

function readPackage(path: string): PackageJson | null {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as PackageJson;
  } catch {
    return null;
  }
}

function licenseOf(pkg: PackageJson | null): string {
  return typeof pkg?.license === 'string' && pkg.license.trim() !== '' ? pkg.license : 'unknown';
}

/** Reads `appRoot/package.json` and each dependency's `node_modules/<name>/package.json`. */
export function readAppInfo(appRoot: string, runtime = runtimeName()): AppInfo {
  const app = readPackage(join(appRoot, 'package.json'));
  const licences: LicenceInfo[] = Object.keys(app?.dependencies ?? {}).sort().map((name) => {
    const dep = readPackage(join(appRoot, 'node_modules', name, 'package.json'));
    return { name, version: dep?.version ?? 'not installed', license: licenseOf(dep) };
  });
  return {
    appName: app?.name ?? '4over6',
    appVersion: app?.version ?? 'unknown',
    appLicense: licenseOf(app),
    runtime,
    licences,
  };
}

export function runtimeName(): string {
  const electron = process.versions.electron;
  return electron ? `Electron ${electron} (Node ${process.versions.node})` : `Node ${process.versions.node}`;
}
