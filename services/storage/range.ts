import { StorageError, StorageErrorCode, type ByteRange } from './storage.ts';

/**
 * Throws storage.range unless `range` lies wholly inside an object of `size`
 * bytes. Callers always know the exact length they stored, so a range that
 * runs past the end means a corrupt index or a truncated object, and
 * silently returning fewer bytes would hide that.
 */
export function checkRange(name: string, range: ByteRange, size: number): void {
  const { offset, length } = range;
  const valid = Number.isSafeInteger(offset) && Number.isSafeInteger(length) && offset >= 0 && length >= 0;
  if (!valid || offset + length > size) {
    throw new StorageError(
      StorageErrorCode.Range,
      `range ${offset}+${length} is outside object ${name} (${size} bytes)`,
      { details: { name, offset, length, size } },
    );
  }
}
