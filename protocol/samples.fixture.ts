/** One valid body per message kind, for tests of the codec and of consumers. */
import type { MessageKind, MessageOf } from './messages.ts';

export const samples: { readonly [K in MessageKind]: MessageOf<K> } = {
  'job.submit': { jobId: 'j1', tenant: 'acme', type: 'backup', repoId: 'r1', spec: { paths: ['/srv'], nested: { a: 1 } }, requestedAt: 1_700_000_000_000 },
  'job.scan-done': { jobId: 'j1', tenant: 'acme', batches: 3, files: 1000, bytes: 2 ** 40, errors: 0 },
  'job.finalized': { jobId: 'j1', tenant: 'acme', snapshotId: 'abc123', status: 'warning', summary: { files: 10 } },
  'job.failed': { jobId: 'j1', tenant: 'acme', error: { code: 'repo.corrupt', message: 'bad pack', retryable: false, details: { pack: 'p1', n: 3, ok: false, x: null } } },
  'job.cancel': { jobId: 'j1', tenant: 'acme' },
  'work.scan': { jobId: 'j1', tenant: 'acme', repoId: 'r1', source: 'local', host: 'h1', paths: ['/srv', '/etc'], tags: [] },
  'work.upload': { jobId: 'j1', tenant: 'acme', repoId: 'r1', seq: 7, startPos: ['a'], endPos: ['b', 'c'], events: new Uint8Array([0x91, 0x91, 0xa1, 0x65]) },
  'work.upload-file': { jobId: 'j1', tenant: 'acme', repoId: 'r1', events: new Uint8Array([0x91, 0x91, 0xa1, 0x65]) },
  'work.finalize': { jobId: 'j1', tenant: 'acme', repoId: 'r1', batches: 3 },
  'work.restore': { jobId: 'j1', tenant: 'acme', repoId: 'r1', snapshot: 'latest', path: ['srv', 'a.txt'], target: '/tmp/out', contentOnly: true },
  'work.verify': { jobId: 'j1', tenant: 'acme', repoId: 'r1', readData: false },
  'work.sync': { jobId: 'j1', tenant: 'acme', repoId: 'r1', to: 's3://offsite/ferry' },
  'work.retention': { jobId: 'j1', tenant: 'acme', repoId: 'r1', source: 'laptop', prune: true, graceMs: 3600000, maxUnusedPermille: 200 },
  'work.site': { jobId: 'j1', tenant: 'acme', repoId: 'r1', site: '6f1c2d3e-0000-4000-8000-000000000001', job: 'preflight' },
  event: { jobId: 'j1', tenant: 'acme', type: 'progress', at: 1_700_000_000_123, actor: 'uploader', data: { files: 5 } },
  'dead-letter': { actor: 'scanner', subject: 'ferry.work.acme.scan.j1', reason: 'bad', code: 'protocol.invalid', headers: { 'Ferry-Type': 'work.scan/1' }, payload: new Uint8Array([1, 2, 3]), at: 1 },
};
