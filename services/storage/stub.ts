/** Test helper: a MemoryStorage with chosen operations replaced. */
import { MemoryStorage } from './memory.ts';
import type { Storage } from './storage.ts';

export type StorageOverrides = Partial<Pick<Storage, 'save' | 'load' | 'stat' | 'list' | 'remove' | 'writer'>>;

export function stubStorage(overrides: StorageOverrides, inner: Storage = new MemoryStorage()): Storage {
  return {
    location: 'stub:',
    save: overrides.save ?? ((name, data) => inner.save(name, data)),
    load: overrides.load ?? ((name, range) => inner.load(name, range)),
    stat: overrides.stat ?? ((name) => inner.stat(name)),
    list: overrides.list ?? ((prefix) => inner.list(prefix)),
    remove: overrides.remove ?? ((name) => inner.remove(name)),
    writer: overrides.writer ?? (() => inner.writer()),
    close: () => inner.close(),
  };
}
