import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { startNats } from '../../test/nats-fixture.ts';
import { connectNats, credentialsFromUrls, natsServers } from './connect.ts';
import { NatsError, NatsErrorCode, redactUrl } from './errors.ts';
import { freePorts } from './server-config.ts';
import { findNatsServer, ServerProcess } from './server-process.ts';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function captureLog(): { log: pino.Logger; msgs: () => string[] } {
  const entries: { msg: string }[] = [];
  const log = pino({ level: 'debug' }, { write: (s: string) => void entries.push(JSON.parse(s) as { msg: string }) });
  return { log, msgs: () => entries.map((e) => e.msg) };
}

async function until(cond: () => boolean, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('connectNats', () => {
  it('splits server lists', () => {
    expect(natsServers(undefined)).toEqual(['nats://127.0.0.1:4222']);
    expect(natsServers('nats://a:1, nats://b:2,')).toEqual(['nats://a:1', 'nats://b:2']);
    expect(natsServers(['nats://a:1'])).toEqual(['nats://a:1']);
    expect(credentialsFromUrls(['nats://h:1', 'nats://u%40x:p%3Aw@h:2'])).toEqual({ user: 'u@x', pass: 'p:w' });
    expect(credentialsFromUrls(['tok@h:1'])).toEqual({ token: 'tok' });
    expect(credentialsFromUrls(['nats://h:1'])).toEqual({});
    expect(redactUrl('nats://u:p@h:1')).toBe('nats://h:1');
    expect(redactUrl('u:p@h:1')).toBe('h:1');
  });

  it('connects, and logs disconnect and reconnect across a server crash', async () => {
    const s = await startNats();
    cleanups.push(() => s.stop());
    const { log, msgs } = captureLog();
    const nc = await connectNats({ url: s.url, name: 'ferry-test', log });
    cleanups.push(() => nc.close());
    expect(nc.info?.server_name).toBe(`ferry-test-${s.port}`);

    await s.kill();
    await until(() => msgs().includes('nats disconnected; reconnecting'));
    await s.restart();
    await until(() => msgs().includes('nats reconnected'));
    const sub = nc.subscribe('ping', { callback: (_e, m) => void m.respond('pong') });
    expect((await nc.request('ping', '', { timeout: 2000 })).string()).toBe('pong');
    sub.unsubscribe();
  });

  it('fails fast with a retryable nats.unreachable naming the URL, without credentials', async () => {
    const [port] = await freePorts(1);
    const started = Date.now();
    const err = await connectNats({ url: `nats://bob:hunter2@127.0.0.1:${port}`, name: 'ferry-test', log: pino({ level: 'silent' }), timeoutMs: 1000 }).catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(5000);
    expect(err).toBeInstanceOf(NatsError);
    expect(err).toMatchObject({ code: NatsErrorCode.Unreachable, retryable: true, details: { url: `nats://127.0.0.1:${port}` } });
    expect((err as Error).message).toContain(`nats://127.0.0.1:${port}`);
    expect((err as Error).message).not.toContain('hunter2');
  });

  it('reports refused credentials as nats.auth-failed', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ferry-nats-auth-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const [port] = await freePorts(1);
    const config = join(dir, 'auth.conf');
    await writeFile(config, `listen: "127.0.0.1:${port}"\nauthorization { user: ferry, password: right }\n`);
    let ready = false;
    const proc = await ServerProcess.spawn({
      binary: findNatsServer() ?? 'nats-server',
      configPath: config,
      reap: { signal: 'SIGKILL', graceMs: 0 },
      onLine: (l) => {
        if (l.includes('Server is ready')) ready = true;
      },
    });
    cleanups.push(() => proc.stop());
    await until(() => ready);
    const log = pino({ level: 'silent' });
    await expect(connectNats({ url: `nats://ferry:wrong@127.0.0.1:${port}`, name: 't', log })).rejects.toMatchObject({ code: NatsErrorCode.AuthFailed, retryable: false });
    const nc = await connectNats({ url: `nats://ferry:right@127.0.0.1:${port}`, name: 't', log });
    await nc.close();
  });
});
