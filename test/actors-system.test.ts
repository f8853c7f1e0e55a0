/**
 * The actor system end to end, with real processes: `ferry serve` replicas
 * on a private nats-server, a CLI client submitting the job, and failures
 * injected mid-job (SIGKILL of a worker process, a NATS restart).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { makeCliEnv, type CliEnv } from './cli-harness.ts';
import { startNats, type NatsFixture } from './nats-fixture.ts';
import { startServe, waitForActors, waitForStoredPacks, type ServeProcess } from './serve-harness.ts';
import { compareTrees } from './compare-trees.ts';
import { buildJobSource } from './tree-fixture.ts';
import { FsStorage } from '../services/storage/fs.ts';
import { Repository } from '../services/repo/repository.ts';
import { decodeIndex } from '../services/repo/index-file.ts';
import { ObjectType, openObject } from '../services/repo/sealed-object.ts';
import { objectKey } from '../services/crypto/tenant-keys.ts';
import { Prefix } from '../services/repo/layout.ts';
import { idKey } from '../services/repo/ids.ts';


/** How many packs hold each blob, from every index file: a completed pack uploaded twice shows up as a count of 2. */
async function blobCopies(repoDir: string, password: string): Promise<{ maxCopies: number; packs: number }> {
  const repo = await Repository.open(await FsStorage.create(repoDir), password);
  const key = objectKey(repo.keys);
  const copies = new Map<string, number>();
  let packs = 0;
  for await (const o of repo.storage.list(Prefix.index)) {
    for (const p of decodeIndex(openObject(key, ObjectType.Index, await repo.storage.load(o.name), o.name))) {
      packs++;
      for (const b of p.blobs) copies.set(idKey(b.id), (copies.get(idKey(b.id)) ?? 0) + 1);
    }
  }
  await repo.close();
  return { maxCopies: Math.max(0, ...copies.values()), packs };
}

describe('actors over NATS', () => {
  let t: CliEnv;
  let nats: NatsFixture;
  let src: string;
  const serves: ServeProcess[] = [];
  const serve = (actors: Parameters<typeof startServe>[2]) => {
    const s = startServe(t, nats.url, actors);
    serves.push(s);
    return s;
  };
  const client = (args: string[]) => t.run(args, { env: { NATS_URL: nats.url } });

  beforeEach(async () => {
    t = await makeCliEnv();
    nats = await startNats();
    src = join(t.dir, 'src');
    await buildJobSource(src, { bigFiles: 12, smallDirs: 5 });
    expect((await t.run(['init', '--kdf-memory', '8'])).code).toBe(0);
  });
  afterEach(async () => {
    await Promise.all(serves.splice(0).map((s) => s.stop()));
    await nats.stop();
    await t.cleanup();
  });

  async function restoreMatches(): Promise<void> {
    const out = join(t.dir, 'restored');
    const r = await client(['restore', `latest:${src}`, '--target', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(await compareTrees(src, out, { metadata: true })).toEqual([]);
  }

  it('two uploader replicas split one backup job', async () => {
    serve(['coordinator', 'scanner', 'finalizer', 'restorer', 'verifier']);
    serve(['uploader']);
    serve(['uploader']);
    await waitForActors(nats.url, ['coordinator', 'scanner', 'uploader', 'finalizer', 'restorer', 'verifier']);
    const b = await client(['backup', src, '--json']);
    expect(b.code, b.stderr).toBe(0);
    const { job } = JSON.parse(b.stdout) as { job: string };
    const ev = await client(['events', '--job', job, '--json']);
    const workers = new Set(
      ev.stdout.trim().split('\n').map((l) => JSON.parse(l) as { actor: string; data: { worker?: string } })
        .filter((e) => e.actor === 'uploader').map((e) => e.data.worker),
    );
    expect(workers.size).toBe(2);
    const jobs = JSON.parse((await client(['jobs', '--json'])).stdout) as { jobId: string; state: string }[];
    expect(jobs.find((j) => j.jobId === job)?.state).toBe('success');
    await restoreMatches();
  });

  it('finishes a job after kill -9 of the scanner and uploaders, storing no completed pack twice', async () => {
    serve(['coordinator', 'finalizer', 'restorer', 'verifier']);
    const worker = serve(['scanner', 'uploader']);
    await waitForActors(nats.url, ['coordinator', 'scanner', 'uploader', 'finalizer']);
    let finished = false;
    const backup = client(['backup', src, '--json']).finally(() => (finished = true));
    // Some packs stored, a different number each run, and most of the job still to do.
    await waitForStoredPacks(t.repo, 1 + Math.floor(Math.random() * 4));
    expect(finished, 'the job must still be running when the worker dies').toBe(false);
    await worker.kill9();
    serve(['scanner', 'uploader']);
    const b = await backup;
    expect(b.code, b.stderr).toBe(0);
    await restoreMatches();
    const c = await client(['check', '--read-data']);
    expect(c.code, c.stdout + c.stderr).toBe(0);
    expect((await blobCopies(t.repo, t.env.FERRY_PASSWORD!)).maxCopies).toBe(1);
  });

  it('does not lose a job when nats-server restarts mid-job', async () => {
    serve(['coordinator', 'scanner', 'uploader', 'finalizer', 'restorer', 'verifier']);
    await waitForActors(nats.url, ['coordinator', 'scanner', 'uploader', 'finalizer']);
    let finished = false;
    const backup = client(['backup', src, '--json']).finally(() => (finished = true));
    await waitForStoredPacks(t.repo, 2);
    expect(finished, 'the job must still be running when NATS dies').toBe(false);
    await nats.kill();
    await new Promise((r) => setTimeout(r, 500));
    await nats.restart();
    const b = await backup;
    expect(b.code, b.stderr).toBe(0);
    await restoreMatches();
  });
});
