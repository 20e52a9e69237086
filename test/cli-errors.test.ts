// The three commands end on a file or config error with one line on stderr and exit code 2 (no stack
// trace), and print the package version for --version. Real processes, real files.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { needsProgram, needsRoot, skipUnless } from './support/requirements';

const DIST = join(__dirname, '..');
const COMMANDS = {
  '4over6': join(DIST, 'helper', 'cli.js'),
  '4over6-server': join(DIST, 'server', 'main.js'),
  '4over6-helper': join(DIST, 'helper', 'main.js'),
} as const;
type CommandName = keyof typeof COMMANDS;

const dir = mkdtempSync(join(tmpdir(), '4o6-cli-'));
chmodSync(dir, 0o711); // nobody may pass through: only the file's own mode keeps them out
after(() => rmSync(dir, { recursive: true, force: true }));
const missing = join(dir, 'missing.yaml');
const unreadable = join(dir, 'unreadable.yaml');
writeFileSync(unreadable, 'port: 5555\n');
chmodSync(unreadable, 0o000);
const aFile = join(dir, 'a-file');
writeFileSync(aFile, '');

const asRoot = skipUnless(needsRoot('setpriv to nobody, and the helper runs as root only'), needsProgram('setpriv', 'apt-get install util-linux'));

/** Runs a command, optionally as nobody (so a 0000 file cannot be read even though we are root). */
function run(command: CommandName, args: string[], opts: { asNobody?: boolean } = {}) {
  const argv = [process.execPath, COMMANDS[command], ...args];
  const [file, ...rest] = opts.asNobody ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', ...argv] : argv;
  const r = spawnSync(file, rest, { encoding: 'utf8', timeout: 20_000, input: '' });
  return { status: r.status, stderr: r.stderr, stdout: r.stdout };
}

/** Exit code 2, exactly one line on stderr (after any log lines of the helper's own), and no stack frame. */
function assertOneLineError(r: ReturnType<typeof run>, expected: string): void {
  assert.equal(r.status, 2, `exit code, stderr:\n${r.stderr}`);
  const lines = r.stderr.trimEnd().split('\n').filter((l) => !/^\d{4}-\d\d-\d\dT.* (WARN|INFO) /.test(l));
  assert.deepEqual(lines, [expected]);
  assert.doesNotMatch(r.stderr, /^\s+at /m, 'no stack frames');
}

test('4over6-server -c: a missing file, a directory', () => {
  assertOneLineError(run('4over6-server', ['-c', missing]), `4over6-server: ${missing}: no such file or directory`);
  assertOneLineError(run('4over6-server', ['-c', dir]), `4over6-server: ${dir}: is a directory, not a file`);
});

test('4over6-server -c: an invalid config is one line naming the key', () => {
  const config = join(dir, 'server.yaml');
  writeFileSync(config, 'listen_address: "::"\nport: 5555\ngateway: "198.18.0.1"\naddress_range: "198.18.0.2-198.18.0.9"\n' +
    'netmask: 24\ndns0: "198.18.0.53"\ndns1: "0.0.0.0"\ndns2: "0.0.0.0"\n');
  assertOneLineError(run('4over6-server', ['-c', config]),
    `4over6-server: ${config}: \`netmask\` must be a dotted IPv4 mask like 255.255.255.0, got the number 24`);
});

test('4over6 connect -c: a missing file, a directory', () => {
  assertOneLineError(run('4over6', ['connect', '-c', missing]), `4over6: ${missing}: no such file or directory`);
  assertOneLineError(run('4over6', ['connect', '-c', dir]), `4over6: ${dir}: is a directory, not a file`);
});

test('4over6 cleanup --journal: a directory is one line', () => {
  assertOneLineError(run('4over6', ['cleanup', '--journal', dir]), `4over6: ${dir}: is a directory, not a file`);
});

test('unreadable files, as a user who cannot read them', { skip: asRoot }, () => {
  assertOneLineError(run('4over6-server', ['-c', unreadable], { asNobody: true }), `4over6-server: ${unreadable}: permission denied`);
  assertOneLineError(run('4over6', ['connect', '-c', unreadable], { asNobody: true }), `4over6: ${unreadable}: permission denied`);
});

test('4over6-helper --journal: a directory, or a path through a file', { skip: asRoot }, () => {
  assertOneLineError(run('4over6-helper', ['--journal', dir]), `4over6-helper: ${dir}: is a directory, not a file`);
  assertOneLineError(run('4over6-helper', ['--journal', join(aFile, 'journal.jsonl')]), `4over6-helper: ${aFile}: exists and is not a directory`);
});

test('--version prints the package version on all three commands', () => {
  const { version } = JSON.parse(readFileSync(join(DIST, '..', 'package.json'), 'utf8')) as { version: string };
  for (const command of Object.keys(COMMANDS) as CommandName[]) {
    const r = run(command, ['--version']);
    assert.equal(r.status, 0, `${command}: ${r.stderr}`);
    assert.equal(r.stdout, `${version}\n`, command);
  }
});
