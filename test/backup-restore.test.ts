/**
 * End-to-end: the real CLI backs up a tree into a local repository and
 * restores it byte-identically, with metadata; change detection, dedup,
 * encryption at rest, passphrase and corruption handling.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { cp, lstat, mkdir, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { makeCliEnv, type CliEnv } from './cli-harness.ts';
import { buildTree, MARKER } from './tree-fixture.ts';
import { compareTrees } from './compare-trees.ts';
import { FsStorage } from '../services/storage/fs.ts';
import { Repository } from '../services/repo/repository.ts';
import { DEFAULT_CHUNKER_PARAMS } from '../services/repo/chunker.ts';

const exec = promisify(execFile);

/** Restores the latest snapshot of `src` into `out` with `t.run` (and `opts`), and checks it with `diff -r`. */
async function expectLatestRestores(t: CliEnv, src: string, out: string, opts: Parameters<CliEnv['run']>[1] = {}): Promise<void> {
  const back = await t.run(['restore', `latest:${src}`, '--target', out], opts);
  expect(back.code, back.stderr).toBe(0);
  await exec('diff', ['-r', '--no-dereference', src, out]);
}

async function repoBytes(dir: string): Promise<number> {
  let total = 0;
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (e.isFile()) total += (await stat(join(e.parentPath, e.name))).size;
  }
  return total;
}

interface BackupJson {
  id: string;
  status: string;
  summary: { filesRead: number; newBytes: number; files: number };
  errors: { path: string; message: string }[];
}

