/** Messages between the main thread and blob workers. */
import type { BlobType } from './blob.ts';
import type { PlaceTask } from './place-blobs.ts';
import type { KnownBlobsHandle } from './known-blobs.ts';
import type { SealSpec } from './content.ts';

export type BlobTask =
  | { readonly op: 'seal'; readonly key: Uint8Array; readonly level: number; readonly items: readonly { id: Uint8Array; type: BlobType; data: Uint8Array }[] }
  | { readonly op: 'scan'; readonly path: string; readonly start: number; readonly budget: number; readonly seal: SealSpec; readonly known?: KnownBlobsHandle; readonly sealBudget?: number }
  | { readonly op: 'read'; readonly paths: readonly string[]; readonly seal: SealSpec; readonly known?: KnownBlobsHandle }
  | { readonly op: 'range'; readonly path: string; readonly offset: number; readonly length: number; readonly seal: SealSpec }
  | PlaceTask;

