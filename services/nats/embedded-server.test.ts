import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { AckPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { EmbeddedNats, embeddedPaths, findRunningEmbedded, type EmbeddedRecord } from './embedded-server.ts';
import { NatsErrorCode } from './errors.ts';
import { DEBIAN_NATS_SERVER, findNatsServer } from './server-process.ts';

const ROOT = resolve(import.meta.dirname, '..', '..');
const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function stateDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'ferry-embedded-'));
  dirs.push(d);
  return d;
}

function captureLog(): { log: pino.Logger; entries: Record<string, unknown>[] } {
  const entries: Record<string, unknown>[] = [];
  const log = pino({ level: 'debug' }, { write: (s: string) => void entries.push(JSON.parse(s) as Record<string, unknown>) });
  return { log, entries };
}

/** Alive and not a zombie (an orphan's zombie may linger if PID 1 does not reap). */
function isAlive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

async function waitDead(pid: number, ms = 10_000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (isAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  return !isAlive(pid);
}

describe('EmbeddedNats', () => {
  it('starts with JetStream, records itself, refuses a second server, and keeps data across runs', async () => {
    const dir = await stateDir();
    const { log, entries } = captureLog();
    const e = await EmbeddedNats.start({ stateDir: dir, log });
    expect(e.url).toBe(`nats://127.0.0.1:${e.port}`);
    expect(e.dir).toBe(join(dir, 'nats'));
    expect(statSync(e.dir).mode & 0o777).toBe(0o700);
    expect(statSync(embeddedPaths(dir).config).mode & 0o777).toBe(0o600);
    const record = JSON.parse(readFileSync(embeddedPaths(dir).record, 'utf8')) as EmbeddedRecord;
    expect(record).toMatchObject({ url: e.url, pid: e.pid });
    expect(await findRunningEmbedded(dir)).toBe(e.url);
    expect(entries.some((l) => l.level === 20 && l.component === 'nats-server' && String(l.msg).includes('Server is ready'))).toBe(true);

    await expect(EmbeddedNats.start({ stateDir: dir, log })).rejects.toMatchObject({ code: NatsErrorCode.EmbeddedRunning, details: { url: e.url } });

    const nc = await connect({ servers: e.url });
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: 'EMBEDDED', subjects: ['embedded.>'] });
    await jetstream(nc).publish('embedded.a', 'kept');
    await nc.close();

    await e.close();
    await e.close();
    expect(isAlive(e.pid)).toBe(false);
    expect(existsSync(embeddedPaths(dir).record)).toBe(false);
    expect(await findRunningEmbedded(dir)).toBeUndefined();
    expect(existsSync(join(dir, 'nats', 'jetstream'))).toBe(true);

    const again = await EmbeddedNats.start({ stateDir: dir, log });
    try {
      const nc2 = await connect({ servers: again.url });
      const m = await (await jetstreamManager(nc2)).streams.getMessage('EMBEDDED', { seq: 1 });
      expect(m?.string()).toBe('kept');
      await nc2.close();
    } finally {
      await again.close();
    }
  });

  it('stops in the background, and the next start waits for that server to exit', async () => {
    const dir = await stateDir();
    const log = pino({ level: 'silent' });
    const e = await EmbeddedNats.start({ stateDir: dir, log });
    // A pending pull request makes nats-server pause ~55 ms before it shuts down: the case this is for.
    const nc = await connect({ servers: e.url });
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: 'BG', subjects: ['bg.>'] });
    await jsm.consumers.add('BG', { durable_name: 'lane', ack_policy: AckPolicy.Explicit });
    await jetstream(nc).publish('bg.a', 'kept');
    const pull = await (await jetstream(nc).consumers.get('BG', 'lane')).fetch({ max_messages: 2, expires: 10_000 });
    void (async () => { for await (const m of pull) m.ack(); })().catch(() => {});
    await new Promise((r) => setTimeout(r, 100));
    await nc.close();

    await e.stopInBackground();
    await e.stopInBackground();
    expect(isAlive(e.pid)).toBe(true); // still shutting down on its own
    expect(existsSync(embeddedPaths(dir).record)).toBe(false);
    expect(existsSync(embeddedPaths(dir).stopping)).toBe(true);
    expect(await findRunningEmbedded(dir)).toBeUndefined();

    const again = await EmbeddedNats.start({ stateDir: dir, log });
    try {
      expect(isAlive(e.pid)).toBe(false);
      expect(existsSync(embeddedPaths(dir).stopping)).toBe(false);
      expect(readFileSync(embeddedPaths(dir).log, 'utf8')).not.toContain(`[${e.pid}]`); // this run's log only
      const nc2 = await connect({ servers: again.url });
      expect((await (await jetstreamManager(nc2)).streams.getMessage('BG', { seq: 1 }))?.string()).toBe('kept');
      await nc2.close();
    } finally {
      await again.close();
    }
  });

  it('refuses to start beside a server that does not finish stopping, and ignores a reused pid', async () => {
    const dir = await stateDir();
    const log = pino({ level: 'silent' });
    mkdirSync(join(dir, 'nats'), { recursive: true, mode: 0o700 });
    // A live process whose command line says nats-server, standing in for one that hangs while stopping.
    const hung = spawn('bash', ['-c', 'exec -a nats-server-stuck sleep 30'], { stdio: 'ignore' });
    try {
      await new Promise((r) => setTimeout(r, 100));
      writeFileSync(embeddedPaths(dir).stopping, JSON.stringify({ pid: hung.pid }));
      await expect(EmbeddedNats.start({ stateDir: dir, log, startTimeoutMs: 300 })).rejects.toMatchObject({
        code: NatsErrorCode.StartFailed, message: expect.stringContaining(`pid ${hung.pid}`),
      });
    } finally {
      hung.kill('SIGKILL');
    }
    // Our own pid is alive but no nats-server: it is not waited for.
    writeFileSync(embeddedPaths(dir).stopping, JSON.stringify({ pid: process.pid }));
    const e = await EmbeddedNats.start({ stateDir: dir, log, startTimeoutMs: 5000 });
    await e.close();
  });

  it('ignores a stale record whose pid is gone', async () => {
    const dir = await stateDir();
    const e = await EmbeddedNats.start({ stateDir: dir, log: pino({ level: 'silent' }) });
    const record = readFileSync(embeddedPaths(dir).record, 'utf8');
    await e.close();
    mkdirSync(join(dir, 'nats'), { recursive: true });
    writeFileSync(embeddedPaths(dir).record, record);
    expect(await findRunningEmbedded(dir)).toBeUndefined();
    expect(await findRunningEmbedded(join(dir, 'nowhere'))).toBeUndefined();
  });

  it('reports a missing nats-server as nats.no-server', async () => {
    expect(findNatsServer({ pathEnv: '/nonexistent', fallbacks: [] })).toBeUndefined();
    expect(findNatsServer({ pathEnv: '/nonexistent', fallbacks: [DEBIAN_NATS_SERVER] })).toBe(DEBIAN_NATS_SERVER);
    const err = await EmbeddedNats.start({ stateDir: await stateDir(), log: pino({ level: 'silent' }), binary: '/nonexistent/nats-server' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: NatsErrorCode.NoServer, retryable: false });
    expect((err as Error).message).toMatch(/deploy\/setup\.sh/);
  });
});

