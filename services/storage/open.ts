import { fileURLToPath } from 'node:url';
import { FerryError } from '../../protocol/errors.ts';
import { FsStorage } from './fs.ts';
import { MemoryStorage } from './memory.ts';
import type { S3Settings } from './s3-options.ts';
import { loadContentAddon } from '../repo/content-addon.ts';
import type { AlignedAlloc } from './fs-direct.ts';
import type { Storage } from './storage.ts';

export const UNSUPPORTED_URL = 'storage.unsupported-url';

export interface OpenStorageOptions {
  /** Create a missing local repository directory (mode 0700), as `init` wants. Default false. */
  readonly create?: boolean;
  /** Endpoint, storage classes and encryption of `s3://` repositories. */
  readonly s3?: S3Settings;
}

const SUPPORTED = 'Use a local path (/srv/backups), a file:// URL (file:///srv/backups), s3://bucket/prefix or memory:.';

/**
 * Opens the storage a repository URL names:
 * - a plain path (absolute, or relative to the working directory) or a
 *   `file://` URL → FsStorage;
 * - `s3://bucket/prefix` → S3Storage (the bucket must exist; `create`
 *   makes nothing there, since an empty prefix needs no creating);
 * - `memory:` → a fresh, empty MemoryStorage (each call gets its own);
 * - anything else → FerryError `storage.unsupported-url`.
 *
 * A relative path whose first segment contains a colon reads as a URL
 * scheme; write it as `./name:…`.
 *
 * Error messages name only the URL scheme: URLs of remote backends may
 * carry credentials, which must not reach logs.
 */
export async function openStorage(url: string, opts: OpenStorageOptions = {}): Promise<Storage> {
  if (url === 'memory:') return new MemoryStorage();
  const scheme = schemeOf(url);
  if (scheme === undefined) {
    if (url.trim() === '') throw unsupported('the repository location is empty.');
    return openDirectory(url, opts);
  }
  if (scheme === 'file') {
    let root: string;
    try {
      root = fileURLToPath(url);
    } catch (err) {
      throw unsupported('this file:// URL is not a valid local path (it must be file:///absolute/path).', err);
    }
    return openDirectory(root, opts);
  }
  if (scheme === 's3') {
    // Loaded only for S3 repositories: the SDK is large, and local ones never need it.
    const { S3Storage } = await import('./s3.ts');
    return new S3Storage(url, opts.s3);
  }
  if (scheme === 'memory') throw unsupported('memory: takes nothing after the colon.');
  throw unsupported(`storage scheme "${scheme}:" is not supported.`);
}

function openDirectory(root: string, opts: OpenStorageOptions): Promise<Storage> | Storage {
  const fsOpts = { alignedAlloc: directWriteMemory() };
  return opts.create === true ? FsStorage.create(root, fsOpts) : new FsStorage(root, fsOpts);
}

/**
 * Aligned memory from the native addon, so that packs are written past the
 * page cache (fs-direct.ts); none without the addon, or with
 * FERRY_DIRECT_WRITES=0, and then they go through the cache.
 */
function directWriteMemory(): AlignedAlloc | undefined {
  if (process.env.FERRY_DIRECT_WRITES === '0') return undefined;
  const { addon } = loadContentAddon();
  return typeof addon?.alignedBuffer === 'function' ? (size) => addon.alignedBuffer(size) : undefined;
}

/**
 * The lower-cased URL scheme, or undefined for a plain path. A single
 * letter is a Windows drive (`C:\…`), not a scheme.
 */
function schemeOf(url: string): string | undefined {
  const match = /^([a-z][a-z0-9+.-]+):/i.exec(url);
  return match?.[1]?.toLowerCase();
}

function unsupported(problem: string, cause?: unknown): FerryError {
  return new FerryError(UNSUPPORTED_URL, `Cannot open the repository: ${problem} ${SUPPORTED}`, { cause });
}
