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
    const buf = scratch !== undefined && size <= scratch.length ? scratch.subarray(0, size) : new Uint8Array(size);
    let n = 0;
    while (n < buf.length) {
      const got = readSync(fd, buf, n, buf.length - n, n);
      if (got === 0) break;
      n += got;
    }
    if (buf.buffer === scratch?.buffer) return buf.subarray(0, n);
    return n === buf.length ? buf : buf.slice(0, n);
  } finally {
    closeSync(fd);
  }
}

/** Reads `length` bytes of a file from `offset` into a fresh buffer, or fewer if the file ends first. */
export function readRangeSync(path: string, offset: number, length: number): Uint8Array {
  const fd = openSourceFile(path);
  try {
    const buf = new Uint8Array(length);
    let n = 0;
    while (n < length) {
      const got = readSync(fd, buf, n, length - n, offset + n);
      if (got === 0) break;
      n += got;
    }
    return n === length ? buf : buf.slice(0, n);
  } finally {
    closeSync(fd);
  }
}
