/**
 * Where an S3 repository lives and how its objects are written: what
 * `s3://bucket/prefix` and the S3 settings (flags and FERRY_S3_* variables,
 * compiled in cli/config.ts) say. Credentials and the region are not here:
 * the AWS SDK takes them from the standard AWS environment and config
 * files (AWS_ACCESS_KEY_ID, AWS_PROFILE, AWS_REGION, ~/.aws/…).
 */
import { FerryError } from '../../protocol/errors.ts';

/** Storage classes S3 and its compatible services name; checked before any request is made. */
export const S3StorageClasses = [
  'STANDARD', 'REDUCED_REDUNDANCY', 'STANDARD_IA', 'ONEZONE_IA', 'INTELLIGENT_TIERING', 'GLACIER', 'GLACIER_IR', 'DEEP_ARCHIVE', 'EXPRESS_ONEZONE', 'OUTPOSTS', 'SNOW',
] as const;
export type S3StorageClass = (typeof S3StorageClasses)[number];

/** Classes whose objects must be restored before they can be read. */
export const COLD_CLASSES: ReadonlySet<string> = new Set(['GLACIER', 'DEEP_ARCHIVE']);

export interface S3Settings {
  /** An S3-compatible service's endpoint (`https://s3.example:9000`); absent: AWS itself. */
  readonly endpoint?: string | undefined;
  /** Bucket in the URL's path instead of its host name; the default with an endpoint, as such services expect. */
  readonly pathStyle?: boolean | undefined;
  /** Storage class of data packs (`data/…`); absent: the bucket's default. */
  readonly dataClass?: S3StorageClass | undefined;
  /** Storage class of everything else (config, keys, index, snapshots, tree packs). */
  readonly metadataClass?: S3StorageClass | undefined;
  /** Ask for server-side encryption with S3-managed keys (SSE-S3, `AES256`) on every write. */
  readonly sse?: boolean | undefined;
  /** Objects larger than this go up in parts (default 32 MiB). */
  readonly multipartThreshold?: number | undefined;
  /** Size of each part of a multipart upload (default 16 MiB; S3's minimum is 5 MiB). */
  readonly partSize?: number | undefined;
}

export interface S3Location {
  readonly bucket: string;
  /** The key prefix of the repository's objects: empty, or ending in `/`. */
  readonly prefix: string;
}

const bad = (message: string) => new FerryError('storage.unsupported-url', message);

/** `s3://bucket/some/prefix` → bucket and prefix. Never echoes anything but the URL's shape. */
export function parseS3Url(url: string): S3Location {
  const m = /^s3:\/\/([^/?#]+)(\/[^?#]*)?$/i.exec(url);
  if (!m) throw bad('Cannot open the repository: an S3 repository is s3://bucket or s3://bucket/prefix.');
  const bucket = m[1]!;
  // Never echoed: whatever sits before an @ is a secret someone put in the wrong place.
  if (/[@:]/.test(bucket)) throw bad('Cannot open the repository: an S3 URL carries no credentials (s3://bucket/prefix); give them in the AWS environment (AWS_ACCESS_KEY_ID, AWS_PROFILE, ...).');
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) throw bad(`Cannot open the repository: "${bucket}" is not a valid S3 bucket name (3-63 lower-case letters, digits, dots and hyphens).`);
  const path = (m[2] ?? '').replace(/^\/+|\/+$/g, '');
  if (path.split('/').some((p) => p === '.' || p === '..' || (p === '' && path !== ''))) throw bad('Cannot open the repository: the S3 prefix must not hold empty, "." or ".." segments.');
  return { bucket, prefix: path === '' ? '' : `${path}/` };
}

/** A storage class name from a flag or variable, or a usage-grade error naming the choices. */
export function parseStorageClass(value: string | undefined, what: string): S3StorageClass | undefined {
  if (value === undefined || value === '') return undefined;
  const v = value.toUpperCase();
  if (!(S3StorageClasses as readonly string[]).includes(v)) throw new FerryError('storage.bad-class', `${what} is ${JSON.stringify(value)}; use one of ${S3StorageClasses.join(', ')}`);
  return v as S3StorageClass;
}
