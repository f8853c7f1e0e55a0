/**
 * A real S3 server for the tests: s3rver in a process of its own (see
 * s3rver-main.ts), with one bucket, behind an HTTP proxy in the test
 * process that Ferry is pointed at. The proxy passes requests through
 * unchanged (signatures stay valid) and lets a test:
 * - see every request (method, key, query, the headers S3 semantics hang on);
 * - inject faults on a seeded fraction of requests: a 500, a 503 SlowDown,
 *   or a connection reset before anything reaches s3rver;
 * - play an archive storage class, which s3rver does not: objects written
 *   as GLACIER or DEEP_ARCHIVE answer GET with 403 InvalidObjectState until
 *   a RestoreObject for them was received and `thawAfterHeads` HEADs have
 *   seen `x-amz-restore: ongoing-request="true"`.
 * It also makes s3rver keep two promises S3 makes and s3rver 3.7.1 does
 * not: calls on one key run one at a time, so a reader never sees an
 * overwrite half done; a range read of an empty object is 416 (s3rver
 * hangs), and `bytes=0-0` returns one byte (s3rver returns the object).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { seededRandom } from '../services/storage/prng.ts';

export const S3_BUCKET = 'ferry-test';

export interface SeenRequest {
  readonly method: string;
  /** The object key (path after the bucket), URL-decoded; '' for bucket-level calls. */
  readonly key: string;
  readonly query: string;
  readonly headers: Readonly<Record<string, string | undefined>>;
  /** What the proxy did instead of passing it on, if anything. */
  readonly injected?: '500' | '503' | 'reset' | 'cold';
}

export interface S3FaultPlan {
  /** Fraction of requests in [0, 1] that fail. */
  readonly rate: number;
  readonly seed?: number;
  /** Only requests this says yes to may fail (default: all). */
  readonly only?: (r: { method: string; key: string; query: string }) => boolean;
}

export interface S3Server {
  /** The proxy's URL: what Ferry is given as its S3 endpoint. */
  readonly endpoint: string;
  /** Environment that points the AWS SDK (and Ferry) at this server. */
  readonly env: Readonly<Record<string, string>>;
  readonly requests: SeenRequest[];
  /** Starts or stops fault injection. */
  faults(plan: S3FaultPlan | undefined): void;
  /** Plays archive classes (see above); `thawAfterHeads` 0 turns it off. */
  coldStorage(thawAfterHeads: number): void;
  stop(): Promise<void>;
}

const COLD = new Set(['GLACIER', 'DEEP_ARCHIVE']);
const MAIN = resolve(import.meta.dirname, 's3rver-main.ts');

async function startS3rver(dir: string): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, ['--openssl-legacy-provider', MAIN, dir, S3_BUCKET], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((res, rej) => {
    const rl = createInterface({ input: child.stdout! });
    rl.once('line', res);
    child.once('exit', (code) => rej(new Error(`s3rver exited with ${code} before listening`)));
  });
  return { child, port: (JSON.parse(line) as { port: number }).port };
}

