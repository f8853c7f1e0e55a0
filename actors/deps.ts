/**
 * What the actors of one process share: the repository they serve (opened
 * with the key this process was given; a write-only key suffices for
 * scanners, uploaders and finalizers), the content engine (native addon or worker threads), and the
 * root logger.
 */
import type { Logger } from 'pino';
import type { Repository } from '../services/repo/repository.ts';
import type { ContentEngine } from '../services/repo/content-engine.ts';
import type { Storage } from '../services/storage/storage.ts';
import { FerryError } from '../protocol/errors.ts';

export interface ActorDeps {
  readonly repo: Repository;
  readonly workers: ContentEngine;
  readonly logger: Logger;
  /** Opens another repository's storage (a sync destination) with this process's S3 settings and retries, creating a local directory. */
  readonly openStorage?: ((url: string) => Promise<Storage>) | undefined;
}

/** Jobs name the repository they belong to; a process serves one. */
export function checkRepo(deps: ActorDeps, repoId: string): void {
  if (repoId !== deps.repo.config.id) {
    throw new FerryError('actor.wrong-repo', `job is for repository ${repoId}, this process serves ${deps.repo.config.id}`, { details: { repoId } });
  }
}

export const fragmentKey = (tenant: string, jobId: string, seq: number): string => `${tenant}.${jobId}.${seq}`;
/** The fragment of a file sent ahead, by its key (files-ahead.ts aheadKey). */
export const fileFragmentKey = (tenant: string, jobId: string, key: string): string => `${tenant}.${jobId}.file-${key}`;
export const checkpointKey = (tenant: string, jobId: string, step: string): string => `${tenant}.${jobId}.${step}`;
