/**
 * The actor system on a 3-node JetStream cluster with R3 streams and
 * buckets: a `ferry serve` running every actor and a CLI client, both given
 * all three URLs. One node (the FERRY_WORK stream leader) is SIGKILLed while
 * a multi-batch backup runs; the job must still finish, restore to an
 * identical tree, and pass `check --read-data`.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { makeCliEnv, type CliEnv } from './cli-harness.ts';
import { retry, startCluster, type ClusterFixture } from './nats-fixture.ts';
import { startServe, waitForActors, waitForStoredPacks, type ServeProcess } from './serve-harness.ts';
import { compareTrees } from './compare-trees.ts';
import { buildJobSource } from './tree-fixture.ts';
import { Buckets, Streams } from '../protocol/resources.ts';
import { openBucket } from '../actors/runtime/open-bucket.ts';
import { readsDirect } from '../actors/runtime/runtime.fixture.ts';

const ALL = ['coordinator', 'scanner', 'uploader', 'finalizer', 'restorer', 'verifier'] as const;

const ferryStreams = (): string[] => [...Object.values(Streams), ...Object.values(Buckets).map((b) => `KV_${b}`)];

async function expectR3(jsm: JetStreamManager, nc: NatsConnection): Promise<void> {
  for (const name of ferryStreams()) {
    const info = await retry(`stream info ${name}`, () => jsm.streams.info(name));
    expect(info.config.num_replicas, name).toBe(3);
  }
  // A follower may answer a direct get with a stale value, so replicated buckets are read through the API.
  for (const bucket of Object.values(Buckets)) expect(readsDirect(await openBucket(nc, bucket)), bucket).toBe(false);
}


describe('actors on a 3-node NATS cluster', () => {
  let t: CliEnv;
  let cluster: ClusterFixture;
  let nc: NatsConnection | undefined;
  let src: string;
  const serves: ServeProcess[] = [];

  beforeEach(async () => {
    t = await makeCliEnv();
    cluster = await startCluster();
    src = join(t.dir, 'src');
    await buildJobSource(src, { bigFiles: 8, smallDirs: 3 });
    expect((await t.run(['init', '--kdf-memory', '8'])).code).toBe(0);
  });
  afterEach(async () => {
    await nc?.close().catch(() => undefined);
    nc = undefined;
    await Promise.all(serves.splice(0).map((s) => s.stop()));
    await cluster.stop();
    await t.cleanup();
  });

  it('finishes a backup when a node dies mid-job, and restores and checks it', async () => {
    const url = cluster.urls.join(',');
    const env = { NATS_URL: url, FERRY_NATS_REPLICAS: '3' };
    const client = (args: string[]) => t.run(args, { env });

    const serve = startServe(t, url, ALL, { FERRY_NATS_REPLICAS: '3' });
    serves.push(serve);
    await waitForActors(url, ALL, 60_000);

    nc = await connect({ servers: cluster.urls, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
    const jsm = await jetstreamManager(nc);
    await expectR3(jsm, nc);

    let finished = false;
    const backup = client(['backup', src, '--json']).finally(() => (finished = true));
    // Wait until the job is under way and has stored its first pack.
    await waitForStoredPacks(t.repo, 1);
    expect(finished, 'the backup must still be running when the node dies').toBe(false);

    const leader = (await jsm.streams.info(Streams.Work)).cluster?.leader;
    expect(leader).toMatch(/^n[123]$/);
    const victim = Number(leader!.slice(1)) - 1;
    await cluster.killNode(victim);

    const b = await backup;
    expect(b.code, `${b.stderr}\n--- serve ---\n${serve.output().slice(-4000)}`).toBe(0);
    const { job } = JSON.parse(b.stdout) as { job: string };
    expect(job).toBeTruthy();

    // Started right away, while leaders may still be moving: ensureResources waits that out. The client
    // is not told FERRY_NATS_REPLICAS, and must not scale the cluster's R3 streams down.
    const plainClient = (args: string[]) => t.run(args, { env: { NATS_URL: url } });
    const out = join(t.dir, 'restored');
    const r = await plainClient(['restore', `latest:${src}`, '--target', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(await compareTrees(src, out, { metadata: true })).toEqual([]);

    const c = await plainClient(['check', '--read-data']);
    expect(c.code, c.stdout + c.stderr).toBe(0);

    // The streams and buckets stayed R3 (no client scaled them down) and moved their leaders off the dead node.
    await expectR3(jsm, nc);
    const work = await retry('FERRY_WORK info', () => jsm.streams.info(Streams.Work));
    expect(work.cluster?.leader).not.toBe(leader);
    expect(serve.child.exitCode).toBeNull();

    // The node comes back and catches up.
    await cluster.restartNode(victim);
    await retry('replicas current after restart', async () => {
      for (const name of ferryStreams()) {
        const replicas = (await jsm.streams.info(name)).cluster?.replicas ?? [];
        if (replicas.length !== 2 || !replicas.every((x) => x.current)) throw new Error(`${name} replicas ${JSON.stringify(replicas)}`);
      }
    }, 60_000);
  });
});
