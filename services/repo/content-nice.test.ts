import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_CONTENT_NICE, contentNiceLevels } from './content-nice.ts';

describe('FERRY_CONTENT_NICE', () => {
  it('is a whole number from 0 to 19, 10 when unset', () => {
    expect(contentNiceLevels(undefined)).toBe(DEFAULT_CONTENT_NICE);
    expect(contentNiceLevels('')).toBe(10);
    expect(contentNiceLevels('0')).toBe(0);
    expect(contentNiceLevels('19')).toBe(19);
    for (const bad of ['20', '-1', '1.5', 'low', ' 5', '0x3']) {
      expect(() => contentNiceLevels(bad), bad).toThrow(expect.objectContaining({ code: 'content.bad-nice', message: expect.stringContaining(`"${bad}"`) }));
    }
  });
});

/*
 * The priority is a property of the process's threads, so each case runs in
 * a child of its own: it opens the native engine with the levels asked for,
 * runs enough tasks to reach every pool thread, and reports each thread's
 * nice value from /proc.
 */
describe('content tasks below the process', () => {
  let dir: string;
  const script = (levels: number | undefined): string => `
    import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
    import { randomBytes } from 'node:crypto';
    import { NativeContent } from ${JSON.stringify(fileURLToPath(new URL('./native-content.ts', import.meta.url)))};
    import { loadContentAddon } from ${JSON.stringify(fileURLToPath(new URL('./content-addon.ts', import.meta.url)))};
    import { DEFAULT_CHUNKER_PARAMS } from ${JSON.stringify(fileURLToPath(new URL('./chunker.ts', import.meta.url)))};
    const config = { chunker: { ...DEFAULT_CHUNKER_PARAMS, seed: randomBytes(32) } };
    const engine = new NativeContent(loadContentAddon().addon, config, randomBytes(32), { threads: 4${levels === undefined ? '' : `, nice: ${levels}`} });
    const path = process.argv[2];
    writeFileSync(path, randomBytes(200_000));
    const seal = { key: randomBytes(32), level: 2 };
    for (let round = 0; round < 20; round++) await Promise.all([0, 1, 2, 3].map(() => engine.readFiles([path], { seal })));
    const nice = {};
    for (const tid of readdirSync('/proc/self/task')) {
      const stat = readFileSync('/proc/self/task/' + tid + '/stat', 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      (nice[comm] ??= []).push(Number(fields[16]));
    }
    await engine.close();
    process.stdout.write(JSON.stringify({ main: nice.MainThread ?? [], pool: nice['libuv-worker'] ?? [] }));
  `;
  const run = (levels: number | undefined, niceFirst = 0): { main: number[]; pool: number[] } => {
    const file = join(dir, `nice-${levels}-${niceFirst}.ts`);
    writeFileSync(file, script(levels));
    const argv = [process.execPath, '--disable-warning=ExperimentalWarning', file, join(dir, `data-${levels}-${niceFirst}`)];
    const out = niceFirst === 0 ? execFileSync(argv[0]!, argv.slice(1), { encoding: 'utf8' }) : execFileSync('nice', ['-n', String(niceFirst), ...argv], { encoding: 'utf8' });
    return JSON.parse(out) as { main: number[]; pool: number[] };
  };

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'ferry-content-nice-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('lowers the pool threads that ran tasks by the levels asked for, and never the main thread', () => {
    // Relative to the nice value this test runs at (a CI runner may itself be niced).
    const base = run(0);
    const [own] = base.main;
    expect(base.pool.length).toBeGreaterThan(0);
    expect(base.pool.every((n) => n === own)).toBe(true);
    const lowered = run(7);
    const by = (levels: number): number => Math.min(19, own! + levels);
    expect(lowered.main).toEqual([own]);
    expect(lowered.pool).toContain(by(7));
    expect(lowered.pool.every((n) => n === own || n === by(7))).toBe(true);
    expect(run(undefined).pool).toContain(by(DEFAULT_CONTENT_NICE));
  });

  it('counts from the nice value the process was started with, up to 19', () => {
    const own = run(0).main[0]!;
    const started = run(10, 15); // `nice -n 15` adds to this process's value, capped at 19
    const from = Math.min(19, own + 15);
    expect(started.main).toEqual([from]);
    expect(started.pool).toContain(Math.min(19, from + 10));
    expect(started.pool.every((n) => n === from || n === Math.min(19, from + 10))).toBe(true);
  });
});
