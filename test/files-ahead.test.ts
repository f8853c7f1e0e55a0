/**
 * Files sent ahead, end to end: a large file at the top of the tree is read
 * by its own upload item, and its content (or the error reading it)
 * reaches the snapshot through the finalizer's join. Through `ferry serve`
 * on a private nats-server (whose job events a later command can read),
 * and through the CLI's embedded NATS.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdir, open, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeCliEnv, type CliEnv } from './cli-harness.ts';
import { startNats, type NatsFixture } from './nats-fixture.ts';
import { startServe, waitForActors, type ServeProcess } from './serve-harness.ts';
import { compareTrees } from './compare-trees.ts';
import { pseudoRandom } from './tree-fixture.ts';
import { AHEAD_BYTES } from '../services/jobs/files-ahead.ts';

const exec = promisify(execFile);

interface BackupJson {
  id: string;
  job: string;
  status: string;
  summary: { filesRead: number };
  errors: { path: string; message: string }[];
}

/** Small files in subdirectories that sort before the large one, so the walk reaches it last. */
async function buildSource(src: string): Promise<string> {
  for (const d of ['a', 'b']) {
    await mkdir(join(src, d), { recursive: true });
    for (let f = 0; f < 20; f++) await writeFile(join(src, d, `f${f}.txt`), `file ${d}/${f}\n`.repeat(f + 1));
  }
  const disk = join(src, 'disk.img');
  await writeFile(disk, pseudoRandom(AHEAD_BYTES + 1024 * 1024, 'ahead'));
  return disk;
}

describe('a large file sent ahead of its batch', () => {
  let t: CliEnv;
  let nats: NatsFixture;
  let serve: ServeProcess;
  let src: string;
  let disk: string;
  const client = (args: string[]) => t.run(args, { env: { NATS_URL: nats.url } });

  beforeAll(async () => {
    t = await makeCliEnv();
    nats = await startNats();
    src = join(t.dir, 'src');
    disk = await buildSource(src);
    expect((await t.run(['init', '--kdf-memory', '8'])).code).toBe(0);
    serve = startServe(t, nats.url, ['coordinator', 'scanner', 'uploader', 'finalizer', 'restorer', 'verifier']);
    await waitForActors(nats.url, ['coordinator', 'scanner', 'uploader', 'finalizer', 'restorer', 'verifier']);
  });
  afterAll(async () => {
    await serve?.stop();
    await nats?.stop();
    await t?.cleanup();
  });

  async function backup(): Promise<BackupJson> {
    const r = await client(['backup', src, '--json']);
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as BackupJson;
  }

  /** Uploader progress events of `job` that were for a file item. */
  async function fileItems(job: string): Promise<number> {
    const ev = await client(['events', '--job', job, '--json']);
    expect(ev.code, ev.stderr).toBe(0);
    return ev.stdout.trim().split('\n').map((l) => JSON.parse(l) as { actor: string; data: { step?: string; file?: boolean } })
      .filter((e) => e.actor === 'uploader' && e.data.step === 'upload' && e.data.file === true).length;
  }

  async function restoresIdentically(id: string, name: string): Promise<void> {
    const out = join(t.dir, name);
    const r = await client(['restore', `${id.slice(0, 10)}:${src}`, '--target', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(await compareTrees(src, out, { metadata: true })).toEqual([]);
  }

  it('is read by its own item and restores byte-identically, first and after an edit in its middle', async () => {
    const first = await backup();
    expect(first.status).toBe('ok');
    expect(await fileItems(first.job)).toBe(1);
    await restoresIdentically(first.id, 'first');

    const fh = await open(disk, 'r+');
    await fh.write(Buffer.alloc(4096, 0x5a), 0, 4096, AHEAD_BYTES / 2);
    await fh.close();
    const second = await backup();
    expect(second.status).toBe('ok');
    expect(second.summary.filesRead).toBe(1);
    expect(await fileItems(second.job)).toBe(1);
    await restoresIdentically(second.id, 'second');
  });

  it('names the file when its item cannot read it, exits 3 and keeps the rest', async () => {
    const u = await makeCliEnv();
    try {
      const src = join(u.dir, 'src');
      const disk = await buildSource(src);
      // Root reads everything, so as root the backup runs as the unprivileged "nobody" user.
      const asRoot = process.getuid?.() === 0;
      const who = asRoot ? { uid: 65534, gid: 65534 } : {};
      if (asRoot) await exec('chmod', ['-R', 'a+rwX', u.dir]);
      await exec('chmod', ['000', disk]);
      expect((await u.run(['init', '--kdf-memory', '8'], who)).code).toBe(0);
      const r = await u.run(['backup', src, '--json'], who);
      expect(r.code, r.stderr).toBe(3);
      const b = JSON.parse(r.stdout) as BackupJson;
      expect(b.status).toBe('warning');
      expect(b.errors.map((e) => e.path)).toEqual([disk]);
      const ls = await u.run(['ls', `latest:${src}`, '--json'], who);
      expect(ls.code, ls.stderr).toBe(0);
      expect(ls.stdout).toContain('f19.txt');
      expect(ls.stdout).not.toContain('disk.img');
    } finally {
      await u.cleanup();
    }
  });
});
