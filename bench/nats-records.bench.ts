/**
 * File records per second from the scanner to the uploaders through NATS
 * JetStream, on the project's real wire path.
 *
 *   node bench/nats-records.bench.ts [--files N] [--rounds R] [--window W]
 *        [--consumers C] [--concurrency L] [--producer worker|inline]
 *        [--upload-ratio X] [--no-write]
 *
 * Scanner side (bench/lib/scan-producer.ts): synthetic `f` scan events with
 * realistic TreeNodes, cut by the project's batchEvents (DEFAULT_BATCH_LIMITS:
 * 1000 files to read a batch), published as `work.upload` messages by the actor
 * runtime's publisher (protocol encode, headers, Nats-Msg-Id), awaiting every
 * PubAck with up to W publishes in flight. By default it runs on a worker
 * thread with its own connection, as a scanner in its own process would;
 * `--producer inline` runs it on the uploaders' thread (one `ferry serve`
 * process running every actor).
 *
 * Uploader side: C actor hosts (runActor, one connection each, L lanes each)
 * on the `uploader` durable; the handler runs decodeEvents on the batch,
 * counts its file records and returns, so the host acks. Measured: the host's
 * pull, protocol decode and validation, event decode, the ack.
 *
 * Each round, on fresh job IDs:
 *   end to end    uploaders running; first publish -> last ack flushed to the server
 *   publish only  no uploaders; first publish -> last PubAck (the stream keeps the backlog)
 *   drain only    uploaders started on that backlog -> last ack flushed
 *   in process    no NATS: generate + batchEvents + encode; decodeEvents (at most 500,000 records)
 * Medians over the rounds are printed and written to docs/BENCHMARKS.md,
 * section "## File records through NATS" (other sections are kept).
 */
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import pino from 'pino';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { startNats, type NatsFixture } from '../test/nats-fixture.ts';
import { ensureResources, Durables, Streams } from '../protocol/resources.ts';
import { encode } from '../protocol/codec.ts';
import { createPublisher } from '../actors/runtime/publisher.ts';
import { runActor, type ActorHost } from '../actors/runtime/actor-host.ts';
import { batchEvents, DEFAULT_BATCH_LIMITS } from '../services/jobs/batcher.ts';
import { decodeEvents } from '../services/jobs/scan-events.ts';
import { produce, scanItems, wallClock, type ProduceOptions, type Produced } from './lib/scan-producer.ts';
import type { ProducerReply } from './lib/producer-worker.ts';
import { fmt, machine, machineLines, median, writeSection } from './lib/report.ts';

// ---------------------------------------------------------------- options

const argv = process.argv.slice(2);
const { values: args } = parseArgs({
  args: argv,
  options: {
    files: { type: 'string', default: '2000000' },
    rounds: { type: 'string', default: '3' },
    window: { type: 'string', default: '64' },
    consumers: { type: 'string', default: '2' },
    concurrency: { type: 'string', default: '4' },
    producer: { type: 'string', default: 'worker' },
    'upload-ratio': { type: 'string', default: '0.5' },
    'no-write': { type: 'boolean', default: false },
  },
});

function intArg(name: string, raw: string, min: number): number {
  const v = Number(raw.replaceAll('_', '').replaceAll(',', ''));
  if (!Number.isSafeInteger(v) || v < min) throw new RangeError(`--${name} must be an integer >= ${min}, got ${raw}`);
  return v;
}

const FILES = intArg('files', args.files, 1);
const ROUNDS = intArg('rounds', args.rounds, 1);
const WINDOW = intArg('window', args.window, 1);
const CONSUMERS = intArg('consumers', args.consumers, 1);
const CONCURRENCY = intArg('concurrency', args.concurrency, 1);
const PRODUCER = args.producer;
if (PRODUCER !== 'worker' && PRODUCER !== 'inline') throw new RangeError(`--producer must be worker or inline, got ${PRODUCER}`);
const UPLOAD_RATIO = Number(args['upload-ratio']);
if (!(UPLOAD_RATIO >= 0 && UPLOAD_RATIO <= 1)) throw new RangeError(`--upload-ratio must be within 0..1, got ${args['upload-ratio']}`);

const TENANT = 'bench';
const REPO = 'benchrepo';
/** The in-process (no NATS) ceilings need fewer records to be steady. */
const IN_PROCESS_FILES = Math.min(FILES, 500_000);
/** A phase slower than 5,000 records/s is taken for a hang. */
const PHASE_TIMEOUT_MS = Math.max(120_000, FILES / 5);

// ---------------------------------------------------------------- CPU accounting

