// npm run bench: prints one table per benchmark. Absolute numbers are noisy; compare rows of one run.
import { protocolBench } from './protocol-bench';

async function main(): Promise<void> {
  const only = process.argv.slice(2);
  const want = (name: string) => only.length === 0 || only.includes(name);
  if (want('protocol')) {
    console.log('\n## Protocol core: 1500-byte IPv4 payload, frames encoded AND decoded per second, one core\n');
    const rows = await protocolBench();
    const base = rows[0].framesPerSecond;
    console.log('| case | frames/s | Gbit/s of payload | vs plain | note |\n|---|---:|---:|---:|---|');
    for (const r of rows) {
      const gbps = (r.framesPerSecond * 1500 * 8) / 1e9;
      console.log(`| ${r.name} | ${Math.round(r.framesPerSecond).toLocaleString('en')} | ${gbps.toFixed(2)} | ${(r.framesPerSecond / base).toFixed(2)} | ${r.note} |`);
    }
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
