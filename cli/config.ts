/**
 * CLI configuration compiled once from flags and environment into a
 * complete, validated object. Nothing else reads process.env.
 */
import { homedir, hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { UsageError } from './usage-error.ts';
import { contentEngineKind, type ContentEngineKind } from '../services/repo/content-engine.ts';
import { contentNiceLevels } from '../services/repo/content-nice.ts';
import { DEFAULT_STEP_POLICY, type StepPolicy } from '../services/sites/step-runner.ts';
import { parseStorageClass, type S3Settings } from '../services/storage/s3-options.ts';

export interface CliConfig {
  /** Repository location (path or URL); undefined when not given. */
  readonly repo: string | undefined;
  /** How `s3://` repositories are reached and written (--s3-endpoint, FERRY_S3_*); credentials come from the AWS environment. */
  readonly s3: S3Settings;
  /** How often a restore waiting for archived packs checks on them (FERRY_THAW_POLL_S, default 300). */
  readonly thawPollMs: number;
  readonly password: { readonly from: 'env' } | { readonly from: 'file'; readonly path: string } | { readonly from: 'prompt' } | { readonly from: 'none' };
  readonly stateDir: string;
  /** The key that seals site credentials (FERRY_SITE_KEY_FILE; default in the state directory). */
  readonly siteKeyFile: string;
  /** Where site pulls are staged (FERRY_STAGING_DIR; default `staging` in the state directory). */
  readonly stagingDir: string;
  /** Free space a site pull needs there before it starts (FERRY_STAGING_MIN_FREE_MIB, default 1024). */
  readonly stagingMinFreeBytes: number;
  /** How often a new site is backed up (FERRY_SITE_SCAN_INTERVAL_HOURS, default 24; 0: not scheduled). */
  readonly siteScanIntervalHours: number;
  /** Each target pull's time limit and tries (FERRY_SITE_STEP_TIMEOUT_S, default 3600; FERRY_SITE_STEP_ATTEMPTS, default 3). */
  readonly siteStepPolicy: StepPolicy;
  readonly host: string;
  /** The catalog's source name; IDs that appear in paths match [A-Za-z0-9_-]. */
  readonly source: string;
  /** Tenant of the jobs this process submits or serves ([A-Za-z0-9_-]); `local` for personal use. */
  readonly tenant: string;
  readonly json: boolean;
  readonly logLevel: string;
  readonly prettyLogs: boolean;
  readonly progress: boolean;
  /** Who chunks, seals and places content (FERRY_CONTENT_ENGINE): the native addon, worker threads, or the first that works. */
  readonly contentEngine: ContentEngineKind;
  /** Nice levels below the process at which the native engine's tasks run (FERRY_CONTENT_NICE, 0-19). */
  readonly contentNice: number;
}

export interface GlobalFlags {
  repo?: string | undefined;
  json?: boolean | undefined;
  verbose?: boolean | undefined;
  quiet?: boolean | undefined;
  host?: string | undefined;
  source?: string | undefined;
  tenant?: string | undefined;
  'password-file'?: string | undefined;
  's3-endpoint'?: string | undefined;
}

const ID_RE = /^[A-Za-z0-9_-]{1,128}$/;

/** A whole number (of `unit`) from the environment, or the default. */
function wholeNumber(v: string | undefined, name: string, dflt: number, unit: string): number {
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`${name} is ${JSON.stringify(v)}; use a whole number of ${unit}`);
  return n;
}

export function toSafeId(s: string): string {
  const id = s.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 128);
  return id.length > 0 ? id : 'default';
}

/** A yes/no variable: 1/true/yes or 0/false/no, or the default. */
function yesNo(v: string | undefined, name: string): boolean | undefined {
  if (v === undefined || v === '') return undefined;
  if (/^(1|true|yes)$/i.test(v)) return true;
  if (/^(0|false|no)$/i.test(v)) return false;
  throw new UsageError(`${name} is ${JSON.stringify(v)}; use 1 or 0`);
}

