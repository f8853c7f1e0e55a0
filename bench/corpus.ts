/**
 * Generates a benchmark corpus: `node bench/corpus.ts mixed|tiny <dir> [seed]`,
 * or changes one: `node bench/corpus.ts mutate <dir> [seed]`.
 */
import { existsSync } from 'node:fs';
import { generateMixed, generateTiny, mutateMixed } from './lib/corpus.ts';

const [kind, dir, seed] = process.argv.slice(2);
if (!dir || !['mixed', 'tiny', 'mutate'].includes(kind ?? '')) {
  process.stderr.write('usage: node bench/corpus.ts mixed|tiny|mutate <dir> [seed]\n');
  process.exit(2);
}
if (kind !== 'mutate' && existsSync(dir)) {
  process.stderr.write(`corpus: ${dir} exists; remove it first or choose another directory\n`);
  process.exit(2);
}
const t0 = performance.now();
const summary = kind === 'mixed' ? generateMixed(dir, seed) : kind === 'tiny' ? generateTiny(dir, seed) : mutateMixed(dir, seed);
process.stdout.write(`${JSON.stringify({ kind, dir, ...summary, seconds: +((performance.now() - t0) / 1000).toFixed(1) })}\n`);
