/**
 * A fragment: one upload batch after the uploader filled in content, kept in
 * the `ferry-fragments` KV bucket until the finalizer assembles the
 * snapshot. Written only after the batch's blobs are stored and indexed.
 */
import { encodeCanonical, decodeMsgpack } from '../services/codec/canonical-msgpack.ts';
import { FerryError } from '../protocol/errors.ts';

export interface Fragment {
  readonly startPos: string[];
  readonly endPos: string[];
  readonly events: Uint8Array;
  readonly filesRead: number;
  readonly newBytes: number;
  readonly newBlobs: number;
  /** Bytes this uploader process stored (packs) since its previous fragment. */
  readonly storedBytes: number;
  readonly errors: number;
}

export function encodeFragment(f: Fragment): Uint8Array {
  return encodeCanonical({ v: 1, start: f.startPos, end: f.endPos, events: f.events, read: f.filesRead, newBytes: f.newBytes, newBlobs: f.newBlobs, stored: f.storedBytes, errors: f.errors });
}

export function decodeFragment(bytes: Uint8Array, what: string): Fragment {
  const o = decodeMsgpack(bytes, what) as Record<string, unknown>;
  if (o.v !== 1 || !(o.events instanceof Uint8Array) || !Array.isArray(o.start) || !Array.isArray(o.end)) {
    throw new FerryError('jobs.bad-fragment', `${what} is not a version 1 fragment`);
  }
  const n = (x: unknown) => Number(x ?? 0);
  return { startPos: o.start.map(String), endPos: o.end.map(String), events: o.events, filesRead: n(o.read), newBytes: n(o.newBytes), newBlobs: n(o.newBlobs), storedBytes: n(o.stored), errors: n(o.errors) };
}
