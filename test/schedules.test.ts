/**
 * Cron schedules fire through the coordinator that holds the leader lease:
 * with two coordinator replicas exactly one leads, and when it is killed the
 * other takes over by itself (the lease expires; nobody clears a lock).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { makeCliEnv, type CliEnv } from './cli-harness.ts';
import { startNats, type NatsFixture } from './nats-fixture.ts';
import { startServe, waitForActors, type ServeProcess } from './serve-harness.ts';

describe('schedules and the coordinator leader lease', () => {
  let t: CliEnv;
  let nats: NatsFixture;
  const serves: ServeProcess[] = [];
  beforeEach(async () => {
    t = await makeCliEnv();
    nats = await startNats();
  });
  afterEach(async () => {
    await Promise.all(serves.splice(0).map((s) => s.stop()));
    await nats.stop();
    await t.cleanup();
  });

  it('fires a cron schedule from one leader, and a standby takes over when the leader dies', async () => {
    const env = { NATS_URL: nats.url };
    const src = join(t.dir, 'src');
    await mkdir(src);
    await writeFile(join(src, 'a.txt'), 'scheduled\n');
    expect((await t.run(['init', '--kdf-memory', '8'])).code).toBe(0);
    const a = startServe(t, nats.url, ['coordinator', 'scanner', 'uploader', 'finalizer']);
    serves.push(a);
    await waitForActors(nats.url, ['coordinator', 'scanner', 'uploader', 'finalizer']);
    const b = startServe(t, nats.url, ['coordinator']);
    serves.push(b);
    const add = await t.run(['schedule', 'add', 'every-2s', '--cron', '*/2 * * * * *', src], { env });
    expect(add.code, add.stderr).toBe(0);
    expect((await t.run(['schedule', 'add', 'bad', '--cron', 'not cron', src], { env })).code).not.toBe(0);

    const jobs = async () => JSON.parse((await t.run(['jobs', '--json'], { env })).stdout) as { jobId: string; state: string }[];
    const waitFor = async (pred: (j: { jobId: string; state: string }[]) => boolean, ms: number) => {
      const end = Date.now() + ms;
      while (Date.now() < end) {
        if (pred(await jobs())) return;
        await new Promise((r) => setTimeout(r, 500));
      }
      throw new Error(`condition not met in ${ms} ms: ${JSON.stringify(await jobs())}`);
    };
    await waitFor((j) => j.filter((x) => x.state === 'success').length >= 2, 30_000);
    const leaders = [a, b].filter((s) => s.output().includes('leading: this coordinator fires schedules'));
    expect(leaders.length).toBe(1);

    const leader = leaders[0]!;
    const standby = leader === a ? b : a;
    if (leader === a) {
      // Keep the workers: start them again in a process of their own.
      serves.push(startServe(t, nats.url, ['scanner', 'uploader', 'finalizer']));
    }
    await leader.kill9();
    const before = (await jobs()).length;
    await waitFor((j) => j.length >= before + 2 && j.filter((x) => x.state === 'success').length >= before, 45_000);
    expect(standby.output()).toContain('leading: this coordinator fires schedules');
    const ids = (await jobs()).map((j) => j.jobId);
    expect(new Set(ids).size).toBe(ids.length);
    expect((await t.run(['schedule', 'remove', 'every-2s'], { env })).code).toBe(0);
  });
});
