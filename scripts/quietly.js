#!/usr/bin/env node
// Runs a command with its output held back: one line while it runs and one when it is done; the
// whole output only when it fails. `npm run demo` builds this way, so its address is not lost in
// 60 lines of compiler output.
// Usage: node scripts/quietly.js "<what>" <command> [args...]
const { spawn } = require('node:child_process');

const [what, command, ...args] = process.argv.slice(2);
if (!what || !command) {
  console.error('usage: node scripts/quietly.js "<what>" <command> [args...]');
  process.exit(2);
}
const started = Date.now();
process.stdout.write(`${what}…\n`);
const chunks = [];
const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
child.stdout.on('data', (c) => chunks.push(c));
child.stderr.on('data', (c) => chunks.push(c));
child.on('error', (err) => {
  console.error(`${what}: cannot run ${command}: ${err.message}`);
  process.exit(127);
});
child.on('close', (code, signal) => {
  if (code === 0) {
    process.stdout.write(`${what}: done in ${Math.round((Date.now() - started) / 1000)} s\n`);
    return;
  }
  process.stdout.write(Buffer.concat(chunks));
  console.error(`${what} failed (${signal ?? `exit code ${code}`})`);
  process.exit(code ?? 1);
});
