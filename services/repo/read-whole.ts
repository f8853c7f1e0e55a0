/**
 * Reads a whole file into a buffer that owns its ArrayBuffer, so the bytes
 * can be transferred between threads without a copy (readFileSync may hand
 * back a slice of Node's shared pool for small files), or into the front of
 * a reused `scratch` buffer when the file fits, which spares the fresh
 * memory a caller that keeps few of the files would only throw away. Reads
 * the size fstat reports, or less if the file shrinks meanwhile, like
 * readFileSync.
 */
import { closeSync, fstatSync, readSync } from 'node:fs';
import { openSourceFile } from './open-source-file.ts';

export function readWholeSync(path: string, scratch?: Uint8Array): Uint8Array {
  const fd = openSourceFile(path);
  try {
    const size = fstatSync(fd).size;
    if (scratch !== undefined && size <= scratch.length) return scratch.subarray(0, readFully(fd, scratch.subarray(0, size), 0));
    return readOwned(fd, size, 0);
  } finally {
    closeSync(fd);
  }
}

/** Reads `length` bytes of a file from `offset` into a fresh buffer, or fewer if the file ends first. */
export function readRangeSync(path: string, offset: number, length: number): Uint8Array {
  const fd = openSourceFile(path);
  try {
    return readOwned(fd, length, offset);
  } finally {
    closeSync(fd);
  }
}

/** Reads into all of `buf` from file position `position`; returns the bytes read, fewer at the end of the file. */
function readFully(fd: number, buf: Uint8Array, position: number): number {
  let n = 0;
  while (n < buf.length) {
    const got = readSync(fd, buf, n, buf.length - n, position + n);
    if (got === 0) break;
    n += got;
  }
  return n;
}

/** `length` bytes from `position` in a buffer that owns its ArrayBuffer, shorter if the file ends first. */
function readOwned(fd: number, length: number, position: number): Uint8Array {
  const buf = new Uint8Array(length);
  const n = readFully(fd, buf, position);
  return n === length ? buf : buf.slice(0, n);
}