const CLK_TCK = 100; // Linux USER_HZ

/** PID of the fixture's nats-server, found by its config path (the fixture does not expose it). */
function natsPid(server: NatsFixture): number | undefined {
  const conf = join(dirname(server.storeDir), 'nats-server.conf');
  try {
    for (const d of readdirSync('/proc')) {
      if (!/^\d+$/.test(d)) continue;
      try {
        if (readFileSync(`/proc/${d}/cmdline`, 'utf8').includes(conf)) return Number(d);
      } catch {
        // Gone meanwhile.
      }
    }
  } catch {
    // No /proc.
  }
  return undefined;
}

function procCpuS(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / CLK_TCK; // utime + stime
  } catch {
    return NaN;
  }
}

interface Cpu {
  /** CPU seconds of the main thread (the uploaders; the scanner too with --producer inline) and of nats-server. */
  mainCpuS: number;
  natsCpuS: number;
}

function cpuMeter(pid: number | undefined): () => Cpu {
  const n0 = process.threadCpuUsage();
  const s0 = procCpuS(pid);
  return () => {
    const n = process.threadCpuUsage(n0);
    return { mainCpuS: (n.user + n.system) / 1e6, natsCpuS: procCpuS(pid) - s0 };
  };
}

// ---------------------------------------------------------------- scanner (producer)

interface Producer {
  run(o: ProduceOptions): Promise<Produced>;
  close(): Promise<void>;
}

async function inlineProducer(nc: NatsConnection): Promise<Producer> {
  const publisher = createPublisher(jetstream(nc));
  return { run: (o) => produce(publisher, o), close: async () => undefined };
}

async function workerProducer(url: string): Promise<Producer> {
  const worker = new Worker(new URL('./lib/producer-worker.ts', import.meta.url), { workerData: { url } });
  let pending: { resolve: (p: Produced) => void; reject: (e: unknown) => void } | undefined;
  const ready = new Promise<void>((resolve, reject) => {
    worker.once('error', reject);
    worker.on('message', (m: 'ready' | ProducerReply) => {
      if (m === 'ready') return resolve();
      const p = pending;
      pending = undefined;
      if ('ok' in m) p?.resolve(m.ok);
      else p?.reject(new Error(`producer worker: ${m.error}`));
    });
  });
  worker.on('error', (err) => pending?.reject(err));
  await ready;
  return {
    run(o) {
      if (pending !== undefined) throw new Error('one producer run at a time');
      return new Promise<Produced>((resolve, reject) => {
        pending = { resolve, reject };
        worker.postMessage(o);
      });
    },
    async close() {
      const exited = new Promise((res) => worker.once('exit', res));
      worker.postMessage('close');
      await Promise.race([exited, new Promise((res) => setTimeout(res, 5000).unref())]);
      await worker.terminate();
    },
  };
}

// ---------------------------------------------------------------- uploaders (consumers)

interface Sink {
  readonly expectRecords: number;
  records: number;
  batches: number;
  readonly all: Promise<void>;
  readonly done: () => void;
}

function newSink(expectRecords: number): Sink {
  let done!: () => void;
  const all = new Promise<void>((res) => (done = res));
  return { expectRecords, records: 0, batches: 0, all, done };
}

class Uploaders {
  readonly #hosts: ActorHost[] = [];
  readonly #conns: NatsConnection[];
  readonly #sink: Sink;

  private constructor(conns: NatsConnection[], sink: Sink) {
    this.#conns = conns;
    this.#sink = sink;
  }

