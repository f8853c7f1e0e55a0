/**
 * pullFtp's other sources of times, against ftp-srv taught MLSD and then
 * stripped of MDTM (ftp-fixture.ts ftpServerFeatures; process-wide, hence
 * a file of its own): with MLSD the listing's exact times are used and no
 * MDTM is sent; with neither, every file is fetched on every pull.
 */
import { mkdir, mkdtemp, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ftpServerFeatures, startFtpServer, type FtpServer } from '../../test/ftp-fixture.ts';
import { pullFtp } from './ftp-pull.ts';

describe('pullFtp times without MDTM', () => {
  let ftp: FtpServer;
  let dir: string;
  const when = new Date('2022-06-01T10:20:30.456Z');

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ferry-ftp-times-'));
    await mkdir(join(dir, 'remote', 'sub'), { recursive: true });
    await writeFile(join(dir, 'remote', 'a.txt'), 'alpha\n');
    await writeFile(join(dir, 'remote', 'sub', 'b.txt'), 'beta\n');
    await utimes(join(dir, 'remote', 'a.txt'), when, when);
    ftp = await startFtpServer({ root: join(dir, 'remote') });
  });
  afterAll(async () => {
    await ftp?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('takes exact times from an MLSD listing, and keeps a mirror in step by them', async () => {
    ftpServerFeatures({ mlsd: true, mdtm: false });
    const into = join(dir, 'm');
    expect(await pullFtp({ url: ftp.url, into })).toMatchObject({ filesTransferred: 2, partial: false });
    expect((await stat(join(into, 'a.txt'))).mtime).toEqual(when);
    expect((await pullFtp({ url: ftp.url, into })).filesTransferred).toBe(0);
  });

  it('fetches every file on every pull from a server that gives no exact times', async () => {
    ftpServerFeatures({ mlsd: false, mdtm: false });
    const into = join(dir, 'n');
    const before = Date.now();
    expect((await pullFtp({ url: ftp.url, into })).filesTransferred).toBe(2);
    expect((await stat(join(into, 'a.txt'))).mtimeMs).toBeGreaterThanOrEqual(before - 1000);
    expect((await pullFtp({ url: ftp.url, into })).filesTransferred).toBe(2);
  });
});
