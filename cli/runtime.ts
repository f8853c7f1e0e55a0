/**
 * The NATS side of a CLI command. With NATS_URL unset it uses this
 * machine's embedded nats-server (starting one under the state directory if
 * none runs). If no `ferry serve` is pulling work, the command runs the
 * actors itself for its duration. Either way the job goes through the same
 * actors: one code path from a laptop to a fleet.
 */
import type { NatsConnection } from '@nats-io/nats-core';
import type { KV } from '@nats-io/kv';
import { openBucket } from '../actors/runtime/open-bucket.ts';
import type { BucketName } from '../protocol/resources.ts';
import { EmbeddedNats, findRunningEmbedded } from '../services/nats/embedded-server.ts';
import { connectNats } from '../services/nats/connect.ts';
import { ensureResources } from '../protocol/resources.ts';
import { ActorKinds, actorsAlive, startActors, type ActorKind, type RunningActors } from '../actors/process.ts';
import type { Session } from './session.ts';

export interface Runtime {
  readonly nc: NatsConnection;
  readonly url: string;
  readonly local: RunningActors | undefined;
  close(): Promise<void>;
}

export interface RuntimeOptions {
  /** Actors this command needs somewhere; started in-process when no process pulls for them. */
  readonly needs: readonly ActorKind[];
  /** Force running these actors in this process (ferry serve). */
  readonly run?: readonly ActorKind[] | undefined;
}

export async function openRuntime(s: Session, opts: RuntimeOptions): Promise<Runtime> {
  const log = s.log.child({ component: 'runtime' });
  let embedded: EmbeddedNats | undefined;
  let url = s.env.NATS_URL ?? (await findRunningEmbedded(s.cfg.stateDir));
  if (!url) {
    embedded = await EmbeddedNats.start({ stateDir: s.cfg.stateDir, log });
    url = embedded.url;
    log.debug({ url }, 'started embedded nats-server');
  }
  let nc: NatsConnection | undefined;
  let local: RunningActors | undefined;
  try {
    nc = await connectNats({ url, name: `ferry-${process.pid}`, log });
    await ensureResources(nc, { replicas: Number(s.env.FERRY_NATS_REPLICAS ?? 1) });
    const run = opts.run ?? ((await actorsAlive(nc, opts.needs)) ? [] : ActorKinds.filter((k) => opts.needs.includes(k)));
    if (run.length > 0) {
      const needsRepo = run.some((k) => k !== 'coordinator');
      const deps = needsRepo ? { repo: await s.repo(), workers: await s.contentEngine(), logger: s.log, openStorage: (to: string) => s.openStorageAt(to, { create: true }) } : undefined;
      const site = { siteKeyFile: s.cfg.siteKeyFile, stagingRoot: s.cfg.stagingDir, minFreeBytes: s.cfg.stagingMinFreeBytes, policy: s.cfg.siteStepPolicy };
      local = await startActors({ nc, logger: s.log, deps, site, kinds: run });
      log.debug({ actors: run }, 'running actors in this process');
    }
  } catch (err) {
    await nc?.close().catch(() => {});
    await embedded?.close();
    throw err;
  }
  const conn = nc;
  let closed = false;
  return {
    nc: conn,
    url,
    local,
    async close() {
      if (closed) return;
      closed = true;
      await local?.close();
      await conn.drain().catch(() => {});
      // An embedded server we started serves only this command; one found running stays up.
      // It finishes stopping on its own, and the next command waits for it (EmbeddedNats.stopInBackground).
      await embedded?.stopInBackground();
    },
  };
}

/**
 * Runs `fn` with this machine's NATS (no actors) and a way to open its KV
 * buckets, for commands that only read or write records (sites, schedules,
 * policies, sync state, a prune's lease), and closes the connection after.
 */
export async function withKv<T>(s: Session, fn: (kv: (bucket: BucketName) => Promise<KV>) => Promise<T>): Promise<T> {
  const rt = await openRuntime(s, { needs: [] });
  try {
    return await fn((bucket) => openBucket(rt.nc, bucket));
  } finally {
    await rt.close();
  }
}
