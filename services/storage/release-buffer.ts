/**
 * Frees the memory behind a buffer now instead of at its isolate's next
 * full garbage collection. Packs pass through the main thread as hundreds
 * of MiB of short-lived sealed blobs; their backing stores outlive the
 * young generation while they wait to be written, so without this they
 * pile up (tens of MiB at a first backup's peak) until a major GC, which
 * their external memory also makes more frequent.
 *
 * Only for a view that spans its whole ArrayBuffer, which the caller owns
 * and nothing else reads: the buffer is detached, and every view of it
 * becomes empty. Anything else (a slice of Node's Buffer pool, a
 * SharedArrayBuffer) is left to the collector.
 */
type Transferable = ArrayBuffer & { transfer(length?: number): ArrayBuffer; readonly detached: boolean };

export function releaseBuffer(view: Uint8Array): void {
  const buf = view.buffer;
  if (!(buf instanceof ArrayBuffer) || view.byteOffset !== 0 || view.byteLength !== buf.byteLength || buf.byteLength === 0) return;
  const t = buf as Transferable;
  if (typeof t.transfer !== 'function' || t.detached) return;
  t.transfer(0);
}
