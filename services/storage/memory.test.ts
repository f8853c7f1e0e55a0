import { describe, expect, it } from 'vitest';
import { describeStorageConformance } from './conformance.ts';
import { MemoryStorage } from './memory.ts';

describeStorageConformance('MemoryStorage', async () => {
  const storage = new MemoryStorage();
  return { storage, cleanup: () => storage.close() };
});

describe('MemoryStorage', () => {
  it('has location memory:', () => {
    expect(new MemoryStorage().location).toBe('memory:');
  });

  it('returns plain Uint8Arrays even when given a Buffer', async () => {
    const s = new MemoryStorage();
    await s.save('b', Buffer.from('abc'));
    const got = await s.load('b');
    expect(Buffer.isBuffer(got)).toBe(false);
    expect([...got]).toEqual([97, 98, 99]);
  });
});
