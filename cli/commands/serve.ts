import type { Command } from '../command.ts';
import { parseCommandArgs } from '../command.ts';
import { ExitCode } from '../exit-codes.ts';
import { openRuntime } from '../runtime.ts';
import { ActorKinds, parseActorKinds } from '../../actors/process.ts';
import { JobStore } from '../../actors/runtime/job-store.ts';
import { followEvents } from '../../actors/runtime/events.ts';
import { connectNats } from '../../services/nats/connect.ts';
import { findRunningEmbedded } from '../../services/nats/embedded-server.ts';
import { UsageError } from '../usage-error.ts';
import type { Session } from '../session.ts';

export const serveCommand: Command = {
  name: 'serve',
  usage: 'ferry serve [--actors coordinator,scanner,uploader,finalizer,restorer,verifier]',
  summary: 'run actors until SIGTERM; replicas run the same command (NATS_URL, or the embedded server)',
  async run(args, s) {
    const { values } = parseCommandArgs('serve', args, { actors: { type: 'string' } });
    const kinds = values.actors ? parseActorKinds(values.actors) : [...ActorKinds];
    const rt = await openRuntime(s, { needs: kinds, run: kinds });
    s.log.info({ actors: kinds, nats: rt.url.replace(/\/\/[^@]*@/, '//') }, 'serving');
    await new Promise<void>((resolve) => {
      const stop = (sig: string) => {
        s.log.info({ signal: sig }, 'shutting down: finishing in-flight work');
        resolve();
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
    });
    await rt.close();
    s.log.info('stopped');
    return ExitCode.Ok;
  },
};

/** Connects to NATS_URL or the running embedded server, without starting anything. */
async function connectExisting(s: Session) {
  const url = s.env.NATS_URL ?? (await findRunningEmbedded(s.cfg.stateDir));
  if (!url) throw new UsageError('no NATS server: set NATS_URL, or run a command that starts the embedded one (e.g. `ferry serve`)');
  return connectNats({ url, name: `ferry-cli-${process.pid}`, log: s.log });
}

export const jobsCommand: Command = {
  name: 'jobs',
  usage: 'ferry jobs [--limit N] [--json]',
  summary: 'list jobs, newest first',
  async run(args, s) {
    const { values } = parseCommandArgs('jobs', args, { limit: { type: 'string' } });
    const nc = await connectExisting(s);
    try {
      const store = await JobStore.open(nc);
      const jobs = await store.list({ tenant: s.cfg.tenant, limit: Number(values.limit ?? 50) });
      s.print(jobs, () =>
        jobs.length === 0
          ? 'no jobs'
          : jobs.map((j) => `${j.jobId}  ${j.type.padEnd(7)}  ${j.state.padEnd(8)}  ${new Date(j.createdAt).toISOString()}  ${j.snapshotId ? j.snapshotId.slice(0, 12) : ''}${j.error ? `  ${j.error.message}` : ''}`),
      );
      return ExitCode.Ok;
    } finally {
      await nc.close();
    }
  },
};

export const eventsCommand: Command = {
  name: 'events',
  usage: 'ferry events [--job ID] [--follow] [--json]',
  summary: 'show job events for the tenant or one job; --follow keeps tailing',
  async run(args, s) {
    const { values } = parseCommandArgs('events', args, { job: { type: 'string' }, follow: { type: 'boolean' } });
    const nc = await connectExisting(s);
    try {
      const stop = new AbortController();
      process.once('SIGINT', () => stop.abort());
      // Without --follow, stop once the stream has been quiet for a second (the backlog is shown).
      let idle: NodeJS.Timeout | undefined;
      const quiet = () => {
        if (values.follow) return;
        clearTimeout(idle);
        idle = setTimeout(() => stop.abort(), 1000);
      };
      quiet();
      for await (const e of followEvents(nc, { tenant: s.cfg.tenant, ...(values.job ? { jobId: values.job } : {}), fromStart: true, signal: stop.signal })) {
        quiet();
        s.print(e, () => `${new Date(e.at).toISOString()}  ${e.jobId}  ${e.type.padEnd(8)}  ${e.actor.padEnd(11)}  ${JSON.stringify(e.data)}`);
      }
      clearTimeout(idle);
      return ExitCode.Ok;
    } finally {
      await nc.close();
    }
  },
};
