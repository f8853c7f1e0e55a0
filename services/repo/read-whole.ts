/**
 * Reads a whole file into a buffer that owns its ArrayBuffer, so the bytes
 * can be transferred between threads without a copy (readFileSync may hand
 * back a slice of Node's shared pool for small files). Reads the size fstat
 * reports, or less if the file shrinks meanwhile, like readFileSync.
 */
import { closeSync, fstatSync, readSync } from 'node:fs';
import { openSourceFile } from './open-source-file.ts';

export function readWholeSync(path: string): Uint8Array {
  const fd = openSourceFile(path);
  try {
    const buf = new Uint8Array(fstatSync(fd).size);
    let n = 0;
    while (n < buf.length) {
      const got = readSync(fd, buf, n, buf.length - n, n);
      if (got === 0) break;
      n += got;
    }
    return n === buf.length ? buf : buf.slice(0, n);
  } finally {
    closeSync(fd);
  }
}
