/**
 * The content engine a process uses for chunking, sealing and placing:
 * the native addon on Node's thread pool (native-content.ts) when it is
 * built, else the worker-thread pool (blob-workers.ts). Both keep the same
 * contracts and write the same format; `FERRY_CONTENT_ENGINE` (`native`,
 * `workers`, or `auto`, the default) picks one, for comparisons and as a
 * way around a broken build. Asking for `native` when the addon cannot
 * load is an error rather than a silent fall-back.
 */
import type { Logger } from 'pino';
import { FerryError } from '../../protocol/errors.ts';
import type { RepoConfig } from './config.ts';
import type { ContentScanner } from './content.ts';
import type { BlobPlacer } from './place-blobs.ts';
import type { Sealer } from './sealer.ts';
import { loadContentAddon } from './content-addon.ts';

export type ContentEngine = Sealer & ContentScanner & BlobPlacer;

export const ContentEngineKind = { Auto: 'auto', Native: 'native', Workers: 'workers' } as const;
export type ContentEngineKind = (typeof ContentEngineKind)[keyof typeof ContentEngineKind];

export const ContentEngineErrorCode = {
  BadKind: 'content.bad-engine',
  NativeUnavailable: 'content.native-unavailable',
} as const;

/** Reads FERRY_CONTENT_ENGINE; throws FerryError `content.bad-engine` for anything but the three kinds. */
export function contentEngineKind(value: string | undefined): ContentEngineKind {
  if (value === undefined || value === '') return ContentEngineKind.Auto;
  if (value === 'auto' || value === 'native' || value === 'workers') return value;
  throw new FerryError(ContentEngineErrorCode.BadKind, `FERRY_CONTENT_ENGINE is "${value}"; use native, workers or auto`, { details: { value } });
}

export async function openContentEngine(
  config: RepoConfig,
  idKey: Uint8Array,
  opts: { kind?: ContentEngineKind; threads?: number; nice?: number; log?: Logger } = {},
): Promise<ContentEngine> {
  const kind = opts.kind ?? ContentEngineKind.Auto;
  if (kind !== ContentEngineKind.Workers) {
    const { addon, error } = loadContentAddon();
    if (addon !== undefined) {
      const { NativeContent } = await import('./native-content.ts');
      return new NativeContent(addon, config, idKey, opts);
    }
    if (kind === ContentEngineKind.Native) {
      throw new FerryError(ContentEngineErrorCode.NativeUnavailable, 'the native content addon is not built; run deploy/setup.sh (or npm ci), or set FERRY_CONTENT_ENGINE=workers', {
        cause: error,
      });
    }
    opts.log?.warn({ err: error }, 'native content addon not available; chunking and sealing on worker threads instead (slower); run deploy/setup.sh to build it');
  }
  const { BlobWorkers } = await import('./blob-workers.ts');
  return new BlobWorkers(config, idKey, opts);
}
