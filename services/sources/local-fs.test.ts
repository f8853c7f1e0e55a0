/** Directory listings come back in UTF-8 byte order, with undecodable names set apart. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listDir } from './local-fs.ts';

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
