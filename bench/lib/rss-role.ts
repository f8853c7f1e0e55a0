/**
 * Child process of bench/job-rss.bench.ts: one role of a synthetic job, in
 * its own process so its RSS is its own.
 *
 *   node bench/lib/rss-role.ts scanner|uploader NATS_URL FILES JOB_ID
 *
 * scanner: the records benchmark's scanner loop (synthetic walk, batchEvents,
 * the runtime publisher on FERRY_WORK). uploader: a runActor host on the
 * uploader durable whose handler decodes each batch (decodeEvents) and acks.
 * Both print one JSON line {role, records, rssMiB, heapUsedMiB} at every
 * million records, and {role, done, records, peakRssMiB} at the end.
 */
import { connect } from '@nats-io/transport-node';
import { jetstream } from '@nats-io/jetstream';
import pino from 'pino';
import { createPublisher } from '../../actors/runtime/publisher.ts';
import { runActor } from '../../actors/runtime/actor-host.ts';
import { Durables, Streams } from '../../protocol/resources.ts';
import { decodeEvents } from '../../services/jobs/scan-events.ts';
import { produce } from './scan-producer.ts';

const [role, url, filesArg, jobId] = process.argv.slice(2);
const files = Number(filesArg);
if ((role !== 'scanner' && role !== 'uploader') || !url || !Number.isSafeInteger(files) || !jobId) {
  process.stderr.write('usage: node bench/lib/rss-role.ts scanner|uploader NATS_URL FILES JOB_ID\n');
  process.exit(2);
}

const MiB = 1024 * 1024;
const STEP = 1_000_000;
let peak = 0;
const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 50);
let nextReport = STEP;
function progress(records: number): void {
  peak = Math.max(peak, process.memoryUsage.rss());
  while (records >= nextReport) {
    const m = process.memoryUsage();
    process.stdout.write(`${JSON.stringify({ role, records: nextReport, rssMiB: m.rss / MiB, peakRssMiB: peak / MiB, heapUsedMiB: m.heapUsed / MiB })}\n`);
    nextReport += STEP;
  }
}

const nc = await connect({ servers: url });
if (role === 'scanner') {
  const publisher = createPublisher(jetstream(nc));
  await produce(publisher, { tenant: 'bench', repoId: 'bench', jobId, files, uploadRatio: 0.5, seed: 1, window: 64 }, progress);
} else {
  let records = 0;
  let finish!: () => void;
  const finished = new Promise<void>((res) => (finish = res));
  const host = await runActor({
    nc,
    logger: pino({ level: 'warn' }),
    actor: 'uploader',
    stream: Streams.Work,
    durable: Durables.Uploader,
    accepts: ['work.upload'],
    concurrency: 4,
    graceMs: 5000,
    pullExpiresMs: 2000,
    handler: async (_ctx, msg) => {
      const events = decodeEvents(msg.value.events, `batch ${msg.value.seq} of job ${msg.value.jobId}`);
      for (const e of events) if (e.t === 'f') records++;
      progress(records);
      if (records >= files) finish();
    },
  });
  await finished;
  await host.close();
}
clearInterval(sampler);
process.stdout.write(`${JSON.stringify({ role, done: true, peakRssMiB: peak / MiB })}\n`);
await nc.close();