/** Runs a Ferry-like process that starts an embedded server; returns its server pid and how it ended. */
async function runChild(dir: string, mode: 'natural' | 'signal' | 'handler'): Promise<{ serverPid: number; code: number | null; signal: string | null; out: string }> {
  const script = `
    import { pino } from 'pino';
    import { EmbeddedNats } from ${JSON.stringify(join(ROOT, 'services/nats/embedded-server.ts'))};
    const mode = ${JSON.stringify(mode)};
    const e = await EmbeddedNats.start({ stateDir: ${JSON.stringify(dir)}, log: pino({ level: 'silent' }), signalGraceMs: 20000 });
    if (mode === 'handler') process.on('SIGTERM', () => { void e.close().then(() => { console.log('closed'); process.exit(0); }); });
    if (mode !== 'natural') setInterval(() => {}, 1000);
    console.log('pid ' + e.pid);
  `;
  const child = spawn(process.execPath, ['--input-type=module', '--no-warnings', '-e', script], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  const serverPid = await new Promise<number>((resolvePid, reject) => {
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
      const m = /pid (\d+)/.exec(out);
      if (m?.[1] !== undefined) resolvePid(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`child exited early (${code}): ${out}`)));
  });
  if (mode !== 'natural') child.kill('SIGTERM');
  const [code, signal] = await new Promise<[number | null, string | null]>((r) => {
    if (child.exitCode !== null || child.signalCode !== null) r([child.exitCode, child.signalCode]);
    else child.once('exit', (c, s) => r([c, s]));
  });
  return { serverPid, code, signal, out };
}

describe('EmbeddedNats lifecycle with the Ferry process', () => {
  it('stops the server when the process ends on its own (and does not keep it alive)', async () => {
    const r = await runChild(await stateDir(), 'natural');
    expect(r.code).toBe(0);
    expect(await waitDead(r.serverPid)).toBe(true);
  });

  it('forwards SIGTERM when the process has no handler, and still dies by the signal', async () => {
    const r = await runChild(await stateDir(), 'signal');
    expect(r.signal).toBe('SIGTERM');
    expect(await waitDead(r.serverPid)).toBe(true);
  });

  it("lets the caller's own SIGTERM handler run and close() the server", async () => {
    const dir = await stateDir();
    const r = await runChild(dir, 'handler');
    expect(r.code).toBe(0);
    expect(r.out).toContain('closed');
    expect(await waitDead(r.serverPid)).toBe(true);
    expect(existsSync(embeddedPaths(dir).record)).toBe(false);
  });
});
