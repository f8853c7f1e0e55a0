/**
 * Loads Ferry's native content addon (native/content, built by `npm ci`
 * through the root package's install script). The shapes below are the
 * addon's own, flat and untyped at the boundary; NativeContent
 * (native-content.ts) turns them into the interfaces of content.ts.
 */
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** An error the addon made: a system call's (`code` like "ENOENT", with `syscall`) or its own (`native.failed`). */
export type AddonError = Error & { readonly code: string; readonly syscall?: string };

export interface AddonSegment {
  /** 32 bytes per chunk. */
  readonly ids: Uint8Array;
  readonly offsets: Float64Array;
  readonly lengths: Float64Array;
  readonly sealed: readonly (Uint8Array | undefined)[];
  readonly next: number;
  readonly eof: boolean;
  readonly fold: Uint8Array;
}

export type AddonWholeFile =
  | { readonly ok: true; readonly size: number; readonly id: Uint8Array; readonly hash: bigint; readonly sealed?: Uint8Array }
  | { readonly ok: false; readonly error: AddonError };

/** The addon's functions. Every promise settles on the main thread; the work runs on libuv's thread pool. */
export interface ContentAddon {
  createContext(gear: Uint32Array, minSize: number, avgSize: number, maxSize: number, idKey: Uint8Array, readSize: number): object;
  /** Ends at `budget` bytes scanned or `sealBudget` bytes of chunks sealed (none if undefined), or at the end of the file. */
  scan(ctx: object, path: string, start: number, budget: number, key: Uint8Array, level: number, known: readonly Uint32Array[] | undefined, sealBudget?: number): Promise<AddonSegment>;
  readFiles(ctx: object, paths: readonly string[], key: Uint8Array, level: number, known: readonly Uint32Array[] | undefined): Promise<AddonWholeFile[]>;
  readRange(ctx: object, path: string, offset: number, length: number, key: Uint8Array, level: number): Promise<{ id: Uint8Array; length: number; sealed: Uint8Array }>;
  /** 32 bytes of ID and one type byte per item. */
  seal(key: Uint8Array, level: number, ids: Uint8Array, types: Uint8Array, datas: readonly Uint8Array[]): Promise<Uint8Array[]>;
  /** Per blob: [at, length, rawLength] in `geometry`, a count in `destCounts`, that many [fd, position] pairs in `dests`. */
  place(key: Uint8Array, range: Uint8Array, ids: Uint8Array, types: Uint8Array, geometry: Float64Array, destCounts: Uint32Array, dests: Float64Array): Promise<(AddonError | null)[]>;
  /**
   * Synchronous lstat of `names` in directory `dir` (stat_batch.c): per name i,
   * nums[5i..] = mode, uid, gid, size, nlink; bigs[7i..] = atime, mtime, ctime,
   * birth time (ns), inode, device, rdev; errs[i] = 0 or the errno.
   */
  lstatBatch(dir: string, names: readonly string[], nums: Float64Array, bigs: BigInt64Array, errs: Int32Array): void;
  /** `size` bytes (a multiple of 4096) aligned to 4096, for O_DIRECT writes; undefined where the runtime allows no external buffers. */
  alignedBuffer(size: number): Uint8Array | undefined;
  /**
   * How many nice levels (0-19) below the rest of the process content tasks
   * run, from the next task on each pool thread; 0 leaves threads as they are.
   * Process-wide, and a thread once lowered stays so (task_nice.h).
   */
  setTaskNice(levels: number): void;
  /** Frees the buffers and contexts that no running task holds. */
  releaseIdle(): void;
}

/** FERRY_CONTENT_ADDON loads another build of the addon (deploy/sanitize-native.sh's, with sanitizers). */
const ADDON_PATH = process.env.FERRY_CONTENT_ADDON || fileURLToPath(new URL('../../native/content/build/Release/ferry_content.node', import.meta.url));

let loaded: { addon?: ContentAddon; error?: unknown } | undefined;

/** The addon, or why it could not be loaded (not built, or built for another Node). Loaded once. */
export function loadContentAddon(): { addon?: ContentAddon; error?: unknown } {
  if (loaded === undefined) {
    try {
      loaded = { addon: createRequire(import.meta.url)(ADDON_PATH) as ContentAddon };
    } catch (error) {
      loaded = { error };
    }
  }
  return loaded;
}