describe('backup and restore through the CLI', () => {
  let t: CliEnv;
  let src: string;
  let first: BackupJson;

  beforeAll(async () => {
    t = await makeCliEnv();
    src = join(t.dir, 'src');
    await buildTree(src);
    const init = await t.run(['init', '--kdf-memory', '8']);
    expect(init.code, init.stderr).toBe(0);
    first = await t.json<BackupJson>(['backup', src]);
  });
  afterAll(() => t.cleanup());

  it('restores byte-identically with modes and mtimes', async () => {
    expect(first.status).toBe('ok');
    const out = join(t.dir, 'restored');
    const r = await t.run(['restore', `${first.id.slice(0, 10)}:${src}`, '--target', out]);
    expect(r.code, r.stderr).toBe(0);
    await exec('diff', ['-r', '--no-dereference', src, out]);
    expect(await compareTrees(src, out, { metadata: true })).toEqual([]);
    const a = await lstat(join(out, 'a', 'hello.txt'));
    const b = await lstat(join(out, 'hardlink-to-hello'));
    expect(a.ino).toBe(b.ino);
  });

  it('restores content only when asked', async () => {
    const out = join(t.dir, 'content-only');
    const r = await t.run(['restore', `latest:${src}/script.sh`, '--target', out, '--content-only']);
    expect(r.code, r.stderr).toBe(0);
    expect(await readFile(join(out, 'script.sh'), 'utf8')).toContain('echo hi');
    expect((await stat(join(out, 'script.sh'))).mode & 0o777).toBe(0o600);
  });

  it('reads no content on an unchanged second backup and adds under 1 MiB', async () => {
    const before = await repoBytes(t.repo);
    const second = await t.json<BackupJson>(['backup', src]);
    expect(second.summary.filesRead).toBe(0);
    expect(second.summary.newBytes).toBeLessThan(1024 * 1024);
    expect((await repoBytes(t.repo)) - before).toBeLessThan(1024 * 1024);
  });

  it('stores a copy of a large file almost for free', async () => {
    await mkdir(join(src, 'copies'));
    await cp(join(src, 'big.bin'), join(src, 'copies', 'big-copy.bin'));
    const before = await repoBytes(t.repo);
    const third = await t.json<BackupJson>(['backup', src]);
    expect(third.summary.filesRead).toBe(1);
    expect((await repoBytes(t.repo)) - before).toBeLessThan(256 * 1024);
    // The root changed, so its unchanged entries went through the actors as kept runs of the parent's nodes.
    const out = join(t.dir, 'restored-third');
    const r = await t.run(['restore', `${third.id.slice(0, 10)}:${src}`, '--target', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(await compareTrees(src, out, { metadata: true })).toEqual([]);
  });

  it('keeps no plaintext in the repository', async () => {
    const marker = Buffer.from(MARKER);
    for (const e of await readdir(t.repo, { recursive: true, withFileTypes: true })) {
      if (!e.isFile()) continue;
      const bytes = await readFile(join(e.parentPath, e.name));
      expect(bytes.includes(marker), `${e.name} holds plaintext`).toBe(false);
      expect(bytes.includes(Buffer.from('hello world')), `${e.name} holds plaintext`).toBe(false);
    }
  });

  it('refuses a wrong passphrase clearly, with a non-zero exit', async () => {
    const r = await t.run(['snapshots'], { env: { FERRY_PASSWORD: 'wrong' } });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/wrong passphrase/);
  });

  it('lists, diffs and checks', async () => {
    const snaps = await t.json<{ id: string }[]>(['snapshots']);
    expect(snaps.length).toBe(3);
    const d = await t.run(['diff', snaps[1]!.id, snaps[2]!.id]);
    expect(d.code, d.stderr).toBe(0);
    expect(d.stdout).toContain(`+  ${src}/copies/big-copy.bin`);
    const ls = await t.run(['ls', 'latest', `${src}/a`]);
    expect(ls.stdout).toContain(`${src}/a/hello.txt`);
    const c = await t.run(['check', '--read-data']);
    expect(c.code, c.stdout + c.stderr).toBe(0);
  });
});

describe('a backup after one that lost its index files', () => {
  let t: CliEnv;
  afterAll(() => t?.cleanup());

  it('adopts the packs left without an index instead of storing their data again', async () => {
    t = await makeCliEnv();
    const src = join(t.dir, 'src');
    await buildTree(src);
    expect((await t.run(['init', '--kdf-memory', '8'])).code).toBe(0);
    const first = await t.json<BackupJson>(['backup', src]);
    expect(first.summary.newBytes).toBeGreaterThan(21 * 1024 * 1024);
    // As if the writer had died after saving its packs and before saving the index files that list them.
    for (const name of await readdir(join(t.repo, 'index'))) await rm(join(t.repo, 'index', name));
    const before = await repoBytes(t.repo);
    const second = await t.json<BackupJson>(['backup', src]);
    expect(second.status).toBe('ok');
    expect(second.summary.filesRead).toBeGreaterThan(0); // the parent's trees are unindexed too, so every file is read again
    expect(second.summary.newBytes).toBeLessThan(1024 * 1024);
    expect((await repoBytes(t.repo)) - before).toBeLessThan(1024 * 1024);
    const c = await t.run(['check', '--read-data']);
    expect(c.code, c.stdout + c.stderr).toBe(0);
  });
});

describe('damage and bad input', () => {
  it('names the damaged pack and the affected files, and exits non-zero', async () => {
    const t = await makeCliEnv();
    try {
      const src = join(t.dir, 'src');
      await mkdir(src);
      await writeFile(join(src, 'victim.txt'), 'precious data\n'.repeat(100));
      expect((await t.run(['init', '--kdf-memory', '8'])).code).toBe(0);
      expect((await t.run(['backup', src])).code).toBe(0);
      const packs = (await readdir(join(t.repo, 'data'), { recursive: true, withFileTypes: true })).filter((e) => e.isFile());
      expect(packs.length).toBe(1);
      const file = join(packs[0]!.parentPath, packs[0]!.name);
      const bytes = await readFile(file);
      bytes[60] = bytes[60]! ^ 0xff; // inside the first blob, after the 40-byte header
      await writeFile(file, bytes);
      const r = await t.run(['check', '--read-data']);
      expect(r.code).toBe(1);
      expect(r.stdout).toContain(packs[0]!.name);
      expect(r.stdout).toContain(`${src}/victim.txt`);
    } finally {
      await t.cleanup();
    }
  });

  it('names an unreadable file and exits 3', async () => {
    const t = await makeCliEnv();
    try {
      const src = join(t.dir, 'src');
      await mkdir(src);
      await writeFile(join(src, 'ok.txt'), 'fine\n');
      await writeFile(join(src, 'secret.txt'), 'no access\n', { mode: 0o000 });
      // Root reads everything, so as root the backup runs as the unprivileged "nobody" user.
      const asRoot = process.getuid?.() === 0;
      const who = asRoot ? { uid: 65534, gid: 65534 } : {};
      if (asRoot) await exec('chmod', ['-R', 'a+rwX', t.dir]).then(() => exec('chmod', ['000', join(src, 'secret.txt')]));
      expect((await t.run(['init', '--kdf-memory', '8'], who)).code).toBe(0);
      const r = await t.run(['backup', src], who);
      expect(r.code).toBe(3);
      expect(r.stdout).toContain(join(src, 'secret.txt'));
      const snaps = JSON.parse((await t.run(['snapshots', '--json'], who)).stdout) as { status: string }[];
      expect(snaps[0]!.status).toBe('warning');
    } finally {
      await t.cleanup();
    }
  });

  it('makes chunks of the average init --chunk-size names, or 512 KiB by default', async () => {
    const chosen = await makeCliEnv();
    const usual = await makeCliEnv();
    try {
      expect((await chosen.run(['init', '--kdf-memory', '8', '--chunk-size', '64'])).code).toBe(0);
      expect((await usual.run(['init', '--kdf-memory', '8'])).code).toBe(0);
      const config = async (t: CliEnv) => (await Repository.open(await FsStorage.create(t.repo), 'correct horse battery staple')).config.chunker;
      expect(await config(chosen)).toMatchObject({ minSize: 32768, avgSize: 65536, maxSize: 262144 });
      expect(await config(usual)).toMatchObject(DEFAULT_CHUNKER_PARAMS);
      expect(DEFAULT_CHUNKER_PARAMS).toEqual({ minSize: 262144, avgSize: 524288, maxSize: 2097152 });
      // 4 MiB of one repeated random MiB: 64 KiB chunks find the repeats, so far less than 4 MiB is stored.
      const src = join(chosen.dir, 'src');
      await mkdir(src);
      const mib = randomBytes(1024 * 1024);
      await writeFile(join(src, 'repeats.bin'), Buffer.concat([mib, mib, mib, mib]));
      const before = await repoBytes(chosen.repo);
      const b = await chosen.json<BackupJson>(['backup', src]);
      expect(b.status).toBe('ok');
      expect(await repoBytes(chosen.repo) - before).toBeLessThan(1.5 * 1024 * 1024);
      await expectLatestRestores(chosen, src, join(chosen.dir, 'out'));
    } finally {
      await chosen.cleanup();
      await usual.cleanup();
    }
  });

  it('rejects a missing repository and bad usage with distinct codes', async () => {
    const t = await makeCliEnv();
    try {
      const r = await t.run(['snapshots']);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/no Ferry repository/);
      // A backup says so before it starts anything: no embedded nats-server, no state directory.
      const b = await t.run(['backup', t.dir]);
      expect(b.code).toBe(1);
      expect(b.stderr).toMatch(/no Ferry repository/);
      expect(b.stderr).not.toMatch(/nats-server/);
      expect(existsSync(join(t.dir, 'state', 'nats'))).toBe(false);
      expect((await t.run(['restore', 'latest'])).code).toBe(2);
      expect((await t.run(['frobnicate'])).code).toBe(2);
      const engine = await t.run(['snapshots'], { env: { FERRY_CONTENT_ENGINE: 'gpu' } });
      expect(engine.code).toBe(2);
      expect(engine.stderr).toMatch(/FERRY_CONTENT_ENGINE is "gpu"; use native, workers or auto/);
      for (const size of ['100', '32', '16384']) {
        const init = await t.run(['init', '--chunk-size', size]);
        expect(init.code).toBe(2);
        expect(init.stderr).toMatch(/--chunk-size is the average chunk size in KiB: a power of two from 64 to 8192/);
      }
      expect(existsSync(t.repo)).toBe(false);
      const nice = await t.run(['snapshots'], { env: { FERRY_CONTENT_NICE: '25' } });
      expect(nice.code).toBe(2);
      expect(nice.stderr).toMatch(/FERRY_CONTENT_NICE is "25"; use a whole number from 0 \(no change\) to 19/);
    } finally {
      await t.cleanup();
    }
  });
});

