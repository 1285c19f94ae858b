// Re-renders RESULTS.md from a results.json (after a change to the report's layout, or to read a
// kept run again):  node bench/render.ts [bench/results]   (the folder holding results.json)
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { worldSectionFrom } from './nodes-report.ts';
import { renderReport, type BenchResults } from './report.ts';

const dir = process.argv[2] ?? 'bench/results';
const results = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as BenchResults;
writeFileSync(join(dir, 'RESULTS.md'), `${renderReport(results, worldSectionFrom(dir))}\n`);
process.stderr.write(`wrote ${join(dir, 'RESULTS.md')}\n`);
