/** docs/design.md's test vectors must match what the code computes. */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { computeVectors } from './format-vectors.ts';

function documentedVectors(): Record<string, string> {
  const doc = readFileSync(resolve(import.meta.dirname, '../../docs/design.md'), 'utf8');
  const block = /```vectors\n([\s\S]*?)```/.exec(doc);
  if (!block) throw new Error('docs/design.md has no ```vectors block');
  const out: Record<string, string> = {};
  for (const line of block[1]!.split('\n')) {
    const m = /^([\w.-]+): (.+)$/.exec(line.trim());
    if (m) out[m[1]!] = m[2]!;
  }
  return out;
}

describe('format test vectors', () => {
  const doc = documentedVectors();
  const code = computeVectors();
  it('documents every vector the code computes', () => {
    expect(Object.keys(doc).sort()).toEqual(Object.keys(code).sort());
  });
  for (const [name, value] of Object.entries(code)) {
    it(`${name} matches the document`, () => expect(doc[name]).toBe(value));
  }
});
