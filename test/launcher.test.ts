/**
 * bin/ferry's choices for the Node it starts, seen from inside that Node:
 * a module preloaded through NODE_OPTIONS reports the threads the process
 * has before Ferry's own code runs, and exits.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeCliEnv, type CliEnv } from './cli-harness.ts';

let env: CliEnv;
let dir: string;
let probe: string;

beforeAll(async () => {
  env = await makeCliEnv('ferry-launcher-');
  dir = env.dir;
  probe = join(dir, 'probe.mjs');
  // Thread names come from /proc; V8's platform workers are named "V8Worker".
  await writeFile(
    probe,
    `import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
const names = readdirSync('/proc/self/task').map((t) => readFileSync('/proc/self/task/' + t + '/comm', 'utf8').trim());
writeFileSync(process.env.PROBE_OUT, JSON.stringify({ v8Workers: names.filter((n) => n === 'V8Worker').length, pool: process.env.UV_THREADPOOL_SIZE, arenas: process.env.MALLOC_ARENA_MAX }));
process.exit(0);
`,
  );
});
afterAll(async () => {
  await env.cleanup();
});

async function threadsWith(nodeOptions: string): Promise<{ v8Workers: number; pool: string; arenas: string }> {
  const out = join(dir, `out-${Math.random().toString(36).slice(2)}.json`);
  const r = await env.run(['--help'], { env: { NODE_OPTIONS: nodeOptions, PROBE_OUT: out } });
  expect(r.code).toBe(0);
  return JSON.parse(await readFile(out, 'utf8')) as { v8Workers: number; pool: string; arenas: string };
}

describe('bin/ferry', () => {
  it('starts one V8 helper thread fewer than the cores (one to four), unless NODE_OPTIONS names a count; one malloc arena on up to two cores, else two', async () => {
    const cores = availableParallelism();
    const want = Math.min(4, Math.max(1, cores - 1));
    const chosen = await threadsWith(`--import=${probe}`);
    expect(chosen.v8Workers).toBe(want);
    expect(Number(chosen.pool)).toBe(Math.max(4, cores + 2));
    expect(chosen.arenas).toBe(cores <= 2 ? '1' : '2');
    const asked = await threadsWith(`--v8-pool-size=${want + 2} --import=${probe}`);
    expect(asked.v8Workers).toBe(want + 2);
  });
});
