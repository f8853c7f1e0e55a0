/**
 * The ObjectWriter part of the storage conformance suite (conformance.ts
 * runs it for every driver): what storage.ts promises about writer().
 */
import { describe, expect, it } from 'vitest';
import { StorageErrorCode, type Storage } from './storage.ts';
import { collect, patternBytes, rejection, sameBytes } from './conformance-helpers.ts';

const MiB = 1024 * 1024;

export function describeWriterConformance(storage: () => Storage): void {
  describe('writer', () => {
    it('publishes the pieces in write order, unawaited, under the name given at commit', async () => {
      const s = storage();
      const pieces = [patternBytes(3 * MiB, 1), patternBytes(1, 2), patternBytes(0, 3), patternBytes(70_000, 4)];
      const w = await s.writer();
      const writes = pieces.map((p) => w.write(p));
      expect(await collect(s.list(''))).toEqual([]);
      await Promise.all(writes);
      await w.commit('data/cd/written');
      expect(sameBytes(await s.load('data/cd/written'), Buffer.concat(pieces))).toBe(true);
      expect(await collect(s.list(''))).toEqual([{ name: 'data/cd/written', size: 3 * MiB + 70_001 }]);
    });

    it('publishes an empty object, and replaces an existing one whole', async () => {
      const s = storage();
      await s.save('o', patternBytes(5000, 1));
      const w = await s.writer();
      await w.commit('o');
      expect((await s.stat('o')).size).toBe(0);
    });

    it('keeps no reference to a piece once its write settled', async () => {
      const s = storage();
      const piece = Buffer.from('original');
      const w = await s.writer();
      await w.write(piece);
      piece.fill(0);
      await w.commit('k');
      expect(Buffer.from(await s.load('k')).toString()).toBe('original');
    });

    it('leaves nothing behind when aborted, and then refuses writes and commits', async () => {
      const s = storage();
      const w = await s.writer();
      await w.write(patternBytes(1000, 1));
      await w.abort();
      await w.abort();
      expect(await collect(s.list(''))).toEqual([]);
      expect((await rejection(w.write(new Uint8Array(1)))).code).toBe(StorageErrorCode.Closed);
      expect((await rejection(w.commit('x'))).code).toBe(StorageErrorCode.Closed);
      expect(await collect(s.list(''))).toEqual([]);
    });

    it('answers a repeated commit of the same name, and abort after it changes nothing', async () => {
      const s = storage();
      const w = await s.writer();
      await w.write(patternBytes(10, 1));
      await w.commit('twice');
      await w.commit('twice');
      await w.abort();
      expect(sameBytes(await s.load('twice'), patternBytes(10, 1))).toBe(true);
      expect((await rejection(w.commit('other'))).code).toBe(StorageErrorCode.Closed);
    });

    it('rejects a bad name at commit', async () => {
      const s = storage();
      const w = await s.writer();
      expect((await rejection(w.commit('../escape'))).code).toBe(StorageErrorCode.BadName);
      await w.abort();
      expect(await collect(s.list(''))).toEqual([]);
    });
  });
}
