/**
 * What a command works with: the compiled config, a logger, output helpers,
 * and lazily opened repository, blob workers and catalog. close() releases
 * whatever was opened and is safe to call twice.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { CliConfig } from './config.ts';
import { readPassword } from './password.ts';
import { UsageError } from './usage-error.ts';
import { openStorage } from '../services/storage/open.ts';
import { withRetry } from '../services/storage/retry.ts';
import { unlockRepository } from '../services/repo/unlock.ts';
// Types only: the modules load when first needed, the repository's while its key is being derived.
import type { Repository } from '../services/repo/repository.ts';
import type { ContentEngine } from '../services/repo/content-engine.ts';
import type { Catalog } from '../services/catalog/index.ts';
import { progressLine, type ProgressLine } from './progress.ts';

export class Session {
  readonly cfg: CliConfig;
  readonly log: Logger;
  readonly env: NodeJS.ProcessEnv;
  private repoP: Promise<Repository> | undefined;
  /** true once key derivation runs; false when opening failed before it (no repository there, unreadable config). */
  private derivingP: Promise<boolean> | undefined;
  private workers: Promise<ContentEngine> | undefined;
  private catalogs = new Map<string, Catalog>();
  private closed = false;

  constructor(cfg: CliConfig, log: Logger, env: NodeJS.ProcessEnv) {
    this.cfg = cfg;
    this.log = log;
    this.env = env;
  }

  requireRepoLocation(): string {
    if (!this.cfg.repo) throw new UsageError('no repository given: use --repo PATH or set FERRY_REPO');
    return this.cfg.repo;
  }

  /** Storage with retries. `create` makes a missing local directory (only `init` should). */
  openStorage(opts: { create?: boolean } = {}) {
    return this.openStorageAt(this.requireRepoLocation(), opts);
  }

  /** The storage at `location` (another repository's: a sync destination), with this process's S3 settings and retries. */
  async openStorageAt(location: string, opts: { create?: boolean } = {}) {
    const storage = await openStorage(location, { ...opts, s3: this.cfg.s3 });
    return withRetry(storage, {
      onRetry: ({ op, name, attempt, delayMs, error }) =>
        this.log.warn({ op, object: name, attempt, delayMs, err: (error as Error).message }, 'storage operation failed; retrying'),
    });
  }

  repo(): Promise<Repository> {
    this.repoP ??= (async () => {
      let deriving = (_started: boolean) => {};
      this.derivingP = new Promise<boolean>((resolve) => (deriving = resolve));
      try {
        const storage = await this.openStorage();
        try {
          const unlocking = unlockRepository(storage, await readPassword(this.cfg, this.env), { onDeriving: () => deriving(true) });
          const settled = unlocking.then(() => {}, () => {});
          // The repository's modules load while scrypt runs, not before: compiling them would hold up the reads it needs first.
          await Promise.race([this.derivingP, settled]);
          const [{ Repository }, { FileIndexCache }] = await Promise.all([import('../services/repo/repository.ts'), import('../services/repo/index-cache.ts')]);
          const repo = Repository.fromUnlocked(storage, await unlocking);
          repo.useIndexCache(new FileIndexCache(join(this.cfg.stateDir, 'index-cache', `${repo.config.id}.bin`)));
          return repo;
        } catch (e) {
          await storage.close();
          throw e;
        }
      } finally {
        deriving(false); // no effect once it has started
      }
    })();
    return this.repoP;
  }

  /**
   * Starts opening the repository and resolves once its key derivation is
   * under way on the thread pool (true), or once opening has failed before
   * it (false; repo() reports why). Until then the main thread's other work,
   * such as loading modules, would only delay the reads that the derivation
   * waits for.
   */
  async unlockStarted(): Promise<boolean> {
    this.repo().catch(() => {});
    return (await this.derivingP)!;
  }

  /** Chunking, sealing and placing for this repository: the native addon, or worker threads (FERRY_CONTENT_ENGINE). */
  async contentEngine(): Promise<ContentEngine> {
    const repo = await this.repo();
    const { openContentEngine } = await import('../services/repo/content-engine.ts');
    this.workers ??= openContentEngine(repo.config, repo.keys.idKey, { kind: this.cfg.contentEngine, nice: this.cfg.contentNice, log: this.log });
    return this.workers;
  }

  /** The catalog of this repository and the configured source (or another source). */
  async catalog(source = this.cfg.source): Promise<Catalog> {
    const repo = await this.repo();
    let c = this.catalogs.get(source);
    if (!c) {
      const dir = join(this.cfg.stateDir, 'catalog', repo.config.id);
      await mkdir(dir, { recursive: true, mode: 0o700 });
      const { Catalog } = await import('../services/catalog/index.ts');
      c = this.catalogs.get(source) ?? Catalog.open(join(dir, `${source}.sqlite`));
      this.catalogs.set(source, c);
    }
    return c;
  }

  progress(): ProgressLine {
    return progressLine(this.cfg.progress);
  }

  /** Prints a result: JSON when --json, else the text lines. */
  print(json: unknown, text: () => string | string[]): void {
    if (this.cfg.json) {
      process.stdout.write(JSON.stringify(json, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) + '\n');
      return;
    }
    const t = text();
    const out = Array.isArray(t) ? t.join('\n') : t;
    if (out.length > 0) process.stdout.write(out + '\n');
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await (await this.workers?.catch(() => undefined))?.close();
    for (const c of this.catalogs.values()) c.close();
    if (this.repoP) await (await this.repoP.catch(() => undefined))?.close();
  }
}
