import { statSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { rejection } from './conformance.ts';
import { FsStorage } from './fs.ts';
import { useTempDir } from './fs-fixture.ts';
import { MemoryStorage } from './memory.ts';
import { openStorage, UNSUPPORTED_URL } from './open.ts';

describe('openStorage', () => {
  const scratch = useTempDir('ferry-open-');

  it('opens a plain path as FsStorage', async () => {
    const s = await openStorage(scratch.parent);
    expect(s).toBeInstanceOf(FsStorage);
    expect(s.location).toBe(`file://${scratch.parent}`);
    expect((await openStorage('relative/repo')).location).toBe(`file://${path.resolve('relative/repo')}`);
  });

  it('opens a file:// URL, decoding escapes', async () => {
    const dir = path.join(scratch.parent, 'with space');
    const s = await openStorage(pathToFileURL(dir).href, { create: true });
    expect(s.location).toBe(`file://${dir}`);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    await s.save('x', new Uint8Array(1));
  });

  it('creates the directory only when asked', async () => {
    const dir = path.join(scratch.parent, 'new');
    await openStorage(dir);
    expect(() => statSync(dir)).toThrow();
    await openStorage(dir, { create: true });
    expect(statSync(dir).isDirectory()).toBe(true);
  });

  it('opens memory: as a fresh MemoryStorage each time', async () => {
    const a = await openStorage('memory:');
    const b = await openStorage('memory:');
    expect(a).toBeInstanceOf(MemoryStorage);
    await a.save('x', new Uint8Array(1));
    await expect(b.stat('x')).rejects.toMatchObject({ code: 'storage.not-found' });
  });

  it('refuses an s3:// URL carrying credentials or a bad bucket name, echoing no credential', async () => {
    const err = (await rejection(openStorage('s3://AKIAKEY:sup3rsecret@bucket/repo'))) as { code?: unknown; message?: string };
    expect(err.code).toBe(UNSUPPORTED_URL);
    expect(err.message).toMatch(/AWS environment/);
    expect(err.message).not.toMatch(/sup3rsecret|AKIAKEY/);
    const bucket = (await rejection(openStorage('s3://No_Such/repo'))) as { code?: unknown; message?: string };
    expect(bucket.code).toBe(UNSUPPORTED_URL);
    expect(bucket.message).toMatch(/not a valid S3 bucket name/);
  });

  it.each(['sftp://host/repo', 'memory:named', '', 'file://remote-host/repo'])(
    'rejects %j with storage.unsupported-url, without echoing credentials',
    async (url) => {
      const err = (await rejection(openStorage(url))) as { code?: unknown; message?: string };
      expect(err.code).toBe(UNSUPPORTED_URL);
      expect(err.message).toMatch(/file:\/\//);
      expect(err.message).not.toContain('sup3rsecret');
    },
  );
});
