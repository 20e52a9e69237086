#!/usr/bin/env node
// Reads Stryker's JSON reports (reports/mutation/*.json, from npm run mutation) and prints the
// mutation score per module and every surviving mutant, one line each, for docs/testing.md.
// Usage: node scripts/mutation-summary.js [report.json ...]   (default: every report in reports/mutation)
// Score = (killed + timed out) / (killed + timed out + survived + no coverage); mutants that do not
// compile (the TypeScript checker) or crash at load are not counted, as in Stryker's own table.
const { readFileSync, readdirSync, existsSync } = require('node:fs');
const { join } = require('node:path');

const dir = join(__dirname, '..', 'reports', 'mutation');
const reports = process.argv.slice(2).length > 0 ? process.argv.slice(2)
  : existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.json') && !f.includes('incremental')).map((f) => join(dir, f)) : [];
if (reports.length === 0) {
  console.error('no reports: run npm run mutation first');
  process.exit(1);
}
const rows = [];
const survivors = [];
for (const report of reports) {
  const { files } = JSON.parse(readFileSync(report, 'utf8'));
  for (const [file, { source, mutants }] of Object.entries(files)) {
    const n = (...states) => mutants.filter((m) => states.includes(m.status)).length;
    const detected = n('Killed', 'Timeout');
    const undetected = n('Survived', 'NoCoverage');
    rows.push({ file, detected, undetected, score: detected + undetected === 0 ? 100 : (100 * detected) / (detected + undetected) });
    const lines = source.split('\n');
    for (const m of mutants.filter((x) => x.status === 'Survived' || x.status === 'NoCoverage')) {
      const { line, column } = m.location.start;
      const original = lines[line - 1].trim().slice(0, 90);
      survivors.push(`${file}:${line}:${column} ${m.status} ${m.mutatorName}: \`${original}\` -> \`${(m.replacement ?? '').replace(/\s+/g, ' ').slice(0, 90)}\``);
    }
  }
}
rows.sort((a, b) => a.file.localeCompare(b.file));
const total = rows.reduce((t, r) => ({ d: t.d + r.detected, u: t.u + r.undetected }), { d: 0, u: 0 });
console.log('| module | killed | survived | score |');
console.log('|---|---:|---:|---:|');
for (const r of rows) console.log(`| \`${r.file}\` | ${r.detected} | ${r.undetected} | ${r.score.toFixed(1)} % |`);
console.log(`| all | ${total.d} | ${total.u} | ${((100 * total.d) / (total.d + total.u)).toFixed(1)} % |`);
console.log(`\nsurvivors (${survivors.length}):`);
for (const s of survivors.sort()) console.log(s);
