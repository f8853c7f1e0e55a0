/**
 * The packs a RepoWriter has open and the leases it lends on them
 * (repo-writer.ts): the records it keeps per pack and per lease.
 */
import type { SealSpec } from './content.ts';
import type { PackBuilder } from './pack.ts';
import type { ObjectWriter } from '../storage/storage.ts';

/**
 * A share of the current data pack, lent to one scan that seals file content
 * on another thread with `seal`. The holder adds what the scan sealed with
 * addSealed() and then calls release() exactly once, whatever happened:
 * the pack is not saved while a lease on it is out.
 */
export interface PackLease {
  readonly seal: SealSpec;
}

export class Lease implements PackLease {
  /** The writer that lent it: a lease works with that writer only. */
  readonly writer: object;
  readonly seal: SealSpec;
  readonly pack: OpenPack;
  /** Plaintext bytes the scan may read. */
  readonly reserved: number;
  /** What those bytes are expected to add to the pack: counted towards its size, and as pending, until release. */
  readonly expected: number;
  /** Sealed bytes added under this lease. */
  appended = 0;
  released = false;

  constructor(writer: object, seal: SealSpec, pack: OpenPack, reserved: number, expected: number) {
    this.writer = writer;
    this.seal = seal;
    this.pack = pack;
    this.reserved = reserved;
    this.expected = expected;
  }
}

export interface OpenPack {
  readonly builder: PackBuilder;
  /** Where the builder writes; committed or aborted when the pack is done. */
  readonly out: Promise<ObjectWriter>;
  /** Batches sealing and leases out for this pack. */
  inFlight: number;
  /** Bytes assigned (queued, sealed or expected from leases) to this pack, to decide rotation early. */
  assigned: number;
  /** Bytes sealed into this pack and not yet saved (released from back-pressure on save). */
  held: number;
  closed: boolean;
  /** Saved (committed and listed for the next index file), or given up. */
  done: boolean;
}

/** Drops a pack's partial object; a failure to do so leaves a hidden temp object, nothing more. */
export function discard(p: OpenPack): void {
  p.out.then((w) => w.abort()).catch(() => {});
}
