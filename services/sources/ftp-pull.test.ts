/** pullFtp against a real ftp-srv: a mirror with MDTM times, kept in step, and failures named. */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasCode } from '../../protocol/errors.ts';
import { startFtpServer, type FtpServer } from '../../test/ftp-fixture.ts';
import { ftpLocation, probeFtp, pullFtp } from './ftp-pull.ts';
import { SourceErrorCode } from './source-errors.ts';

const exec = promisify(execFile);

describe('ftpLocation', () => {
  it('reads the path as RFC 1738 does: relative to the login directory unless it starts with a slash', () => {
    expect(ftpLocation('ftp://h/www').path).toBe('www');
    expect(ftpLocation('ftp://h/www/').path).toBe('www');
    expect(ftpLocation('ftp://h//var/www').path).toBe('/var/www');
    expect(ftpLocation('ftp://h/%2Fvar/www').path).toBe('/var/www');
    expect(ftpLocation('ftp://h').path).toBe('');
    expect(ftpLocation('ftp://h/a%20b').path).toBe('a b');
  });

  it('decodes the credentials, defaults to anonymous on port 21, and names the server without the password', () => {
    expect(ftpLocation('ftps://u%40x:p%3Aw@h:2121/d')).toMatchObject({ user: 'u@x', password: 'p:w', port: 2121, secure: true, where: 'ftps://u%40x@h:2121' });
    expect(ftpLocation('ftp://h')).toMatchObject({ user: 'anonymous', password: '', port: 21, secure: false, where: 'ftp://h' });
  });
});

describe('pullFtp', () => {
  let ftp: FtpServer;
  let remote: string;
  let local: string;
  // Whole milliseconds: what MDTM can carry, so the staged copy's time must equal them exactly.
  const t1 = new Date('2021-03-04T05:06:07.891Z');
  const t2 = new Date('2019-12-31T23:59:59.001Z');

  beforeAll(async () => {
    local = await mkdtemp(join(tmpdir(), 'ferry-ftp-'));
    remote = join(local, 'remote');
    await mkdir(join(remote, 'site', 'img', 'deep'), { recursive: true });
    await writeFile(join(remote, 'site', 'index.html'), '<h1>hello</h1>\n');
    await writeFile(join(remote, 'site', 'with space & ünïcode.txt'), 'named oddly\n');
    await writeFile(join(remote, 'site', 'empty'), '');
    await writeFile(join(remote, 'site', 'img', 'big.bin'), Buffer.alloc(3_000_000, 9));
    await writeFile(join(remote, 'site', 'img', 'deep', 'x.css'), 'body{}\n');
    await utimes(join(remote, 'site', 'index.html'), t1, t1);
    await utimes(join(remote, 'site', 'img', 'deep', 'x.css'), t2, t2);
    ftp = await startFtpServer({ root: remote });
  });
  afterAll(async () => {
    await ftp?.stop();
    await rm(local, { recursive: true, force: true });
  });

  it('mirrors the tree with the server\'s exact times, files 0600 and directories 0700', async () => {
    const into = join(local, 'm');
    const first = await pullFtp({ url: `${ftp.url}/site`, into });
    expect(first).toMatchObject({ filesTransferred: 5, totalBytes: 3_000_000 + 15 + 12 + 7, partial: false, warnings: [] });
    await exec('diff', ['-r', join(remote, 'site'), into]);
    expect((await stat(join(into, 'index.html'))).mtime).toEqual(t1);
    expect((await stat(join(into, 'img', 'deep', 'x.css'))).mtime).toEqual(t2);
    // A time the test did not set: the server's own, to the millisecond its MDTM gives (ftp-srv rounds, as Node's Stats do).
    const bigThere = await stat(join(remote, 'site', 'img', 'big.bin'));
    expect(Math.round((await stat(join(into, 'img', 'big.bin'))).mtimeMs)).toBe(bigThere.mtime.getTime());
    expect((await stat(join(into, 'index.html'))).mode & 0o777).toBe(0o600);
    expect((await stat(join(into, 'img'))).mode & 0o777).toBe(0o700);
  });

  it('fetches again only what changed, even at the same size, and drops what the server no longer has', async () => {
    const into = join(local, 'm');
    await writeFile(join(remote, 'site', 'index.html'), '<h1>HELLO</h1>\n'); // same size, new time
    await rm(join(remote, 'site', 'img', 'deep'), { recursive: true });
    await writeFile(join(remote, 'site', 'new.txt'), 'new\n');
    const second = await pullFtp({ url: `${ftp.url}/site`, into });
    expect(second).toMatchObject({ filesTransferred: 2, partial: false });
    await exec('diff', ['-r', join(remote, 'site'), into]);
    expect(await readdir(join(into, 'img'))).toEqual(['big.bin']);
    expect((await pullFtp({ url: `${ftp.url}/site`, into })).filesTransferred).toBe(0);
  });

  it('names a missing directory, a refused login and a server that does not answer, never the password', async () => {
    const missing = await pullFtp({ url: `${ftp.url}/nowhere`, into: join(local, 'x') }).catch((e: Error) => e);
    expect(hasCode(missing, SourceErrorCode.MissingPath)).toBe(true);
    expect((missing as Error).message).toMatch(/nowhere does not exist on the server/);

    const wrong = `ftp://${ftp.user}:not-it@${ftp.host}:${ftp.port}/site`;
    const refused = await probeFtp(wrong).catch((e: Error) => e);
    expect(hasCode(refused, SourceErrorCode.AuthFailed)).toBe(true);
    expect((refused as Error).message).toMatch(new RegExp(`refused the login of ${ftp.user}`));
    expect((refused as Error).message).not.toContain('not-it');

    await expect(probeFtp(`${ftp.url}/site`)).resolves.toBeUndefined();
    const stopped = await startFtpServer({ root: remote });
    await stopped.stop();
    const silent = await probeFtp(stopped.url).catch((e: Error) => e);
    expect(hasCode(silent, SourceErrorCode.Unreachable)).toBe(true);
    expect((silent as Error).message).not.toContain(ftp.password);
    expect((silent as Error).message).not.toContain(encodeURIComponent(ftp.password));
  });

  it('refuses a TLS server whose certificate this worker does not trust', async () => {
    const secure = await startFtpServer({ root: remote, tls: true });
    try {
      const err = await probeFtp(secure.url).catch((e: Error) => e);
      expect(hasCode(err, SourceErrorCode.Untrusted)).toBe(true);
      expect((err as Error).message).toMatch(/NODE_EXTRA_CA_CERTS/);
    } finally {
      await secure.stop();
    }
  });

  it('stops when its signal is aborted', async () => {
    const stop = new AbortController();
    stop.abort(new Error('job stopped'));
    await expect(pullFtp({ url: `${ftp.url}/site`, into: join(local, 'aborted'), signal: stop.signal })).rejects.toThrow('job stopped');
  });
});
