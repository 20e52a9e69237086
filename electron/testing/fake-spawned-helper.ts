// Stands in for `pkexec 4over6-helper --mode spawned` in launcher tests: reads the token from stdin
// (as the real helper does), serves the fake helper protocol with it, prints `READY <path>`.
// --fail-with <code>: print a line on stderr and exit with that code instead.
import { FakeHelper } from './fake-helper';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

async function main(): Promise<void> {
  const failWith = arg('--fail-with');
  if (failWith) {
    process.stderr.write('fake helper: cannot create /run/4over6: permission denied\n');
    process.exit(Number(failWith));
  }
  let token = '';
  for await (const chunk of process.stdin) token += String(chunk);
  token = token.trim();
  const socketPath = arg('--socket');
  if (!socketPath) throw new Error('--socket is required by the fake');
  const fake = await FakeHelper.start({ socketPath, token, mode: 'spawned' });
  fake.overrides.shutdown = () => {
    setTimeout(() => void fake.close().then(() => process.exit(0)), 10);
    return { ok: true, value: null };
  };
  process.stdout.write(`fake helper listening\nREADY ${socketPath}\n`);
}

main().catch((err: Error) => {
  process.stderr.write(`${err.message}\n`);
  process.exit(1);
});
