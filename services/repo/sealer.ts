/**
 * Sealer: compresses and encrypts batches of blobs for a pack. The writer
 * hands it plaintext and a pack key and gets sealed bytes back, in order.
 * InlineSealer runs on the calling thread; the worker-pool sealer
 * (blob-workers.ts) spreads batches across cores.
 */
import { sealBlob, type BlobType } from './blob.ts';

export interface SealItem {
  readonly id: Uint8Array;
  readonly type: BlobType;
  readonly data: Uint8Array;
}

export interface Sealer {
  /** Returns one sealed blob per item, same order. May take ownership of item.data buffers. */
  seal(key: Uint8Array, level: number, items: readonly SealItem[]): Promise<Uint8Array[]>;
  close(): Promise<void>;
}

export class InlineSealer implements Sealer {
  async seal(key: Uint8Array, level: number, items: readonly SealItem[]): Promise<Uint8Array[]> {
    return items.map((i) => sealBlob(key, i.id, i.type, i.data, level));
  }
  async close(): Promise<void> {}
}
