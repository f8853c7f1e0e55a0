/**
 * One pass of a first backup's content work over a list of files, step by
 * step (bench/content-bound.bench.ts): read, FastCDC chunking, HMAC-SHA256
 * blob IDs, and for each chunk not seen before zstd, AES-256-GCM and the
 * SHA-256 of its pack, with the sealed bytes written out as 16 MiB pack
 * files. Runs on the main thread (one core) or on several worker threads at
 * once (content-round-worker.ts).
 */
import { closeSync, constants, fsyncSync, ftruncateSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { loadContentAddon } from '../../services/repo/content-addon.ts';
import { DIRECT_ALIGN, STAGE_BYTES } from '../../services/storage/fs-direct.ts';
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { chunkLengths, gearTable, DEFAULT_CHUNKER_PARAMS } from '../../services/repo/chunker.ts';
import { blobId } from '../../services/crypto/tenant-keys.ts';
import { compress, DEFAULT_ZSTD_LEVEL } from '../../services/repo/compression.ts';
import { seal } from '../../services/crypto/aead.ts';

export const STEPS = ['read', 'chunk', 'id', 'compress', 'encrypt', 'pack hash', 'write'] as const;
export type Step = (typeof STEPS)[number];

export interface RoundResult {
  /** Seconds per step: wall time, except `write`, which is CPU time (waiting on the disk is not work a core does). */
  readonly secs: Record<Step, number>;
  readonly bytes: number;
  readonly stored: number;
}

/** Sealed bytes per pack file, as a repository's default pack size. */
const PACK_BYTES = 16 * 1024 * 1024;

/** CPU seconds (user and system) this thread spends in `f`. */
function cpuSeconds(f: () => void): number {
  const before = process.threadCpuUsage();
  f();
  const used = process.threadCpuUsage(before);
  return (used.user + used.system) / 1e6;
}

/** The aligned buffer writePack gathers into, reused as FsStorage reuses its stages. */
let stageMemory: Uint8Array | undefined;

/**
 * Writes a pack the way FsStorage does with the native addon: gathered into
 * aligned memory and written past the page cache (O_DIRECT), padded to the
 * block and truncated to its size.
 */
function writePack(path: string, parts: readonly Uint8Array[], size: number, fsync: boolean): void {
  const padded = Math.ceil(size / DIRECT_ALIGN) * DIRECT_ALIGN;
  if (stageMemory === undefined || stageMemory.length < padded) {
    const { addon } = loadContentAddon();
    if (addon === undefined) throw new Error('the native content addon is not built (npm run build:native)');
    stageMemory = addon.alignedBuffer(Math.ceil(padded / STAGE_BYTES) * STAGE_BYTES);
    if (stageMemory === undefined) throw new Error('no aligned memory for a direct write');
  }
  const stage = stageMemory;
  let at = 0;
  for (const p of parts) {
    stage.set(p, at);
    at += p.length;
  }
  stage.fill(0, size);
  const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_DIRECT, 0o600);
  try {
    writeSync(fd, stage, 0, padded, 0);
    ftruncateSync(fd, size);
    if (fsync) fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Does the content work of `files`, writing packs into a fresh directory
 * under `outParent` (removed at the end) as FsStorage does (writePack).
 * With `fsync` false the packs' metadata is left to the kernel instead of
 * synced one by one.
 */
export function contentRound(files: readonly string[], outParent: string, opts: { fsync: boolean }): RoundResult {
  const gear = gearTable(randomBytes(32));
  const idKey = randomBytes(32);
  const key = randomBytes(32);
  const aad = new Uint8Array(33);
  const seen = new Set<string>();
  const secs = Object.fromEntries(STEPS.map((s) => [s, 0])) as Record<Step, number>;
  let bytes = 0;
  let stored = 0;
  const time = <T>(step: Step, f: () => T): T => {
    const t = performance.now();
    const r = f();
    secs[step] += (performance.now() - t) / 1000;
    return r;
  };
  const out = mkdtempSync(join(outParent, '.content-bound-'));
  let pack: Uint8Array[] = [];
  let packBytes = 0;
  let packs = 0;
  const flush = (): void => {
    if (packBytes === 0) return;
    secs.write += cpuSeconds(() => writePack(join(out, `pack-${packs++}`), pack, packBytes, opts.fsync));
    pack = [];
    packBytes = 0;
  };
  try {
    for (const path of files) {
      const data = time('read', () => readFileSync(path));
      bytes += data.length;
      const lengths = data.length <= DEFAULT_CHUNKER_PARAMS.minSize ? [data.length] : time('chunk', () => chunkLengths(data, gear));
      let at = 0;
      for (const n of lengths) {
        const chunk = data.subarray(at, at + n);
        at += n;
        if (n === 0) continue;
        const id = time('id', () => blobId(idKey, chunk));
        const k = Buffer.from(id).toString('latin1');
        if (seen.has(k)) continue;
        seen.add(k);
        const packed = time('compress', () => compress(chunk, DEFAULT_ZSTD_LEVEL).data);
        const sealed = time('encrypt', () => seal(key, packed, aad));
        time('pack hash', () => createHash('sha256').update(sealed).digest());
        stored += sealed.length;
        pack.push(sealed);
        packBytes += sealed.length;
        if (packBytes >= PACK_BYTES) flush();
      }
    }
    flush();
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
  return { secs, bytes, stored };
}