  /** `count` hosts on the uploader durable, each on its own connection; they start handling at once. */
  static async start(url: string, count: number, concurrency: number, sink: Sink): Promise<Uploaders> {
    const conns = await Promise.all(Array.from({ length: count }, () => connect({ servers: url })));
    const u = new Uploaders(conns, sink);
    const logger = pino({ level: 'warn' });
    for (const nc of conns) {
      u.#hosts.push(
        await runActor({
          nc,
          logger,
          actor: 'uploader',
          stream: Streams.Work,
          durable: Durables.Uploader,
          accepts: ['work.upload'],
          concurrency,
          graceMs: 5000,
          pullExpiresMs: 2000,
          handler: async (_ctx, msg) => {
            const v = msg.value;
            const events = decodeEvents(v.events, `batch ${v.seq} of job ${v.jobId}`);
            let files = 0;
            for (const e of events) if (e.t === 'f') files++;
            sink.records += files;
            sink.batches++;
            if (sink.records >= sink.expectRecords) sink.done();
          },
        }),
      );
    }
    return u;
  }

  #acked(): number {
    return this.#hosts.reduce((n, h) => n + h.stats().acked, 0);
  }

  #problems(): number {
    return this.#hosts.reduce((n, h) => n + h.stats().naked + h.stats().deadLettered, 0);
  }

  /**
   * Resolves (with the wall clock) once the handlers have seen every record,
   * the hosts have acked every batch, and the acks have reached the server
   * (a flush round trip on every connection).
   */
  async settled(): Promise<number> {
    const sink = this.#sink;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, rej) => {
      timer = setTimeout(() => rej(new Error(`uploaders saw ${sink.records}/${sink.expectRecords} records after ${PHASE_TIMEOUT_MS} ms`)), PHASE_TIMEOUT_MS);
    });
    try {
      await Promise.race([sink.all, timeout]);
      while (this.#acked() < sink.batches) await new Promise((res) => setImmediate(res));
      await Promise.all(this.#conns.map((c) => c.flush()));
    } finally {
      clearTimeout(timer);
    }
    const at = wallClock();
    if (this.#problems() > 0) throw new Error(`uploaders nak'ed or dead-lettered ${this.#problems()} messages`);
    return at;
  }

  async close(): Promise<void> {
    await Promise.all(this.#hosts.map((h) => h.close()));
    await Promise.all(this.#conns.map((c) => c.close()));
  }
}

async function assertDrained(jsm: JetStreamManager): Promise<void> {
  const ci = await jsm.consumers.info(Streams.Work, Durables.Uploader);
  if (ci.num_pending !== 0 || ci.num_ack_pending !== 0) throw new Error(`uploader durable not drained: ${ci.num_pending} pending, ${ci.num_ack_pending} unacked`);
}

// ---------------------------------------------------------------- one round

interface Phase extends Cpu {
  ms: number;
  records: number;
  batches: number;
  /** CPU seconds of the scanner's worker thread; NaN when the scanner did not run or ran on the main thread. */
  workerCpuS: number;
}

interface RoundResult {
  e2e: Phase;
  scannerInE2e: Phase;
  publishOnly: Phase;
  drainOnly: Phase;
  encodeOnly: Phase;
  decodeOnly: Phase;
  eventBytesPerRecord: number;
  bodyBytesPerRecord: number;
  storedBytesPerRecord: number;
}

async function round(r: number, server: NatsFixture, producer: Producer, jsm: JetStreamManager, pid: number | undefined): Promise<RoundResult> {
  const stamp = `${Date.now().toString(36)}r${r}`;
  const job = (jobId: string): ProduceOptions => ({ tenant: TENANT, repoId: REPO, jobId, files: FILES, uploadRatio: UPLOAD_RATIO, seed: r + 1, window: WINDOW });

  // End to end: the uploaders are already pulling when the scanner starts.
  let sink = newSink(FILES);
  let uploaders = await Uploaders.start(server.url, CONSUMERS, CONCURRENCY, sink);
  let cpu = cpuMeter(pid);
  const settled = uploaders.settled();
  settled.catch(() => undefined); // awaited below; a failed producer run must not leave it unhandled
  const produced = await producer.run(job(`e2e-${stamp}`));
  const lastAckAt = await settled;
  const e2eCpu = cpu();
  await uploaders.close();
  await assertDrained(jsm);
  const workerCpu = (p: Produced): number => (PRODUCER === 'worker' ? p.threadCpuS : NaN);
  const e2e: Phase = { ms: lastAckAt - produced.firstPublishAt, records: sink.records, batches: sink.batches, ...e2eCpu, workerCpuS: workerCpu(produced) };
  const scannerInE2e: Phase = { ms: produced.lastAckAt - produced.firstPublishAt, records: produced.records, batches: produced.batches, ...e2eCpu, workerCpuS: workerCpu(produced) };

  // Publish only: nobody consumes; the stream keeps the batches.
  const storedBefore = (await jsm.streams.info(Streams.Work)).state.bytes;
  cpu = cpuMeter(pid);
  const backlog = await producer.run(job(`pub-${stamp}`));
  const publishOnly: Phase = { ms: backlog.lastAckAt - backlog.firstPublishAt, records: backlog.records, batches: backlog.batches, ...cpu(), workerCpuS: workerCpu(backlog) };
  const stored = (await jsm.streams.info(Streams.Work)).state.bytes - storedBefore;

  // Drain only: uploaders start on that backlog.
  cpu = cpuMeter(pid);
  const t0 = wallClock();
  sink = newSink(FILES);
  uploaders = await Uploaders.start(server.url, CONSUMERS, CONCURRENCY, sink);
  const drainedAt = await uploaders.settled();
  const drainOnly: Phase = { ms: drainedAt - t0, records: sink.records, batches: sink.batches, ...cpu(), workerCpuS: NaN };
  await uploaders.close();
  await assertDrained(jsm);

  // In process, no NATS: the scanner's CPU work (generate, batchEvents, encode), then the uploader's decodeEvents.
  const sample: Uint8Array[] = [];
  cpu = cpuMeter(pid);
  let t = performance.now();
  let encRecords = 0;
  let encBatches = 0;
  let bodyBytes = 0;
  for await (const b of batchEvents(scanItems(IN_PROCESS_FILES, UPLOAD_RATIO, r + 1), { firstSeq: 0, startPos: [] })) {
    const { data } = encode('work.upload', { jobId: `enc-${stamp}`, tenant: TENANT, repoId: REPO, seq: b.seq, startPos: [...b.startPos], endPos: [...b.endPos], events: b.events });
    if (sample.length < 256) sample.push(b.events);
    encRecords += b.files;
    encBatches++;
    bodyBytes += data.length;
  }
  const encodeOnly: Phase = { ms: performance.now() - t, records: encRecords, batches: encBatches, ...cpu(), workerCpuS: NaN };
  cpu = cpuMeter(pid);
  t = performance.now();
  let decRecords = 0;
  let decBatches = 0;
  while (decRecords < IN_PROCESS_FILES) {
    decRecords += decodeEvents(sample[decBatches % sample.length]!, 'bench').length;
    decBatches++;
  }
  const decodeOnly: Phase = { ms: performance.now() - t, records: decRecords, batches: decBatches, ...cpu(), workerCpuS: NaN };

  return {
    e2e,
    scannerInE2e,
    publishOnly,
    drainOnly,
    encodeOnly,
    decodeOnly,
    eventBytesPerRecord: produced.eventBytes / produced.records,
    bodyBytesPerRecord: bodyBytes / encRecords,
    storedBytesPerRecord: stored / backlog.records,
  };
}

// ---------------------------------------------------------------- report

const perS = (p: Phase): number => p.records / (p.ms / 1000);

interface Row {
  readonly what: string;
  readonly phases: readonly Phase[];
}

function table(rows: readonly Row[]): string[] {
  const out = [
    `| Phase | file records/s | batches/s | records/batch | time | CPU: main thread (uploaders${PRODUCER === 'inline' ? ' + scanner' : ''}) / scanner thread / nats-server |`,
    '|---|---:|---:|---:|---:|---:|',
  ];
  for (const row of rows) {
    const ps = row.phases;
    const pct = (f: (p: Phase) => number): string => {
      const v = median(ps.map((p) => (100 * f(p)) / (p.ms / 1000)));
      return Number.isNaN(v) || v < 0.5 ? '–' : `${fmt(v)}%`;
    };
    const cpu = `${pct((p) => p.mainCpuS)} / ${pct((p) => p.workerCpuS)} / ${pct((p) => p.natsCpuS)}`;
    out.push(
      `| ${row.what} | **${fmt(median(ps.map(perS)))}** | ${fmt(median(ps.map((p) => p.batches / (p.ms / 1000))))} | ` +
        `${fmt(median(ps.map((p) => p.records / p.batches)))} | ${fmt(median(ps.map((p) => p.ms)) / 1000, 2)} s | ${cpu} |`,
    );
  }
  return out;
}

// ---------------------------------------------------------------- main

const m = machine();
const command = ['node bench/nats-records.bench.ts', ...argv].join(' ');
const where = PRODUCER === 'worker' ? 'scanner on a worker thread with its own connection' : "scanner on the uploaders' thread";
console.log(`${command}`);
console.log(`${fmt(FILES)} file records a phase x ${ROUNDS} rounds; window ${WINDOW}; ${CONSUMERS} uploader hosts x ${CONCURRENCY} lanes; ${where}; upload ratio ${UPLOAD_RATIO}`);
console.log(`machine: ${m.nproc} CPUs (${m.cpu}), ${fmt(m.memGiB, 1)} GiB, load ${fmt(m.load, 2)}; node ${m.node}; nats-server ${m.nats}`);

const server = await startNats();
const nc = await connect({ servers: server.url });
const results: RoundResult[] = [];
let producer: Producer | undefined;
try {
  await ensureResources(nc);
  const jsm = await jetstreamManager(nc);
  const pid = natsPid(server);
  producer = PRODUCER === 'worker' ? await workerProducer(server.url) : await inlineProducer(nc);
  for (let r = 0; r < ROUNDS; r++) {
    const res = await round(r, server, producer, jsm, pid);
    results.push(res);
    console.log(
      `round ${r + 1}/${ROUNDS}: end to end ${fmt(perS(res.e2e))}/s; publish only ${fmt(perS(res.publishOnly))}/s; drain only ${fmt(perS(res.drainOnly))}/s; ` +
        `in process: generate+batch+encode ${fmt(perS(res.encodeOnly))}/s, decode ${fmt(perS(res.decodeOnly))}/s`,
    );
  }
} finally {
  await producer?.close().catch(() => undefined);
  await nc.close().catch(() => undefined);
  await server.stop();
}

const rows: Row[] = [
  { what: 'End to end: first publish → last ack', phases: results.map((r) => r.e2e) },
  { what: 'Scanner during end to end: first publish → last PubAck', phases: results.map((r) => r.scannerInE2e) },
  { what: 'Publish only (no uploaders)', phases: results.map((r) => r.publishOnly) },
  { what: 'Drain only (uploaders on a backlog)', phases: results.map((r) => r.drainOnly) },
  { what: 'In process, no NATS: generate + batchEvents + encode', phases: results.map((r) => r.encodeOnly) },
  { what: 'In process, no NATS: decodeEvents', phases: results.map((r) => r.decodeOnly) },
];
const lines = table(rows);
const eventBytes = median(results.map((r) => r.eventBytesPerRecord));
const bodyBytes = median(results.map((r) => r.bodyBytesPerRecord));
const storedBytes = median(results.map((r) => r.storedBytesPerRecord));
const e2eRate = median(results.map((r) => perS(r.e2e)));
const bytesLine = `Bytes per file record on the wire: ${fmt(eventBytes, 1)} of encoded scan events, ${fmt(bodyBytes, 1)} of \`work.upload\` body, ${fmt(storedBytes, 1)} stored in FERRY_WORK (subject, headers and Nats-Msg-Id included).`;
const verdict = `Median end to end: ${fmt(e2eRate)} file records/s (target 200,000/s: ${e2eRate >= 200_000 ? 'met' : 'not met'}).`;

console.log('');
for (const l of lines) console.log(l);
console.log('');
console.log(bytesLine);
console.log(verdict);

if (!args['no-write']) {
  const body = [
    'How many file records (`f` scan events) per second go from the scanner to',
    'the uploaders through JetStream on the real wire path. Scanner side:',
    '`batchEvents` cuts synthetic events into batches (`DEFAULT_BATCH_LIMITS`,',
    `${fmt(DEFAULT_BATCH_LIMITS.maxFiles)} files to read, ${fmt(DEFAULT_BATCH_LIMITS.maxUploadBytes / 2 ** 20)} MiB of content), the actor runtime's publisher encodes each as a \`work.upload\``,
    'message (`protocol/codec.ts`, headers, `Nats-Msg-Id`) and publishes it on',
    `FERRY_WORK awaiting its PubAck, ${WINDOW} in flight at most; ${where}.`,
    `Uploader side: ${CONSUMERS} actor hosts (\`runActor\`, ${CONCURRENCY} lanes, one connection each) on`,
    'the `uploader` durable decode and validate each message, run',
    '`decodeEvents`, count the records and ack. Records are realistic TreeNodes',
    '(15-byte names, sizes, ns times, inode, device); half carry an absolute',
    '`path` to upload, half one content ID and hash (unchanged files). Reading',
    'files, chunking, packs and KV fragments are not part of this figure.',
    '',
    ...machineLines(m, os.loadavg()[0] ?? NaN),
    '- nats-server: private, from `test/nats-fixture.ts` (file storage, 1 replica, loopback)',
    `- Date: ${new Date().toISOString().slice(0, 10)}`,
    `- Command: \`${command}\` (${fmt(FILES)} records a phase, median of ${ROUNDS} rounds)`,
    '',
    ...lines,
    '',
    bytesLine,
    '',
    'The in-process rows are each side\'s CPU ceiling without NATS (on at most',
    '500,000 records): when end to end sits near the scanner\'s ceiling, the',
    'scanner\'s batching and encoding is what limits the flow, not JetStream or',
    'the uploaders. The machine may be shared (see the load average above), so',
    'compare figures from runs at similar load.',
    '',
    `**${verdict}**`,
  ].join('\n');
  writeSection('## File records through NATS', body);
  console.log('wrote docs/BENCHMARKS.md, section "File records through NATS"');
}
