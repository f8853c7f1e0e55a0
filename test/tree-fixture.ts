/** Builds a source tree with every kind of entry the round-trip tests need. */
import { mkdir, writeFile, symlink, link, utimes, chmod } from 'node:fs/promises';
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';

/** Deterministic pseudo-random bytes (SHA-256 in counter mode). */
export function pseudoRandom(bytes: number, seed: string): Buffer {
  const out = Buffer.allocUnsafe(bytes);
  for (let off = 0, i = 0; off < bytes; off += 32, i++) {
    createHash('sha256').update(`${seed}:${i}`).digest().copy(out, off, 0, Math.min(32, bytes - off));
  }
  return out;
}

/**
 * A source that takes several upload batches: `bigFiles` random 24 MiB files
 * (64 MiB of upload closes a batch) and `smallDirs` directories of 500 small
 * text files. Big enough that a backup runs a few seconds, so tests can kill
 * things mid-job.
 */
export async function buildJobSource(root: string, opts: { bigFiles: number; smallDirs: number }): Promise<void> {
  await mkdir(join(root, 'big'), { recursive: true });
  for (let i = 0; i < opts.bigFiles; i++) await writeFile(join(root, 'big', `f${i}.bin`), randomBytes(24 * 1024 * 1024));
  for (let d = 0; d < opts.smallDirs; d++) {
    await mkdir(join(root, 'small', `d${d}`), { recursive: true });
    for (let f = 0; f < 500; f++) await writeFile(join(root, 'small', `d${d}`, `s${f}.txt`), `small file ${d}/${f}\n`.repeat(1 + (f % 7)));
  }
}

export const MARKER = 'FERRY-PLAINTEXT-MARKER-7f3a9c';

export async function buildTree(root: string): Promise<void> {
  await mkdir(join(root, 'a', 'b', 'c'), { recursive: true });
  await mkdir(join(root, 'empty-dir'), { recursive: true });
  await mkdir(join(root, 'ünïcødé dir', 'with spaces'), { recursive: true });
  await writeFile(join(root, 'empty.txt'), '');
  await writeFile(join(root, 'a', 'hello.txt'), `hello world\n${MARKER}\n`);
  await writeFile(join(root, 'a', 'b', 'c', 'deep.txt'), 'deep file\n'.repeat(1000));
  await writeFile(join(root, 'big.bin'), pseudoRandom(21 * 1024 * 1024 + 12345, 'big'));
  await writeFile(join(root, 'compressible.log'), `${MARKER} line of a log file that repeats\n`.repeat(50_000));
  await writeFile(join(root, 'ünïcødé dir', 'with spaces', 'naïve café.txt'), 'unicode content ✓\n');
  await writeFile(join(root, 'file with spaces.txt'), 'spaces\n');
  await writeFile(join(root, 'medium.bin'), pseudoRandom(300 * 1024, 'medium'));
  await symlink('a/hello.txt', join(root, 'link-to-hello'));
  await symlink('/nonexistent/target', join(root, 'dangling-link'));
  await link(join(root, 'a', 'hello.txt'), join(root, 'hardlink-to-hello'));
  await writeFile(join(root, 'script.sh'), '#!/bin/sh\necho hi\n');
  await chmod(join(root, 'script.sh'), 0o750);
  await chmod(join(root, 'a', 'b'), 0o705);
  await utimes(join(root, 'a', 'hello.txt'), new Date('2020-01-02T03:04:05.678Z'), new Date('2021-02-03T04:05:06.789Z'));
}
