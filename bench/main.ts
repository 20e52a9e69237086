// npm run bench [protocol|tunnel|scale ...]: prints one markdown section per benchmark.
// Absolute numbers are noisy on a shared 2-core machine: compare rows of one run (ratios), never across runs.
import { type AeadEngine, opensslEngine, sodiumEngine } from '../protocol/aead-engine';
import { protocolBench, sealCost } from './protocol-bench';
import { scaleBench } from './scale-bench';
import { tunnelBench } from './tunnel-bench';

async function protocolSection(): Promise<string> {
  const rows = await protocolBench();
  const base = rows[0].framesPerSecond;
  return [
    '## Protocol core: 1500-byte IPv4 payload, frames encoded AND decoded per second, one core',
    '',
    '| case | frames/s | Gbit/s of payload | vs plain | note |',
    '|---|---:|---:|---:|---|',
    ...rows.map((r) => `| ${r.name} | ${Math.round(r.framesPerSecond).toLocaleString('en')} | ${((r.framesPerSecond * 1500 * 8) / 1e9).toFixed(2)} | ${(r.framesPerSecond / base).toFixed(3)} | ${r.note} |`),
    '',
    `Target ≥ 100,000 encrypted frames/s (${rows[1].name}): ${rows[1].framesPerSecond >= 100_000 ? 'met' : 'NOT met'}.`,
  ].join('\n');
}

function sealCostSection(): string {
  const found = opensslEngine();
  const engines = ['unavailable' in found ? null : found, sodiumEngine()].filter((e): e is AeadEngine => e !== null);
  const costs = engines.map((engine) => ({ engine, ...sealCost(engine) }));
  const sizes = costs[0].rows.map((r) => r.innerBytes);
  return [
    `## Sealing + opening one frame, by size (one core; ${engines.map((e) => e.library).join(' against ')})`,
    '',
    `| inner frame bytes | ${costs.map((c) => `${c.engine.name} Gbit/s | ${c.engine.name} µs per frame`).join(' | ')} |`,
    `|---:|${costs.map(() => '---:|---:').join('|')}|`,
    ...sizes.map((size, i) => `| ${size.toLocaleString('en')} | ${costs.map((c) => `${c.rows[i].gbps.toFixed(2)} | ${c.rows[i].microsPerFrame.toFixed(2)}`).join(' | ')} |`),
    '',
    `The cheapest N-API call takes ${(costs[0].napiCallMicros * 1000).toFixed(0)} ns; a seal and an open are two calls, ` +
      `so a native batch entry could save at most ${((2 * costs[0].napiCallMicros) / costs[0].rows[1].microsPerFrame * 100).toFixed(1)} % of a 1,505-byte frame's cost (${costs[0].engine.name}).`,
  ].join('\n');
}

async function main(): Promise<void> {
  const only = process.argv.slice(2);
  const want = (name: string) => only.length === 0 || only.includes(name);
  const seconds = Number(process.env.BENCH_SECONDS ?? 10);
  const needsRoot = (what: string) => {
    if (process.getuid?.() === 0) return true;
    console.log(`\n## ${what}\n\nskipped: needs root (network namespaces and TUN devices)`);
    return false;
  };
  if (want('protocol')) console.log('\n' + (await protocolSection()) + '\n\n' + sealCostSection());
  if (want('tunnel') && needsRoot('Tunnel')) {
    console.log('\n' + (await tunnelBench({ seconds })));
  }
  if (want('scale') && needsRoot('Server scale')) {
    console.log('\n' + (await scaleBench({ seconds: Math.min(seconds, 10) })));
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
