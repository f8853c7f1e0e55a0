import { closedError } from './closed.ts';
import { checkPrefix } from './prefix.ts';
import { checkRange } from './range.ts';
import { checkName, finishedWriter, notFound, type ByteRange, type ObjectInfo, type ObjectWriter, type Storage } from './storage.ts';

/**
 * In-process Storage backed by a Map, for tests and `memory:` repositories.
 *
 * Bytes are copied on the way in and out so neither the caller's buffer nor
 * a returned buffer aliases stored data: a caller reusing its write buffer
 * or scribbling on a loaded chunk must not change what is stored, exactly as
 * with a real backend. Everything is lost on close().
 */
export class MemoryStorage implements Storage {
  readonly location = 'memory:';
  readonly #objects = new Map<string, Uint8Array>();
  #closed = false;

  async save(name: string, data: Uint8Array): Promise<void> {
    this.#check('save');
    checkName(name);
    // new Uint8Array(typedArray) always copies; data.slice() would not when
    // data is a Buffer (Buffer#slice returns a view).
    this.#objects.set(name, new Uint8Array(data));
  }

  async load(name: string, range?: ByteRange): Promise<Uint8Array> {
    this.#check('load');
    checkName(name);
    const data = this.#objects.get(name);
    if (data === undefined) throw notFound(name, this.location);
    if (range === undefined) return data.slice();
    checkRange(name, range, data.length);
    return data.slice(range.offset, range.offset + range.length);
  }

  async stat(name: string): Promise<ObjectInfo> {
    this.#check('stat');
    checkName(name);
    const data = this.#objects.get(name);
    if (data === undefined) throw notFound(name, this.location);
    return { name, size: data.length };
  }

  async *list(prefix: string): AsyncGenerator<ObjectInfo> {
    this.#check('list');
    checkPrefix(prefix);
    // Snapshot the matching names first: live Map iteration would yield a
    // name twice if it is removed and re-saved while the caller is still
    // listing. The data is in memory already, so the name list costs little.
    const names = [...this.#objects.keys()].filter((n) => n.startsWith(prefix));
    for (const name of names) {
      const data = this.#objects.get(name);
      if (data !== undefined) yield { name, size: data.length };
    }
  }

  async remove(name: string): Promise<void> {
    this.#check('remove');
    checkName(name);
    if (!this.#objects.delete(name)) throw notFound(name, this.location);
  }

  async writer(): Promise<ObjectWriter> {
    this.#check('write');
    let pieces: Uint8Array[] | undefined = [];
    let committed: string | undefined;
    return {
      write: async (data) => {
        this.#check('write');
        if (pieces === undefined) throw finishedWriter(this.location, 'write');
        pieces.push(new Uint8Array(data)); // a copy, as save() makes
      },
      commit: async (name) => {
        this.#check('save');
        checkName(name);
        if (committed === name) return;
        if (pieces === undefined) throw finishedWriter(this.location, 'commit');
        const whole = new Uint8Array(pieces.reduce((n, p) => n + p.length, 0));
        let at = 0;
        for (const p of pieces) {
          whole.set(p, at);
          at += p.length;
        }
        this.#objects.set(name, whole);
        pieces = undefined;
        committed = name;
      },
      abort: async () => {
        pieces = undefined;
      },
    };
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#objects.clear();
  }

  #check(op: string): void {
    if (this.#closed) throw closedError(this.location, op);
  }
}
