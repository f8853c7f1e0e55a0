/**
 * `ferry forget` then `ferry prune` through the CLI: the repository shrinks
 * and every remaining snapshot restores byte-identically; and a backup that
 * runs while prune runs (paused mid-job with SIGSTOP, so the overlap is
 * certain) keeps every blob it relied on: prune waits for it, keeps the
 * packs its snapshot references, and `check --read-data` is clean.
 */
import { spawn } from 'node:child_process';
import { cp, mkdir, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FERRY, makeCliEnv, type CliEnv } from './cli-harness.ts';
import { compareTrees } from './compare-trees.ts';
import { pseudoRandom } from './tree-fixture.ts';

interface PruneOut {
  deletedPacks: number;
  repackedPacks: number;
  freedBytes: number;
  resurrected: number;
  markedPacks: number;
  waiting: { mark: string; reason: string }[];
}

/** Bytes of every pack in a local repository. */
async function packBytes(repo: string): Promise<number> {
  let total = 0;
  for (const top of ['data', 'tree']) {
    for (const e of await readdir(join(repo, top), { recursive: true, withFileTypes: true }).catch(() => [])) {
      if (e.isFile()) total += (await stat(join(e.parentPath, e.name))).size;
    }
  }
  return total;
}

describe('forget and prune', () => {
  let t: CliEnv;
  let src: string;

  beforeAll(async () => {
    t = await makeCliEnv('ferry-prune-');
    src = join(t.dir, 'src');
    await mkdir(src);
    // 1 MiB packs: a file's data fills packs of its own, which become unreferenced whole.
    expect((await t.run(['init', '--kdf-memory', '8', '--pack-size', '1'])).code).toBe(0);
  });
  afterAll(() => t?.cleanup());

  const ok = async (args: string[]) => {
    const r = await t.run(args);
    expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
    return r;
  };
  const prune = async () => JSON.parse((await ok(['prune', '--grace-hours', '0', '--json'])).stdout) as PruneOut;

  it('shrinks the repository, and every remaining snapshot restores byte-identically', async () => {
    await writeFile(join(src, 'keep.txt'), 'kept in every snapshot\n');
    await writeFile(join(src, 'old.bin'), pseudoRandom(6 * 2 ** 20, 'old'));
    await ok(['backup', src]);
    await rm(join(src, 'old.bin'));
    await writeFile(join(src, 'mid.bin'), pseudoRandom(3 * 2 ** 20, 'mid'));
    await ok(['backup', src]);
    const midCopy = join(t.dir, 'mid-src');
    await cp(src, midCopy, { recursive: true, preserveTimestamps: true });
    await writeFile(join(src, 'new.bin'), pseudoRandom(2 * 2 ** 20, 'new'));
    await ok(['backup', src]);

    const before = await packBytes(t.repo);
    await ok(['forget', '--keep-last', '2']);
    const out = await prune();
    expect(out.deletedPacks).toBeGreaterThan(0);
    // All of old.bin's 6 MiB: a pack it shared with a file still referenced was repacked.
    expect(out.freedBytes).toBeGreaterThan(6 * 2 ** 20);
    expect(out.repackedPacks).toBeGreaterThan(0);
    const after = await packBytes(t.repo);
    expect(before - after).toBeGreaterThan(6 * 2 ** 20);
    expect((await prune()).deletedPacks).toBe(0); // nothing more to do

    await ok(['check', '--read-data']);
    const snaps = JSON.parse((await ok(['snapshots', '--json'])).stdout) as { id: string }[];
    expect(snaps.length).toBe(2);
    for (const [i, want] of [[0, midCopy], [1, src]] as const) {
      const out = join(t.dir, `restored-${i}`);
      await ok(['restore', snaps[i]!.id, '--target', out]);
      expect(await compareTrees(want, join(out, src), { metadata: false })).toEqual([]);
    }
  });

  it('keeps what a backup running during the prune relies on: the prune waits for it, and check --read-data is clean', async () => {
    // A file whose data only a forgotten snapshot holds...
    await writeFile(join(src, 'again.bin'), pseudoRandom(4 * 2 ** 20, 'again'));
    await ok(['backup', src]);
    await rm(join(src, 'again.bin'));
    await ok(['backup', src]);
    await ok(['forget', '--keep-last', '1']);
    // ...comes back, and a backup that reuses it (its blobs are still indexed) runs while prune marks them.
    await writeFile(join(src, 'again.bin'), pseudoRandom(4 * 2 ** 20, 'again'));
    await writeFile(join(src, 'zz-large.bin'), pseudoRandom(40 * 2 ** 20, 'large'));
    const packsBefore = new Set((await readdir(join(t.repo, 'data'), { recursive: true })).filter((n) => n.length > 60));
    const child = spawn(FERRY, ['backup', src], { env: t.env, cwd: t.dir, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number>((res) => child.on('exit', (code) => res(code ?? -1)));
    // Paused once its uploader has stored a new pack: it has loaded the index, and may have reused the blobs.
    for (;;) {
      const now = (await readdir(join(t.repo, 'data'), { recursive: true })).filter((n) => n.length > 60);
      if (now.some((n) => !packsBefore.has(n))) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    child.kill('SIGSTOP');
    let first: PruneOut;
    try {
      first = await prune();
    } finally {
      child.kill('SIGCONT');
    }
    expect(first.markedPacks).toBeGreaterThan(0);
    expect(first.deletedPacks).toBe(0);
    expect(first.waiting.map((w) => w.reason).join(' ')).toMatch(/still running/);
    expect(await exited, stderr).toBe(0);

    const second = await prune();
    expect(second.waiting).toEqual([]);
    await ok(['check', '--read-data']);
    const out = join(t.dir, 'restored-during');
    await ok(['restore', 'latest', '--target', out]);
    expect(await compareTrees(src, join(out, src), { metadata: false })).toEqual([]);
  });
});
