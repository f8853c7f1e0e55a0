/**
 * Follows a log file another process appends to, line by line: the
 * embedded nats-server logs to a file rather than to a pipe to Ferry,
 * because a server still shutting down after Ferry exits would die of
 * SIGPIPE at its next log line.
 *
 * Contract: `onLine` gets every complete line once, in order, starting
 * from the file's length when the tail was opened. drain() reads what has
 * been appended so far (call it after the writer exits, since a change
 * event may not have arrived yet). close() stops following; safe twice.
 */
import { closeSync, openSync, readSync, watch, type FSWatcher } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';

export class LogTail {
  readonly #fd: number;
  readonly #onLine: (line: string) => void;
  readonly #watcher: FSWatcher;
  readonly #buf = Buffer.allocUnsafe(64 * 1024);
  readonly #text = new StringDecoder('utf8');
  #partial = '';
  #offset = 0;
  #closed = false;

  /** The file must exist (create it before the writer starts, so no line comes before the tail). */
  constructor(path: string, onLine: (line: string) => void) {
    this.#fd = openSync(path, 'r');
    this.#onLine = onLine;
    this.#watcher = watch(path, { persistent: false }, () => this.drain());
    this.#watcher.on('error', () => this.close());
  }

  drain(): void {
    if (this.#closed) return;
    for (;;) {
      const n = readSync(this.#fd, this.#buf, 0, this.#buf.length, this.#offset);
      if (n === 0) return;
      this.#offset += n;
      const lines = (this.#partial + this.#text.write(this.#buf.subarray(0, n))).split('\n');
      this.#partial = lines.pop() ?? '';
      for (const line of lines) this.#onLine(line);
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#watcher.close();
    closeSync(this.#fd);
  }
}
