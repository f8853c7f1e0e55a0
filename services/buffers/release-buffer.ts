/**
 * Frees the memory behind a buffer now instead of at its isolate's next
 * full garbage collection. Backups and restores pass hundreds of MiB
 * through short-lived buffers (sealed blobs waiting to be written, the
 * compressed and encrypted forms a blob goes through on its way to being
 * sealed, pack ranges being opened). Their backing stores outlive the young
 * generation, so without this they pile up (tens of MiB per isolate at a
 * first backup's peak) until a major GC, which their external memory also
 * makes more frequent.
 *
 * Only for a view that spans its whole ArrayBuffer, which the caller owns
 * and nothing else reads: the buffer is detached, and every view of it
 * becomes empty. Anything else (a slice of Node's Buffer pool, a
 * SharedArrayBuffer) is left to the collector.
 */
type Transferable = ArrayBuffer & { transfer(length?: number): ArrayBuffer; readonly detached: boolean };

/**
 * The ArrayBuffer behind `view` if the view spans all of it (and it is not
 * shared): a buffer that can be handed to another thread, or freed, without
 * touching bytes that belong to something else.
 */
export function wholeArrayBuffer(view: Uint8Array): ArrayBuffer | undefined {
  const buf = view.buffer;
  return buf instanceof ArrayBuffer && view.byteOffset === 0 && view.byteLength === buf.byteLength ? buf : undefined;
}

/** Frees `view`'s buffer if it may (see above); says whether it did, so a caller can count what is left to the collector. */
export function releaseBuffer(view: Uint8Array): boolean {
  const t = wholeArrayBuffer(view) as Transferable | undefined;
  if (t === undefined || t.byteLength === 0 || typeof t.transfer !== 'function' || t.detached) return false;
  t.transfer(0);
  return true;
}
