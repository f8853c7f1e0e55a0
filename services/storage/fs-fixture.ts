/**
 * Test fixture: an FsStorage in a fresh temp directory whose cleanup checks
 * what the driver promises about the disk (no temp files left, dirs 0700,
 * files 0600) before deleting it.
 */
import { lstatSync, readdirSync } from 'node:fs';
import * as nodeFs from 'node:fs/promises';
import { mkdtemp, rm, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach } from 'vitest';
import type { StorageFixture } from './conformance.ts';
import { FsStorage, TMP_PREFIX, type FsImpl, type FsStorageOptions } from './fs.ts';
import type { Storage } from './storage.ts';

export interface DiskProblem {
  readonly path: string;
  readonly problem: string;
}

/** Everything under `root` (inclusive) that breaks the on-disk promises. */
export function diskProblems(root: string): DiskProblem[] {
  const problems: DiskProblem[] = [];
  const visit = (p: string): void => {
    const info = lstatSync(p);
    const mode = info.mode & 0o777;
    if (info.isDirectory()) {
      if (mode !== 0o700) problems.push({ path: p, problem: `dir mode ${mode.toString(8)}` });
      for (const child of readdirSync(p)) visit(path.join(p, child));
    } else {
      if (path.basename(p).startsWith(TMP_PREFIX)) problems.push({ path: p, problem: 'temp file left behind' });
      if (mode !== 0o600) problems.push({ path: p, problem: `file mode ${mode.toString(8)}` });
    }
  };
  visit(root);
  return problems;
}

export async function makeFsFixture(wrap: (fs: FsStorage) => Storage = (fs) => fs, opts: FsStorageOptions = {}): Promise<StorageFixture & { root: string }> {
  const parent = await mkdtemp(path.join(tmpdir(), 'ferry-storage-'));
  const root = path.join(parent, 'repo');
  const storage = wrap(await FsStorage.create(root, opts));
  return {
    root,
    storage,
    async cleanup() {
      await storage.close();
      try {
        const problems = diskProblems(root);
        if (problems.length > 0) throw new Error(`storage left the disk in a bad state: ${JSON.stringify(problems.slice(0, 5))}`);
      } finally {
        await rm(parent, { recursive: true, force: true });
      }
    },
  };
}

export function sysError(code: string): NodeJS.ErrnoException {
  const err: NodeJS.ErrnoException = new Error(`${code}: simulated`);
  err.code = code;
  return err;
}

/** A FileHandle with some methods replaced; the rest act on the real handle. */
export function patchHandle(fh: FileHandle, patch: Record<string, unknown>): FileHandle {
  return new Proxy(fh, {
    get(target, prop) {
      if (typeof prop === 'string' && prop in patch) return patch[prop];
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

/** The real fs, except that every opened handle goes through `onOpen` (`flags` as given: a string, or open(2)'s bits as a number). */
export function fsWithHandles(onOpen: (file: string, flags: string | number, fh: FileHandle) => FileHandle): FsImpl {
  return {
    ...nodeFs,
    open: (async (file: string, flags: string | number, mode?: number) => onOpen(String(file), flags, await nodeFs.open(file, flags, mode))) as FsImpl['open'],
  };
}

/**
 * A fresh temp directory for each test of the calling suite (made in
 * beforeEach, removed in afterEach): `parent`, and `root`, a repository
 * path inside it that does not exist yet.
 */
export function useTempDir(prefix: string): { readonly parent: string; readonly root: string } {
  let parent = '';
  beforeEach(async () => {
    parent = await mkdtemp(path.join(tmpdir(), prefix));
  });
  afterEach(async () => {
    await rm(parent, { recursive: true, force: true });
  });
  return {
    get parent() {
      return parent;
    },
    get root() {
      return path.join(parent, 'repo');
    },
  };
}
