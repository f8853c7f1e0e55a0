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
import { verifierHandler } from './verifier.ts';
import { reportFailures } from './report-failures.ts';
import { UsageError } from '../cli/usage-error.ts';
import { startScheduler, type Scheduler } from './scheduler.ts';

export const ActorKinds = ['coordinator', 'scanner', 'uploader', 'finalizer', 'restorer', 'verifier'] as const;
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
  readonly kinds: readonly ActorKind[];
  readonly concurrency?: Partial<Record<ActorKind, number>>;
}

function needDeps(deps: ActorDeps | undefined, kind: ActorKind): ActorDeps {
  if (!deps) throw new UsageError(`the ${kind} actor needs a repository: set FERRY_REPO and a passphrase`);
  return deps;
}

export async function startActors(opts: StartActorsOptions): Promise<RunningActors> {
  const hosts: ActorHost[] = [];
  let scheduler: Scheduler | undefined;
  const common = { nc: opts.nc, logger: opts.logger };
  const conc = (k: ActorKind, d: number) => opts.concurrency?.[k] ?? d;
  try {
    for (const kind of opts.kinds) {
      switch (kind) {
        case 'coordinator':
          hosts.push(await runActor({ ...common, actor: kind, stream: Streams.Jobs, durable: Durables.Coordinator, accepts: COORDINATOR_ACCEPTS, handler: coordinatorHandler(), concurrency: conc(kind, 8) }) as ActorHost);
          scheduler = await startScheduler({ nc: opts.nc, logger: opts.logger });
          break;
        case 'scanner':
          hosts.push(await runActor({ ...common, actor: kind, stream: Streams.Work, durable: Durables.Scanner, accepts: ['work.scan'], handler: reportFailures('scan', scannerHandler(needDeps(opts.deps, kind))), concurrency: conc(kind, 2) }) as ActorHost);
          break;
        case 'uploader':
          hosts.push(await runActor({ ...common, actor: kind, stream: Streams.Work, durable: Durables.Uploader, accepts: ['work.upload'], handler: reportFailures('upload', await uploaderHandler(needDeps(opts.deps, kind))), concurrency: conc(kind, 2) }) as ActorHost);
          break;
        case 'finalizer':
          hosts.push(await runActor({ ...common, actor: kind, stream: Streams.Work, durable: Durables.Finalizer, accepts: ['work.finalize'], handler: reportFailures('finalize', finalizerHandler(needDeps(opts.deps, kind))), concurrency: conc(kind, 2) }) as ActorHost);
          break;
        case 'restorer':
          hosts.push(await runActor({ ...common, actor: kind, stream: Streams.Work, durable: Durables.Restorer, accepts: ['work.restore'], handler: reportFailures('restore', restorerHandler(needDeps(opts.deps, kind))), concurrency: conc(kind, 1) }) as ActorHost);
          break;
        case 'verifier':
          hosts.push(await runActor({ ...common, actor: kind, stream: Streams.Work, durable: Durables.Verifier, accepts: ['work.verify'], handler: reportFailures('verify', verifierHandler(needDeps(opts.deps, kind))), concurrency: conc(kind, 1) }) as ActorHost);
          break;
      }
    }
  } catch (err) {
    await scheduler?.close();
    await Promise.all(hosts.map((h) => h.close()));
    throw err;
  }
  let closed = false;
  return {
    kinds: opts.kinds,
    async close() {
      if (closed) return;
      closed = true;
      await scheduler?.close();
      await Promise.all(hosts.map((h) => h.close()));
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
