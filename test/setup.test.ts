// A newcomer's set-up, as the README gives it: `npm ci` must work on a machine that cannot reach
// Electron's download host, the Electron binary is a separate step, and every command the README
// shows runs from a checkout.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createTestNamespace } from './support/netns';
import { needsRoot, skipUnless } from './support/requirements';

const ROOT = join(__dirname, '..', '..');
const ELECTRON = join(ROOT, 'node_modules', 'electron');
const skipNoRoot = skipUnless(needsRoot('a network namespace without any network'));

/**
 * A project holding the repository's .npmrc and electron's real package (without any binary), its
 * installer's dependencies linked from ours: what `npm ci` leaves before lifecycle scripts run.
 */
function electronOnlyProject(): string {
  const dir = mkdtempSync(join(tmpdir(), '4o6-setup-'));
  if (existsSync(join(ROOT, '.npmrc'))) cpSync(join(ROOT, '.npmrc'), join(dir, '.npmrc'));
  const version = JSON.parse(readFileSync(join(ELECTRON, 'package.json'), 'utf8')).version as string;
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'setup-probe', private: true, dependencies: { electron: version } }));
  const modules = join(dir, 'node_modules');
  mkdirSync(join(modules, 'electron'), { recursive: true });
  for (const f of ['package.json', 'install.js', 'index.js', 'cli.js', 'checksums.json']) cpSync(join(ELECTRON, f), join(modules, 'electron', f));
  symlinkSync(join(ROOT, 'node_modules', '@electron'), join(modules, '@electron'));
  symlinkSync(join(ROOT, 'node_modules', 'extract-zip'), join(modules, 'extract-zip'));
  mkdirSync(join(dir, 'scripts'));
  cpSync(join(ROOT, 'scripts', 'electron-binary.js'), join(dir, 'scripts', 'electron-binary.js'));
  return dir;
}

/** The environment of a newcomer: no ELECTRON_SKIP_BINARY_DOWNLOAD, an empty download cache. */
function newcomerEnv(dir: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, electron_config_cache: join(dir, 'electron-cache'), npm_config_cache: join(dir, 'npm-cache') };
  delete env.ELECTRON_SKIP_BINARY_DOWNLOAD;
  delete env.ELECTRON_MIRROR;
  for (const k of Object.keys(env)) if (k.startsWith('npm_config_') && k !== 'npm_config_cache') delete env[k];
  return env;
}

test('npm runs no dependency install script, so no network is needed for Electron: its postinstall is skipped', { skip: skipNoRoot }, async () => {
  const dir = electronOnlyProject();
  const ns = await createTestNamespace('setup'); // only lo: Electron's download host is unreachable
  try {
    // npm's lifecycle for an installed package, as npm ci runs it after unpacking.
    const r = spawnSync('ip', ['netns', 'exec', ns.name, 'npm', 'rebuild', 'electron', '--foreground-scripts'], {
      cwd: dir, env: newcomerEnv(dir), encoding: 'utf8', timeout: 60_000,
    });
    assert.equal(r.status, 0, `npm rebuild electron failed without network:\n${r.stdout}\n${r.stderr}`);
    assert.doesNotMatch(r.stdout + r.stderr, /install\.js|ENOTFOUND|EAI_AGAIN/);
    assert.equal(existsSync(join(dir, 'node_modules', 'electron', 'dist')), false, 'nothing was downloaded');

    // `npm run app` then says how to get the binary; fetching it fails clearly without a network,
    // even with ELECTRON_SKIP_BINARY_DOWNLOAD left over in the environment.
    const check = spawnSync(process.execPath, [join(dir, 'scripts', 'electron-binary.js'), 'check'], { encoding: 'utf8' });
    assert.equal(check.status, 1);
    assert.match(check.stderr, /npm run fetch-electron/);
    const fetch = spawnSync('ip', ['netns', 'exec', ns.name, process.execPath, join(dir, 'scripts', 'electron-binary.js'), 'fetch'], {
      env: { ...newcomerEnv(dir), ELECTRON_SKIP_BINARY_DOWNLOAD: '1' }, encoding: 'utf8', timeout: 60_000,
    });
    assert.equal(fetch.status, 1, fetch.stdout + fetch.stderr);
    assert.match(fetch.stderr, /Could not fetch the Electron binary/);
  } finally {
    await ns.cleanup();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('.ci/run installs as the README says: no ELECTRON_SKIP_BINARY_DOWNLOAD', () => {
  assert.doesNotMatch(readFileSync(join(ROOT, '.ci', 'run'), 'utf8'), /ELECTRON_SKIP_BINARY_DOWNLOAD/);
});

/** Every command the README shows: its fenced sh blocks, and inline code that starts like a command. */
function readmeCommands(): Array<{ command: string }> {
  const text = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const found: Array<{ command: string }> = [];
  for (const block of text.matchAll(/```sh\n([\s\S]*?)```/g)) {
    for (const line of block[1].split('\n')) {
      for (const part of line.replace(/#.*$/, '').split('&&')) if (part.trim()) found.push({ command: part.trim() });
    }
  }
  for (const paragraph of text.replace(/```[\s\S]*?```/g, '').split(/\n\s*\n/)) {
    for (const span of paragraph.matchAll(/`([^`]+)`/g)) {
      if (/^(sudo |npm |npx |node |4over6\S* )/.test(span[1])) found.push({ command: span[1].trim() });
    }
  }
  return found;
}

test('every command in the README runs from a checkout: npm scripts exist, node paths are built, flags are known', () => {
  const scripts = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).scripts as Record<string, string>;
  const commands = readmeCommands();
  assert.ok(commands.length >= 8, `found only ${commands.length} commands`);
  for (const { command } of commands) {
    const words = command.replace(/^sudo\s+/, '').split(/\s+/);
    const [program, ...args] = words;
    if (program === 'apt-get') continue;
    if (program === 'npm') {
      if (args[0] === 'run') assert.ok(args[1] in scripts, `README: ${command}: no npm script "${args[1]}"`);
      else assert.ok(['ci', 'test'].includes(args[0]), `README: ${command}: unexpected npm command`);
      continue;
    }
    assert.equal(program, 'node', `README: "${command}": ${program} is not on PATH in a checkout (use node dist/…)`);
    const file = join(ROOT, args[0]);
    assert.ok(existsSync(file), `README: ${command}: ${args[0]} does not exist after npm run build`);
    const subcommand = args[1] !== undefined && /^[a-z]/.test(args[1]) ? [args[1]] : [];
    const help = spawnSync(process.execPath, [file, ...subcommand, '--help'], { encoding: 'utf8', timeout: 10_000 });
    assert.equal(help.status, 0, `${command}: --help failed: ${help.stderr}`);
    for (const flag of args.filter((a) => a.startsWith('--'))) {
      assert.ok(help.stdout.includes(flag), `README: ${command}: ${flag} is not an option of ${args[0]} ${subcommand.join(' ')}`);
    }
  }
});