function s3Settings(flags: GlobalFlags, env: NodeJS.ProcessEnv): S3Settings {
  const endpoint = flags['s3-endpoint'] ?? env.FERRY_S3_ENDPOINT;
  if (endpoint !== undefined && !/^https?:\/\/[^/]+/.test(endpoint)) throw new UsageError(`the S3 endpoint ${JSON.stringify(endpoint)} must be an http:// or https:// URL`);
  const sse = env.FERRY_S3_SSE;
  if (sse !== undefined && sse !== '' && !/^(AES256|0|1)$/i.test(sse)) throw new UsageError(`FERRY_S3_SSE is ${JSON.stringify(sse)}; use AES256 (SSE-S3) or 0`);
  try {
    return {
      endpoint,
      pathStyle: yesNo(env.FERRY_S3_PATH_STYLE, 'FERRY_S3_PATH_STYLE'),
      dataClass: parseStorageClass(env.FERRY_S3_DATA_CLASS, 'FERRY_S3_DATA_CLASS'),
      metadataClass: parseStorageClass(env.FERRY_S3_METADATA_CLASS, 'FERRY_S3_METADATA_CLASS'),
      sse: sse !== undefined && /^(AES256|1)$/i.test(sse),
    };
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

export function compileConfig(flags: GlobalFlags, env: NodeJS.ProcessEnv, isTTY: boolean): CliConfig {
  const host = flags.host ?? env.FERRY_HOST ?? hostname();
  const source = flags.source ?? env.FERRY_SOURCE ?? toSafeId(host);
  if (!ID_RE.test(source)) throw new UsageError(`source ${JSON.stringify(source)} must match [A-Za-z0-9_-] (it becomes part of a path)`);
  const tenant = flags.tenant ?? env.FERRY_TENANT ?? 'local';
  if (!ID_RE.test(tenant) || tenant.length > 64) throw new UsageError(`tenant ${JSON.stringify(tenant)} must match [A-Za-z0-9_-] (at most 64 characters)`);
  const pwFile = flags['password-file'] ?? env.FERRY_PASSWORD_FILE;
  const password = env.FERRY_PASSWORD !== undefined
    ? ({ from: 'env' } as const)
    : pwFile
      ? ({ from: 'file', path: resolve(pwFile) } as const)
      : isTTY
        ? ({ from: 'prompt' } as const)
        : ({ from: 'none' } as const);
  const stateDir = resolve(env.FERRY_STATE_DIR ?? join(env.XDG_STATE_HOME ?? join(homedir(), '.local', 'state'), 'ferry'));
  const json = flags.json ?? false;
  const level = env.FERRY_LOG_LEVEL ?? (flags.verbose ? 'debug' : flags.quiet ? 'error' : 'info');
  const prettyEnv = env.FERRY_LOG_FORMAT;
  let contentEngine: ContentEngineKind;
  let contentNice: number;
  try {
    contentEngine = contentEngineKind(env.FERRY_CONTENT_ENGINE);
    contentNice = contentNiceLevels(env.FERRY_CONTENT_NICE);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  return {
    repo: flags.repo ?? env.FERRY_REPO,
    s3: s3Settings(flags, env),
    thawPollMs: Math.max(1, wholeNumber(env.FERRY_THAW_POLL_S, 'FERRY_THAW_POLL_S', 300, 'seconds')) * 1000,
    password,
    stateDir,
    siteKeyFile: resolve(env.FERRY_SITE_KEY_FILE ?? join(stateDir, 'site-secrets.key')),
    stagingDir: resolve(env.FERRY_STAGING_DIR ?? join(stateDir, 'staging')),
    stagingMinFreeBytes: wholeNumber(env.FERRY_STAGING_MIN_FREE_MIB, 'FERRY_STAGING_MIN_FREE_MIB', 1024, 'MiB') * 2 ** 20,
    siteScanIntervalHours: wholeNumber(env.FERRY_SITE_SCAN_INTERVAL_HOURS, 'FERRY_SITE_SCAN_INTERVAL_HOURS', 24, 'hours'),
    siteStepPolicy: {
      ...DEFAULT_STEP_POLICY,
      timeoutMs: Math.max(1, wholeNumber(env.FERRY_SITE_STEP_TIMEOUT_S, 'FERRY_SITE_STEP_TIMEOUT_S', DEFAULT_STEP_POLICY.timeoutMs / 1000, 'seconds')) * 1000,
      attempts: Math.max(1, wholeNumber(env.FERRY_SITE_STEP_ATTEMPTS, 'FERRY_SITE_STEP_ATTEMPTS', DEFAULT_STEP_POLICY.attempts, 'tries')),
    },
    host,
    source,
    tenant,
    json,
    logLevel: level,
    prettyLogs: prettyEnv === 'pretty' || (prettyEnv !== 'json' && process.stderr.isTTY === true),
    progress: !json && !flags.quiet && process.stderr.isTTY === true,
    contentEngine,
    contentNice,
  };
}
