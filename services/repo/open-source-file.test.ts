import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { readWholeSync } from './read-whole.ts';
import { chunkFile, gearTable } from './chunker.ts';

const dir = mkdtempSync(join(tmpdir(), 'ferry-noatime-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A file whose atime is older than its mtime: under relatime, any ordinary read would update it. */
function staleAtimeFile(name: string, bytes: number): { path: string; atimeMs: number } {
  const path = join(dir, name);
  writeFileSync(path, randomBytes(bytes));
  const old = new Date('2001-02-03T04:05:06Z');
  utimesSync(path, old, new Date());
  return { path, atimeMs: statSync(path).atimeMs };
}

describe('reading files for a backup', () => {
  it('leaves their atime alone (O_NOATIME), whole or chunked', () => {
    const whole = staleAtimeFile('whole', 1000);
    readWholeSync(whole.path);
    expect(statSync(whole.path).atimeMs).toBe(whole.atimeMs);

    const chunked = staleAtimeFile('chunked', 3 * 1024 * 1024);
    let n = 0;
    for (const c of chunkFile(chunked.path, gearTable(randomBytes(32)))) n += c.length;
    expect(n).toBe(3 * 1024 * 1024);
    expect(statSync(chunked.path).atimeMs).toBe(chunked.atimeMs);
  });
});