export async function startS3Server(): Promise<S3Server> {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-s3rver-'));
  const { child, port } = await startS3rver(dir);
  const requests: SeenRequest[] = [];
  let plan: S3FaultPlan | undefined;
  let random = seededRandom(1);
  let thawAfter = 0;
  let injectedCount = 0;
  const classOf = new Map<string, string>();
  const sizeOf = new Map<string, number>();
  const thawing = new Map<string, number>();
  const queues = new Map<string, Promise<void>>();

  /** Runs `run` once every earlier call on `key` has finished; `run` calls its argument when done. */
  const oneAtATime = (key: string, run: (done: () => void) => void) => {
    const before = queues.get(key) ?? Promise.resolve();
    let done!: () => void;
    const mine = new Promise<void>((r) => (done = r));
    const tail = before.then(() => mine);
    queues.set(key, tail);
    void before.then(() => run(done));
    void tail.then(() => {
      if (queues.get(key) === tail) queues.delete(key);
    });
  };

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const key = decodeURIComponent(url.pathname.replace(`/${S3_BUCKET}`, '').replace(/^\//, ''));
    const query = url.search.replace(/^\?/, '');
    const headers: Record<string, string | undefined> = {};
    for (const h of ['x-amz-storage-class', 'x-amz-server-side-encryption', 'range', 'content-length']) headers[h] = req.headers[h] as string | undefined;
    const seen = (injected?: SeenRequest['injected']) => requests.push({ method: req.method ?? '', key, query, headers, ...(injected ? { injected } : {}) });
    const fail = (status: number, code: string, message: string, injected: SeenRequest['injected']) => {
      seen(injected);
      req.resume();
      res.writeHead(status, { 'content-type': 'application/xml' });
      res.end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${message}</Message><Key>${key}</Key></Error>`);
    };

    if (plan && (plan.only?.({ method: req.method ?? '', key, query }) ?? true) && random() < plan.rate) {
      // The kinds take turns, so any three faults hold one of each.
      const kind = injectedCount++ % 3;
      if (kind === 0) return fail(500, 'InternalError', 'injected fault', '500');
      if (kind === 1) return fail(503, 'SlowDown', 'injected fault', '503');
      seen('reset');
      req.socket.destroy();
      return;
    }
    // Archive classes, which s3rver stores but does not enforce.
    const written = req.headers['x-amz-storage-class'] as string | undefined;
    if (key && (req.method === 'PUT' && !query.includes('partNumber') || (req.method === 'POST' && query.startsWith('uploads')))) classOf.set(key, written ?? 'STANDARD');
    const cold = thawAfter > 0 && COLD.has(classOf.get(key) ?? '');
    if (cold && req.method === 'POST' && query.startsWith('restore')) {
      seen();
      req.resume();
      if (!thawing.has(key)) thawing.set(key, thawAfter);
      res.writeHead(202);
      res.end();
      return;
    }
    const left = thawing.get(key);
    if (cold && req.method === 'GET' && left !== 0) return fail(403, 'InvalidObjectState', 'The operation is not valid for the object\'s storage class', 'cold');
    const range = req.headers.range;
    if (req.method === 'GET' && range && sizeOf.get(key) === 0) return fail(416, 'InvalidRange', 'The requested range is not satisfiable', undefined);
    if (req.method === 'PUT' && !query.includes('partNumber')) sizeOf.set(key, Number(req.headers['content-length'] ?? -1));
    if (req.method === 'DELETE' && !query.includes('uploadId')) sizeOf.delete(key);
    seen();
    const pass = (done: () => void) => {
      res.once('close', done);
      const upstream = request({ host: '127.0.0.1', port, method: req.method, path: req.url, headers: req.headers }, (up) => {
        const out = { ...up.headers };
        if (cold && req.method === 'HEAD') {
          if (left !== undefined && left > 0) thawing.set(key, left - 1);
          if (left !== undefined) out['x-amz-restore'] = left > 0 ? 'ongoing-request="true"' : 'ongoing-request="false", expiry-date="Fri, 01 Jan 2100 00:00:00 GMT"';
        }
        if (range === 'bytes=0-0' && up.statusCode === 206) {
          const total = (out['content-range'] ?? '').split('/')[1] ?? '*';
          const chunks: Buffer[] = [];
          up.on('data', (c: Buffer) => chunks.push(c));
          up.on('end', () => {
            res.writeHead(206, { ...out, 'content-range': `bytes 0-0/${total}`, 'content-length': '1' });
            res.end(Buffer.concat(chunks).subarray(0, 1));
          });
          return;
        }
        res.writeHead(up.statusCode ?? 502, out);
        up.pipe(res);
      });
      upstream.on('error', () => res.destroy());
      // A client that goes away mid-request (killed) takes its upstream request with it, as S3 drops the upload.
      res.once('close', () => {
        if (!res.writableFinished) upstream.destroy();
      });
      req.pipe(upstream);
    };
    if (key) oneAtATime(key, pass);
    else pass(() => {});
  };

  const proxy: Server = createServer(handle);
  await new Promise<void>((res) => proxy.listen(0, '127.0.0.1', res));
  const endpoint = `http://127.0.0.1:${(proxy.address() as { port: number }).port}`;
  let stopped = false;
  return {
    endpoint,
    env: { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', AWS_REGION: 'us-east-1', FERRY_S3_ENDPOINT: endpoint },
    requests,
    faults(p) {
      plan = p;
      random = seededRandom(p?.seed ?? 1);
    },
    coldStorage(n) {
      thawAfter = n;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      proxy.closeAllConnections();
      await new Promise<void>((res) => proxy.close(() => res()));
      child.kill('SIGTERM');
      await new Promise((res) => (child.exitCode !== null ? res(undefined) : child.once('exit', res)));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
