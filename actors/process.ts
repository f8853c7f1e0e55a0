/**
 * Runs a chosen set of actors in this process, all on one NATS connection.
 * The same function serves `ferry serve --actors …` on a fleet and the
 * in-process actors the CLI starts on a laptop: one code path.
 */
import type { Logger } from 'pino';
import type { NatsConnection } from '@nats-io/nats-core';
import { jetstreamManager } from '@nats-io/jetstream';
import { Durables, Streams } from '../protocol/resources.ts';
import { runActor, type ActorHost } from './runtime/actor-host.ts';
import type { ActorDeps } from './deps.ts';
import { coordinatorHandler, COORDINATOR_ACCEPTS } from './coordinator.ts';
import { scannerHandler } from './scanner.ts';
import { uploaderHandler } from './uploader.ts';
import { finalizerHandler } from './finalizer.ts';
import { restorerHandler } from './restorer.ts';
import { retentionHandler } from './retention.ts';
import { syncHandler } from './sync-job.ts';
import { verifierHandler } from './verifier.ts';
import { siteHandler, type SiteActorDeps } from './site.ts';
import { reportFailures } from './report-failures.ts';
import { UsageError } from '../cli/usage-error.ts';
import { startScheduler, type Scheduler } from './scheduler.ts';

export const ActorKinds = ['coordinator', 'scanner', 'uploader', 'finalizer', 'restorer', 'verifier', 'site', 'retention', 'sync'] as const;
export type ActorKind = (typeof ActorKinds)[number];

export function parseActorKinds(list: string): ActorKind[] {
  const kinds = list.split(',').map((k) => k.trim()).filter(Boolean);
  for (const k of kinds) if (!(ActorKinds as readonly string[]).includes(k)) throw new UsageError(`unknown actor ${JSON.stringify(k)}; choose from ${ActorKinds.join(', ')}`);
  return kinds as ActorKind[];
}

export interface RunningActors {
  readonly kinds: readonly ActorKind[];
  close(): Promise<void>;
}

export interface StartActorsOptions {
  readonly nc: NatsConnection;
  readonly logger: Logger;
  /** Needed by every actor but the coordinator. */
  readonly deps?: ActorDeps | undefined;
  /** Needed by the site actor. */
  readonly site?: SiteActorDeps | undefined;
  readonly kinds: readonly ActorKind[];
  readonly concurrency?: Partial<Record<ActorKind, number>>;
}

function needDeps(deps: ActorDeps | undefined, kind: ActorKind): ActorDeps {
  if (!deps) throw new UsageError(`the ${kind} actor needs a repository: set FERRY_REPO and a passphrase`);
  return deps;
}

/** One started actor: its host, and for the coordinator the schedule leader too. */
interface Started {
  readonly host: ActorHost;
  readonly scheduler?: Scheduler;
}

/**
 * Starts the actors side by side: each one's set-up (its consumer, and for
 * the uploader the master index) waits on NATS or storage, not on the
 * others. If any fails to start, the ones that did are closed again.
 */
export async function startActors(opts: StartActorsOptions): Promise<RunningActors> {
  const common = { nc: opts.nc, logger: opts.logger };
  const conc = (k: ActorKind, d: number) => opts.concurrency?.[k] ?? d;
  const host = async (p: Promise<unknown>): Promise<Started> => ({ host: (await p) as ActorHost });
  const startOne = async (kind: ActorKind): Promise<Started> => {
    switch (kind) {
      case 'coordinator': {
        const coordinator = (await runActor({ ...common, actor: kind, stream: Streams.Jobs, durable: Durables.Coordinator, accepts: COORDINATOR_ACCEPTS, handler: coordinatorHandler(), concurrency: conc(kind, 8) })) as ActorHost;
        try {
          return { host: coordinator, scheduler: await startScheduler({ nc: opts.nc, logger: opts.logger }) };
        } catch (err) {
          await coordinator.close();
          throw err;
        }
      }
      case 'scanner':
        return host(runActor({ ...common, actor: kind, stream: Streams.Work, durable: Durables.Scanner, accepts: ['work.scan'], handler: reportFailures('scan', scannerHandler(needDeps(opts.deps, kind))), concurrency: conc(kind, 2) }));
      case 'uploader':
        return host(runActor({ ...common, actor: kind, stream: Streams.Work, durable: Durables.Uploader, accepts: ['work.upload', 'work.upload-file'], handler: reportFailures('upload', await uploaderHandler(needDeps(opts.deps, kind))), concurrency: conc(kind, 4) }));
      case 'finalizer':
        return host(runActor({ ...common, actor: kind, stream: Streams.Work, durable: Durables.Finalizer, accepts: ['work.finalize'], handler: reportFailures('finalize', finalizerHandler(needDeps(opts.deps, kind))), concurrency: conc(kind, 2) }));
      case 'restorer':
        return host(runActor({ ...common, actor: kind, stream: Streams.Work, durable: Durables.Restorer, accepts: ['work.restore'], handler: reportFailures('restore', restorerHandler(needDeps(opts.deps, kind))), concurrency: conc(kind, 1) }));
      case 'verifier':
        return host(runActor({ ...common, actor: kind, stream: Streams.Work, durable: Durables.Verifier, accepts: ['work.verify'], handler: reportFailures('verify', verifierHandler(needDeps(opts.deps, kind))), concurrency: conc(kind, 1) }));
      case 'sync':
        return host(runActor({ ...common, actor: kind, stream: Streams.Work, durable: Durables.Sync, accepts: ['work.sync'], handler: reportFailures('sync', syncHandler(needDeps(opts.deps, kind))), concurrency: conc(kind, 1) }));
      case 'retention':
        // One at a time: prunes of one repository exclude each other anyway (their lease).
        return host(runActor({ ...common, actor: kind, stream: Streams.Work, durable: Durables.Retention, accepts: ['work.retention'], handler: reportFailures('retention', retentionHandler(needDeps(opts.deps, kind))), concurrency: conc(kind, 1) }));
      case 'site': {
        if (!opts.site) throw new UsageError('the site actor needs its staging directory and site-secrets key');
        // Different sites run side by side up to this many; one site's jobs wait for its lease.
        return host(runActor({ ...common, actor: kind, stream: Streams.Work, durable: Durables.Site, accepts: ['work.site'], handler: reportFailures('site', siteHandler({ ...opts.site, repo: opts.deps?.repo })), concurrency: conc(kind, 4) }));
      }
    }
  };
  const results = await Promise.allSettled(opts.kinds.map(startOne));
  const started = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const close = async () => {
    await Promise.all(started.map((s) => s.scheduler?.close()));
    await Promise.all(started.map((s) => s.host.close()));
  };
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    await close();
    throw failed.reason;
  }
  let closed = false;
  return {
    kinds: opts.kinds,
    async close() {
      if (closed) return;
      closed = true;
      await close();
    },
  };
}

/**
 * True when some process is pulling on every named durable right now (its
 * pull requests show as waiting), i.e. a `ferry serve` is running them.
 */
export async function actorsAlive(nc: NatsConnection, kinds: readonly ActorKind[]): Promise<boolean> {
  const jsm = await jetstreamManager(nc);
  for (const k of kinds) {
    const stream = k === 'coordinator' ? Streams.Jobs : Streams.Work;
    const info = await jsm.consumers.info(stream, k).catch(() => undefined);
    if (!info || info.num_waiting === 0) return false;
  }
  return true;
}
