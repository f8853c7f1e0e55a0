/**
 * The shipped NATS configs in deploy/nats: the cluster node files parse, and
 * accounts.conf confines an edge agent to its own tenant's subjects.
 */
import { spawnSync } from 'node:child_process';
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePorts } from './server-config.ts';
import { findNatsServer, ServerProcess } from './server-process.ts';

const DEPLOY = resolve(import.meta.dirname, '..', '..', 'deploy', 'nats');
const BINARY = findNatsServer() ?? 'nats-server';
const ENV = { ...process.env, NATS_SYS_PASSWORD: 'sys-pw', FERRY_NATS_PASSWORD: 'ferry-pw', EDGE_ACME_PASSWORD: 'acme-pw' };

describe('deploy/nats cluster configs', () => {
  it.each([1, 2, 3])('cluster-node%i.conf is valid', (i) => {
    const r = spawnSync(BINARY, ['-t', '-c', join(DEPLOY, `cluster-node${i}.conf`)], { env: ENV, encoding: 'utf8' });
    expect(`${r.stdout}${r.stderr}`).toContain('is valid');
    expect(r.status).toBe(0);
  });

  it('refuses to start without the password variables', () => {
    const r = spawnSync(BINARY, ['-t', '-c', join(DEPLOY, 'cluster-node1.conf')], { env: { PATH: process.env.PATH }, encoding: 'utf8' });
    expect(r.status).not.toBe(0);
  });
});

describe('deploy/nats/accounts.conf', () => {
  let dir = '';
  let url = '';
  let proc: ServerProcess | undefined;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ferry-nats-accounts-'));
    const [port] = await freePorts(1);
    url = `nats://127.0.0.1:${port}`;
    const config = join(dir, 'server.conf');
    const storeDir = join(dir, 'store');
    // `include` is always relative to the including file, as on a real node.
    await copyFile(join(DEPLOY, 'accounts.conf'), join(dir, 'accounts.conf'));
    await writeFile(config, `listen: "127.0.0.1:${port}"\njetstream { store_dir: ${JSON.stringify(storeDir)} }\ninclude ./accounts.conf\n`);
    let ready = false;
    proc = await ServerProcess.spawn({ binary: BINARY, configPath: config, env: ENV, reap: { signal: 'SIGKILL', graceMs: 0 }, onLine: (l) => void (ready ||= l.includes('Server is ready')) });
    const deadline = Date.now() + 15_000;
    while (!ready) {
      if (!proc.running || Date.now() > deadline) throw new Error(`server did not start:\n${proc.tail()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  });

  afterAll(async () => {
    await proc?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("lets an edge agent publish only its tenant's subjects, with JetStream acks, and isolates inboxes", async () => {
    const svc = await connect({ servers: url, user: 'ferry', pass: 'ferry-pw' });
    const edge = await connect({ servers: url, user: 'edge-acme', pass: 'acme-pw' });
    try {
      const jsm = await jetstreamManager(svc);
      await jsm.streams.add({ name: 'EDGE_TEST', subjects: ['ferry.edge.>'] });

      const ack = await jetstream(edge).publish('ferry.edge.acme.btrfs', 'change');
      expect(ack.stream).toBe('EDGE_TEST');
      await expect(jetstream(edge).publish('ferry.edge.globex.btrfs', 'x', { timeout: 1000 })).rejects.toThrow(/Permissions Violation/);
      await expect(edge.request('$JS.API.INFO', '', { timeout: 1000 })).rejects.toThrow(/Permissions Violation/);
      await expect(edge.request('$KV.ferry.x', '', { timeout: 1000 })).rejects.toThrow(/Permissions Violation/);

      // An agent's `_INBOX.>` is its own account's: it never sees the services' replies.
      const spied: string[] = [];
      edge.subscribe('_INBOX.>', { callback: (_e, m) => void spied.push(m.subject) });
      await edge.flush();
      await jsm.getAccountInfo();
      await svc.flush();
      expect(spied).toEqual([]);

      const denied = edge.subscribe('ferry.>');
      const end = (async () => {
        for await (const _ of denied) break;
      })();
      await expect(end).rejects.toThrow(/Permissions Violation/);

      const info = await jsm.streams.info('EDGE_TEST');
      expect(info.state.messages).toBe(1);
      expect((await jsm.streams.getMessage('EDGE_TEST', { seq: 1 }))?.subject).toBe('ferry.edge.acme.btrfs');
    } finally {
      await edge.close();
      await svc.close();
    }
  });
});
