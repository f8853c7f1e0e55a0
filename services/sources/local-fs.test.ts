/** Directory listings come back in UTF-8 byte order, with undecodable names set apart; batched lstat equals Node's. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linkSync, mkdirSync, mkdtempSync, readlinkSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listDir, statEntries, statEntry } from './local-fs.ts';
import { loadContentAddon } from '../repo/content-addon.ts';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ferry-listdir-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const byBytes = (names: string[]) => [...names].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));

describe('listDir', () => {
  it('sorts plain names by their bytes', () => {
    const sub = mkdtempSync(join(dir, 'plain-'));
    const names = ['b', 'B', 'a.txt', 'a', '_', 'é', 'z10', 'z9'];
    for (const n of names) writeFileSync(join(sub, n), '');
    expect(listDir(sub)).toEqual({ names: byBytes(names), undecodable: [] });
  });

  it('sorts names beyond U+D7FF by UTF-8 bytes, not UTF-16 units', () => {
    const sub = mkdtempSync(join(dir, 'astral-'));
    const names = ['\u{1F600}', '\uFF21', '\uE000', 'a', '\u{10000}'];
    for (const n of names) writeFileSync(join(sub, n), '');
    const got = listDir(sub);
    expect(got.names).toEqual(byBytes(names));
    expect(got.names.indexOf('\uFF21')).toBeLessThan(got.names.indexOf('\u{1F600}')); // UTF-16 order would put the emoji first
  });

  it('sets apart a name that is not UTF-8, and keeps a real U+FFFD', () => {
    const sub = mkdtempSync(join(dir, 'bad-'));
    writeFileSync(Buffer.concat([Buffer.from(sub + '/'), Buffer.from([0x66, 0xff, 0x66])]), '');
    writeFileSync(join(sub, 'ok\uFFFD'), '');
    writeFileSync(join(sub, 'plain'), '');
    expect(listDir(sub)).toEqual({ names: ['ok\uFFFD', 'plain'], undecodable: ['f\uFFFDf'] });
  });
});

describe('statEntries', () => {
  it('gives the nodes statEntry gives, through the native addon, for every kind of entry', () => {
    expect(loadContentAddon().addon).toBeDefined(); // else this would only compare statEntry with itself
    const sub = mkdtempSync(join(dir, 'stat-'));
    writeFileSync(join(sub, 'file'), 'twelve bytes');
    linkSync(join(sub, 'file'), join(sub, 'hard link'));
    mkdirSync(join(sub, 'dir'), 0o750);
    symlinkSync('file', join(sub, 'symlink'));
    execFileSync('mkfifo', [join(sub, 'fifo')]);
    writeFileSync(join(sub, 'é old'), '');
    utimesSync(join(sub, 'é old'), new Date('1960-02-03T04:05:06.789Z'), new Date('1969-12-31T23:59:59.5Z')); // before 1970: negative seconds
    const names = ['dir', 'fifo', 'file', 'hard link', 'symlink', 'é old'];
    // The first readlink of a new symlink sets its atime (relatime), and both functions read it after lstat.
    readlinkSync(join(sub, 'symlink'));
    expect(statEntries(sub, names)).toEqual(names.map((n) => statEntry(join(sub, n), n)));
    // Device nodes (and their rdev), from /dev.
    expect(statEntries('/dev', ['null', 'zero'])).toEqual(['null', 'zero'].map((n) => statEntry(`/dev/${n}`, n)));
  });

  it('returns the error statEntry throws for an entry it cannot read, and the others', () => {
    const sub = mkdtempSync(join(dir, 'stat-missing-'));
    writeFileSync(join(sub, 'there'), 'x');
    const [missing, there] = statEntries(sub, ['gone', 'there']);
    expect(missing).toEqual({ error: expect.objectContaining({ code: 'ENOENT', message: `ENOENT: no such file or directory, lstat '${join(sub, 'gone')}'` }) });
    expect(there).toEqual(statEntry(join(sub, 'there'), 'there'));
    expect(statEntries(join(sub, 'no such dir'), ['a'])).toEqual([{ error: expect.objectContaining({ code: 'ENOENT' }) }]);
  });

  it('handles more names than one batch', () => {
    const sub = mkdtempSync(join(dir, 'stat-many-'));
    const names = Array.from({ length: 600 }, (_, i) => `f${String(i).padStart(4, '0')}`);
    for (const n of names) writeFileSync(join(sub, n), n);
    expect(statEntries(sub, names)).toEqual(names.map((n) => statEntry(join(sub, n), n)));
  });
});
