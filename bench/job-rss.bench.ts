/**
 * Memory of a scanner and an uploader while a synthetic job of many files
 * runs: does RSS stay flat as the job grows?
 *
 *   node bench/job-rss.bench.ts [--files N] [--no-write]
 *
 * A private nats-server; the scanner and the uploader each run in their own
 * process (bench/lib/rss-role.ts), so each RSS is that role's own. The
 * scanner publishes N synthetic file records (the records benchmark's
 * stream: half new files, half unchanged ones with a content ID) in batches
 * through the real batcher and publisher; the uploader is a runActor host on
 * the uploader durable that decodes every batch and acks it. Each prints its
 * RSS at every million records; the table shows them side by side.
 */
import { spawn } from 'node:child_process';
import os from 'node:os';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { connect } from '@nats-io/transport-node';
import { ensureResources } from '../protocol/resources.ts';
import { startNats } from '../test/nats-fixture.ts';
import { fmt, machine, machineLines, writeSection } from './lib/report.ts';

const { values: args } = parseArgs({ options: { files: { type: 'string', default: '10000000' }, 'no-write': { type: 'boolean', default: false } } });
const FILES = Number(args.files.replaceAll('_', '').replaceAll(',', ''));
if (!Number.isSafeInteger(FILES) || FILES < 1_000_000) throw new RangeError(`--files must be an integer >= 1,000,000, got ${args.files}`);

interface Sample {
  role: 'scanner' | 'uploader';
  records?: number;
  rssMiB?: number;
  heapUsedMiB?: number;
  peakRssMiB: number;
  done?: boolean;
}

/** Runs one role and collects its JSON lines; rejects if it exits non-zero. */
function role(name: 'scanner' | 'uploader', url: string, jobId: string): Promise<Sample[]> {
  // The same V8 flags as bin/ferry, so the figures are those of a deployed process.
  const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', '--max-semi-space-size=4', new URL('./lib/rss-role.ts', import.meta.url).pathname, name, url, String(FILES), jobId], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const samples: Sample[] = [];
  createInterface({ input: child.stdout }).on('line', (line) => {
    const s = JSON.parse(line) as Sample;
    samples.push(s);
    if (s.records !== undefined) console.error(`  ${name}: ${fmt(s.records)} records, RSS ${fmt(s.rssMiB ?? NaN, 1)} MiB`);
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code, signal) => (code === 0 ? resolve(samples) : reject(new Error(`${name} exited with ${code ?? signal}`))));
  });
}

const m = machine();
const t0 = performance.now();
const server = await startNats();
let scanner: Sample[];
let uploader: Sample[];
try {
  const nc = await connect({ servers: server.url });
  await ensureResources(nc);
  await nc.close();
  const jobId = `rss-${Date.now().toString(36)}`;
  [uploader, scanner] = await Promise.all([role('uploader', server.url, jobId), role('scanner', server.url, jobId)]);
} finally {
  await server.stop();
}
const seconds = (performance.now() - t0) / 1000;

const at = (samples: Sample[], records: number): Sample | undefined => samples.find((s) => s.records === records);
const rows: string[] = ['| Records so far | Scanner RSS (MiB) | Scanner JS heap in use (MiB) | Uploader RSS (MiB) | Uploader JS heap in use (MiB) |', '|---:|---:|---:|---:|---:|'];
for (let r = 1_000_000; r <= FILES; r += 1_000_000) {
  const s = at(scanner, r);
  const u = at(uploader, r);
  rows.push(`| ${fmt(r)} | ${fmt(s?.rssMiB ?? NaN, 1)} | ${fmt(s?.heapUsedMiB ?? NaN, 1)} | ${fmt(u?.rssMiB ?? NaN, 1)} | ${fmt(u?.heapUsedMiB ?? NaN, 1)} |`);
}
const peakOf = (samples: Sample[]): number => samples.find((s) => s.done)?.peakRssMiB ?? NaN;
const growth = (samples: Sample[]): number => (at(samples, FILES)?.rssMiB ?? NaN) - (at(samples, 1_000_000)?.rssMiB ?? NaN);
const verdict =
  `Peak RSS: scanner ${fmt(peakOf(scanner), 1)} MiB, uploader ${fmt(peakOf(uploader), 1)} MiB. ` +
  `From 1M to ${fmt(FILES / 1e6)}M records: scanner ${growth(scanner) >= 0 ? '+' : ''}${fmt(growth(scanner), 1)} MiB, uploader ${growth(uploader) >= 0 ? '+' : ''}${fmt(growth(uploader), 1)} MiB.`;
console.log(rows.join('\n'));
console.log(verdict);

if (!args['no-write']) {
  writeSection('## Memory of a 10-million-file job', [
    `A synthetic job of ${fmt(FILES)} file records runs through a private`,
    'nats-server with the scanner and the uploader each in its own process',
    '(`bench/lib/rss-role.ts`), so each RSS below is that role alone. The',
    "scanner is the records benchmark's loop (synthetic walk, `batchEvents`,",
    'the runtime publisher on FERRY_WORK, 64 PubAcks in flight); the uploader',
    'is a `runActor` host on the uploader durable that decodes every batch',
    "and acks it. Neither reads files: this measures each role's per-file",
    'state, which is what would grow with the size of a share. Both run with',
    "bin/ferry's V8 flags (4 MiB semi-spaces).",
    '',
    ...machineLines(m, os.loadavg()[0] ?? NaN),
    `- Date: ${new Date().toISOString().slice(0, 10)}; the run took ${fmt(seconds)} s`,
    `- Command: \`node bench/job-rss.bench.ts --files ${FILES}\``,
    '',
    ...rows,
    '',
    `**${verdict}**`,
  ].join('\n'));
}
