/**
 * The content work of a first backup as Ferry's native engine does it
 * (services/repo/native-content.ts): files read, chunked, ID'd, hashed and
 * sealed on libuv's thread pool, one task more than the cores in flight,
 * while the main thread hashes each sealed blob into its pack's SHA-256
 * and writes 16 MiB pack files the way a backup does (FsStorage: past the
 * page cache where the filesystem allows, and fsynced). A chunk
 * is sealed once: the known-blobs filter learns every ID as it comes back,
 * as a backup's index does. No walk, messages, trees or catalog: what is
 * left is the least a first backup can take with this engine here.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { DEFAULT_CHUNKER_PARAMS } from '../../services/repo/chunker.ts';
import { DEFAULT_ZSTD_LEVEL } from '../../services/repo/compression.ts';
import { KnownBlobs } from '../../services/repo/known-blobs.ts';
import { loadContentAddon } from '../../services/repo/content-addon.ts';
import { NativeContent } from '../../services/repo/native-content.ts';
import type { RepoConfig } from '../../services/repo/config.ts';
import { FsStorage } from '../../services/storage/fs.ts';

const PACK_BYTES = 16 * 1024 * 1024;
const SEGMENT_BYTES = 4 * 1024 * 1024;
const GROUP_FILES = 128;

export async function nativeRound(files: readonly string[], outParent: string): Promise<{ wall: number; stored: number }> {
  const { addon, error } = loadContentAddon();
  if (addon === undefined) throw new Error(`the native content addon is not built (npm run build:native): ${String(error)}`);
  const config = { chunker: { ...DEFAULT_CHUNKER_PARAMS, seed: randomBytes(32) } } as unknown as RepoConfig;
  const engine = new NativeContent(addon, config, randomBytes(32));
  const known = new KnownBlobs();
  const seen = new Set<string>();
  const seal = { key: randomBytes(32), level: DEFAULT_ZSTD_LEVEL };
  const out = mkdtempSync(join(outParent, '.content-native-'));
  const storage = new FsStorage(out, { alignedAlloc: (size) => addon.alignedBuffer(size) });
  const saved: Promise<void>[] = [];
  let pack: Uint8Array[] = [];
  let packBytes = 0;
  let stored = 0;
  let hash = createHash('sha256');
  const flush = (): void => {
    if (packBytes === 0) return;
    const name = `pack-${hash.digest('hex')}`;
    hash = createHash('sha256');
    const parts = pack;
    pack = [];
    packBytes = 0;
    saved.push(
      storage.writer().then(async (w) => {
        for (const part of parts) await w.write(part);
        await w.commit(name);
      }),
    );
  };
  const take = (id: Uint8Array, sealed: Uint8Array | undefined): void => {
    const k = Buffer.from(id).toString('latin1');
    if (sealed === undefined || seen.has(k)) return;
    seen.add(k);
    known.add(id);
    hash.update(sealed);
    pack.push(sealed);
    packBytes += sealed.length;
    stored += sealed.length;
    if (packBytes >= PACK_BYTES) flush();
  };
  const small: string[] = [];
  const large: string[] = [];
  for (const f of files) (statSync(f).size <= DEFAULT_CHUNKER_PARAMS.minSize ? small : large).push(f);
  const jobs: (() => Promise<void>)[] = [];
  for (let i = 0; i < small.length; i += GROUP_FILES) {
    const group = small.slice(i, i + GROUP_FILES);
    jobs.push(async () => {
      for (const r of await engine.readFiles(group, { seal, known: known.handle })) if (r.ok) take(r.id, r.sealed);
    });
  }
  for (const path of large) {
    jobs.push(async () => {
      for (let start = 0; ; ) {
        const seg = await engine.scanSegment(path, start, SEGMENT_BYTES, { seal, known: known.handle });
        for (const c of seg.chunks) take(c.id, c.sealed);
        if (seg.eof) break;
        start = seg.next;
      }
    });
  }
  const t = performance.now();
  try {
    // Enough callers that the engine's own bound, not this loop, decides how many tasks run.
    await Promise.all(Array.from({ length: 8 }, async () => {
      for (let job = jobs.shift(); job !== undefined; job = jobs.shift()) await job();
    }));
    flush();
    await Promise.all(saved);
    return { wall: (performance.now() - t) / 1000, stored };
  } finally {
    await Promise.allSettled(saved);
    await engine.close();
    rmSync(out, { recursive: true, force: true });
  }
}