describe('the two content engines', () => {
  it('restore with one what the other backed up: the native addon and the worker threads write the same format', async () => {
    const t = await makeCliEnv();
    try {
      const src = join(t.dir, 'src');
      await buildTree(src);
      await writeFile(join(src, 'large.bin'), Buffer.alloc(3 * 1024 * 1024, 'engines '));
      expect((await t.run(['init', '--kdf-memory', '8'])).code).toBe(0);
      for (const [backup, restore] of [['workers', 'native'], ['native', 'workers']] as const) {
        await writeFile(join(src, 'changed.txt'), `backed up by ${backup}`);
        const r = await t.run(['backup', src], { env: { FERRY_CONTENT_ENGINE: backup } });
        expect(r.code, r.stderr).toBe(0);
        await expectLatestRestores(t, src, join(t.dir, `restored-by-${restore}`), { env: { FERRY_CONTENT_ENGINE: restore } });
      }
    } finally {
      await t.cleanup();
    }
  });
});

describe('a checkout whose native addon was not built', () => {
  // A copy of the sources without native/content/build: what a user has after a failed or skipped build.
  it('refuses FERRY_CONTENT_ENGINE=native with what to do, and otherwise backs up and restores on worker threads', async () => {
    const t = await makeCliEnv();
    try {
      const root = join(import.meta.dirname, '..');
      const co = join(t.dir, 'checkout');
      for (const d of ['bin', 'cli', 'services', 'protocol', 'actors', 'console', 'edge-agent', 'package.json']) {
        await cp(join(root, d), join(co, d), { recursive: true, filter: (f) => !/\.(test|bench)\.ts$/.test(f) });
      }
      await symlink(join(root, 'node_modules'), join(co, 'node_modules'));
      if (existsSync(join(root, '.tools'))) await symlink(join(root, '.tools'), join(co, '.tools'));
      expect(existsSync(join(co, 'native'))).toBe(false);
      const bin = join(co, 'bin', 'ferry');
      const ferry = (args: string[], env: NodeJS.ProcessEnv = {}) => t.run(args, { env, bin });
      const src = join(t.dir, 'src');
      await buildTree(src);
      expect((await ferry(['init', '--kdf-memory', '8'])).code).toBe(0);
      const refused = await ferry(['backup', src], { FERRY_CONTENT_ENGINE: 'native' });
      expect(refused.code, refused.stderr).toBe(1);
      expect(refused.stderr).toMatch(/native content addon is not built; run deploy\/setup\.sh/);
      expect((await ferry(['snapshots', '--json'])).stdout.trim()).toBe('[]');
      const r = await ferry(['backup', src]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/native content addon not available; chunking and sealing on worker threads/);
      await expectLatestRestores(t, src, join(t.dir, 'restored'), { bin });
    } finally {
      await t.cleanup();
    }
  });
});

describe('one source backing up several directories in turn', () => {
  let t: CliEnv;
  afterAll(() => t?.cleanup());

  it('compares each backup with the last snapshot of the same paths, so unchanged files are not read again', async () => {
    t = await makeCliEnv();
    const docs = join(t.dir, 'docs');
    const photos = join(t.dir, 'photos');
    for (const [dir, n] of [[docs, 5], [photos, 3]] as const) {
      await mkdir(dir);
      for (let i = 0; i < n; i++) await writeFile(join(dir, `f${i}.txt`), `${dir} file ${i}\n`);
    }
    expect((await t.run(['init', '--kdf-memory', '8'])).code).toBe(0);
    expect((await t.json<BackupJson>(['backup', docs])).summary.filesRead).toBe(5);
    expect((await t.json<BackupJson>(['backup', photos])).summary.filesRead).toBe(3);
    // The newest snapshot of this source is of photos; docs still compares with its own.
    const again = await t.json<BackupJson>(['backup', docs]);
    expect(again.summary).toMatchObject({ files: 5, filesRead: 0 });
    await writeFile(join(photos, 'f0.txt'), 'changed\n');
    expect((await t.json<BackupJson>(['backup', photos])).summary.filesRead).toBe(1);
  });
});
