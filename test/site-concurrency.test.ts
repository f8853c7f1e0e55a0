/**
 * Site jobs against a resident `ferry serve` (coordinator, site and backup
 * actors) on a private nats-server: two backups of one site never run at
 * once (the site's lease), while a backup of another site runs beside
 * them. Shown with the jobs' own events: from the lease taken to the job's
 * final state.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeCliEnv, type CliEnv } from './cli-harness.ts';
import { startNats, type NatsFixture } from './nats-fixture.ts';
import { startServe, waitForActors, type ServeProcess } from './serve-harness.ts';
import { startSshd, sshdUnavailable, type Sshd } from './sshd-fixture.ts';

const unavailable = sshdUnavailable();
if (unavailable) console.warn(`skipping the site concurrency test: ${unavailable}`);

interface JobEvent {
  jobId: string;
  type: string;
  at: number;
  data: Record<string, unknown>;
}

describe.skipIf(unavailable !== undefined)('site jobs side by side', () => {
  let nats: NatsFixture;
  let sshd: Sshd;
  let t: CliEnv;
  let serve: ServeProcess;
  const client = (args: string[]) => t.run(args, { env: { NATS_URL: nats.url } });

  beforeAll(async () => {
    [nats, sshd] = await Promise.all([startNats(), startSshd()]);
    t = await makeCliEnv('ferry-site-conc-');
    expect((await client(['init', '--kdf-memory', '8'])).code).toBe(0);
    // Enough to pull and store that each job lasts a while.
    for (const name of ['a', 'b']) {
      const dir = join(sshd.dir, name);
      await mkdir(dir);
      for (let i = 0; i < 8; i++) await writeFile(join(dir, `blob-${i}.bin`), randomBytes(4 * 1024 * 1024));
    }
    const addr = ['--host', sshd.host, '--port', String(sshd.port), '--user', sshd.user, '--key', sshd.keyFile];
    for (const name of ['a', 'b']) {
      expect((await client(['site', 'add', `site-${name}`, ...addr, '--every', '0'])).code).toBe(0);
      expect((await client(['target', 'add', `site-${name}`, 'directory', join(sshd.dir, name)])).code).toBe(0);
    }
    serve = startServe(t, nats.url, ['coordinator', 'site', 'scanner', 'uploader', 'finalizer']);
    await waitForActors(nats.url, ['coordinator', 'site', 'scanner', 'uploader', 'finalizer']);
  });
  afterAll(async () => {
    await serve?.stop();
    await t?.cleanup();
    await Promise.all([nats?.stop(), sshd?.stop()]);
  });

  it('serializes one site\'s backups and overlaps different sites\'', async () => {
    const runs = await Promise.all([
      client(['site', 'run', 'site-a', '--json']),
      client(['site', 'run', 'site-a', '--json']),
      client(['site', 'run', 'site-b', '--json']),
    ]);
    for (const r of runs) expect(r.code, r.stdout + r.stderr).toBe(0);
    const jobs = runs.map((r) => (JSON.parse(r.stdout) as { job: string }).job);
    const span = async (jobId: string): Promise<[number, number]> => {
      const out = await client(['events', '--job', jobId, '--json']);
      const events = out.stdout.trim().split('\n').map((l) => JSON.parse(l) as JobEvent);
      const start = events.find((e) => e.type === 'step' && e.data.step === 'lease')!.at;
      const end = events.find((e) => e.type === 'state' && e.data.state === 'success')!.at;
      return [start, end];
    };
    const [a1, a2, b] = await Promise.all(jobs.map(span));
    const overlap = (x: [number, number], y: [number, number]) => x[0] < y[1] && y[0] < x[1];
    expect(overlap(a1!, a2!), `site-a jobs ${JSON.stringify([a1, a2])}`).toBe(false);
    expect(overlap(b!, a1!) || overlap(b!, a2!), `site-b ${JSON.stringify(b)} against site-a ${JSON.stringify([a1, a2])}`).toBe(true);
  });
});
