/**
 * Storage on S3 or an S3-compatible service (AWS, Backblaze B2's S3 API,
 * Garage, MinIO), through @aws-sdk/client-s3. Object `name` is key
 * `<prefix><name>` in the bucket.
 *
 * How it meets the contract (storage.ts):
 * - save and commit are single PutObject or CompleteMultipartUpload calls,
 *   which S3 makes visible whole or not at all; S3 is strongly consistent
 *   for read-after-write and list-after-write.
 * - remove checks the object exists first (S3 deletes a missing key
 *   without complaint) so that a missing name is `storage.not-found`.
 * - A range past the end is `storage.range`: S3 answers 416, or quietly
 *   returns fewer bytes, which is checked.
 * - Objects under `data/` get the data storage class, the others the
 *   metadata class, so file content can go to an archive class while
 *   what a restore must read first stays readable. Reading an archived
 *   object that was not restored is `storage.cold`; `requestRestore` and
 *   `restoreState` let a caller thaw it (RestoreObject / HeadObject).
 * - The SDK makes one attempt per call; failures are mapped (s3-errors.ts)
 *   and the retry wrapper the CLI puts around every storage does the
 *   backing off, so one policy governs every driver.
 */
import {
  DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, RestoreObjectCommand, S3Client,
} from '@aws-sdk/client-s3';
import { closedError } from './closed.ts';
import { checkPrefix } from './prefix.ts';
import { checkRange } from './range.ts';
import { mapS3Error } from './s3-errors.ts';
import { COLD_CLASSES, parseS3Url, type S3Location, type S3Settings } from './s3-options.ts';
import { S3ObjectWriter } from './s3-writer.ts';
import { checkName, StorageError, StorageErrorCode, type ArchiveAccess, type ByteRange, type ThawTier, type ObjectInfo, type ObjectWriter, type Storage } from './storage.ts';

const MiB = 1024 * 1024;

/** What HeadObject says about an object in an archive class. */
export interface ColdState {
  readonly storageClass: string;
  /** `cold`: not restored and no restore asked; `thawing`: a restore is under way; `readable`. */
  readonly state: 'cold' | 'thawing' | 'readable';
}

export class S3Storage implements Storage {
  readonly location: string;
  readonly archive: ArchiveAccess = {
    state: async (name) => (await this.restoreState(name)).state,
    request: (name, opts) => this.requestRestore(name, opts),
  };
  readonly #client: S3Client;
  readonly #where: S3Location;
  readonly #settings: S3Settings;
  #closed = false;

  constructor(url: string, settings: S3Settings = {}, client?: S3Client) {
    this.#where = parseS3Url(url);
    this.location = `s3://${this.#where.bucket}/${this.#where.prefix}`;
    this.#settings = settings;
    this.#client = client ?? new S3Client({
      ...(settings.endpoint ? { endpoint: settings.endpoint } : {}),
      forcePathStyle: settings.pathStyle ?? settings.endpoint !== undefined,
      // S3-compatible services (and s3rver) reject or mangle the newer default checksums.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      maxAttempts: 1,
      requestHandler: { connectionTimeout: 10_000, requestTimeout: 120_000 },
    });
  }

  #key(name: string): string {
    return `${this.#where.prefix}${name}`;
  }

  /** PutObject/CreateMultipartUpload parameters every write of `name` carries. */
  #writeParams(name: string) {
    const cls = name.startsWith('data/') ? this.#settings.dataClass : this.#settings.metadataClass;
    return {
      Bucket: this.#where.bucket,
      Key: this.#key(name),
      ...(cls ? { StorageClass: cls } : {}),
      ...(this.#settings.sse ? { ServerSideEncryption: 'AES256' as const } : {}),
    };
  }

  async save(name: string, data: Uint8Array): Promise<void> {
    this.#check('save');
    checkName(name);
    try {
      // A copy: the caller may reuse its buffer as soon as this settles, and a timed-out body could still be read.
      const body = Buffer.from(data);
      await this.#client.send(new PutObjectCommand({ ...this.#writeParams(name), Body: body, ContentLength: body.length }));
    } catch (err) {
      throw mapS3Error(err, 'save', name, this.location);
    }
  }

  async load(name: string, range?: ByteRange): Promise<Uint8Array> {
    this.#check('load');
    checkName(name);
    if (range !== undefined && range.length === 0) {
      // S3 has no empty range: check the bounds against the object's size instead.
      checkRange(name, range, (await this.stat(name)).size);
      return new Uint8Array(0);
    }
    if (range !== undefined) checkRange(name, range, Number.MAX_SAFE_INTEGER);
    try {
      const got = await this.#client.send(new GetObjectCommand({
        Bucket: this.#where.bucket, Key: this.#key(name),
        ...(range ? { Range: `bytes=${range.offset}-${range.offset + range.length - 1}` } : {}),
      }));
      const bytes = await got.Body!.transformToByteArray();
      if (range && bytes.length !== range.length) {
        throw new StorageError(StorageErrorCode.Range, `range ${range.offset}+${range.length} is outside object ${name} in ${this.location}`, { details: { name, ...range, got: bytes.length } });
      }
      return bytes;
    } catch (err) {
      throw mapS3Error(err, 'load', name, this.location);
    }
  }

  async stat(name: string): Promise<ObjectInfo> {
    this.#check('stat');
    checkName(name);
    try {
      const head = await this.#client.send(new HeadObjectCommand({ Bucket: this.#where.bucket, Key: this.#key(name) }));
      return { name, size: head.ContentLength ?? 0 };
    } catch (err) {
      throw mapS3Error(err, 'stat', name, this.location);
    }
  }

  async *list(prefix: string): AsyncGenerator<ObjectInfo> {
    this.#check('list');
    checkPrefix(prefix);
    let token: string | undefined;
    do {
      let page;
      try {
        page = await this.#client.send(new ListObjectsV2Command({ Bucket: this.#where.bucket, Prefix: this.#key(prefix), ...(token ? { ContinuationToken: token } : {}) }));
      } catch (err) {
        throw mapS3Error(err, 'list', prefix, this.location);
      }
      for (const o of page.Contents ?? []) {
        if (o.Key !== undefined) yield { name: o.Key.slice(this.#where.prefix.length), size: o.Size ?? 0 };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  async remove(name: string): Promise<void> {
    this.#check('remove');
    checkName(name);
    await this.stat(name);
    try {
      await this.#client.send(new DeleteObjectCommand({ Bucket: this.#where.bucket, Key: this.#key(name) }));
    } catch (err) {
      throw mapS3Error(err, 'remove', name, this.location);
    }
  }

  async writer(): Promise<ObjectWriter> {
    this.#check('write');
    return new S3ObjectWriter({
      client: this.#client,
      location: this.location,
      params: (name) => this.#writeParams(name),
      multipartThreshold: this.#settings.multipartThreshold ?? 32 * MiB,
      partSize: Math.max(5 * MiB, this.#settings.partSize ?? 16 * MiB),
      check: (op) => this.#check(op),
    });
  }

  /** Whether `name` must be restored before it can be read, and how far a restore has got. */
  async restoreState(name: string): Promise<ColdState> {
    this.#check('stat');
    checkName(name);
    try {
      const head = await this.#client.send(new HeadObjectCommand({ Bucket: this.#where.bucket, Key: this.#key(name) }));
      const storageClass = head.StorageClass ?? 'STANDARD';
      if (!COLD_CLASSES.has(storageClass)) return { storageClass, state: 'readable' };
      const restore = head.Restore ?? '';
      const state = restore.includes('ongoing-request="true"') ? 'thawing' : restore.includes('ongoing-request="false"') ? 'readable' : 'cold';
      return { storageClass, state };
    } catch (err) {
      throw mapS3Error(err, 'stat', name, this.location);
    }
  }

  /** Asks S3 to make an archived object readable for `days`; asking again while it thaws is harmless. */
  async requestRestore(name: string, opts: { days: number; tier: ThawTier }): Promise<void> {
    this.#check('restore');
    checkName(name);
    try {
      await this.#client.send(new RestoreObjectCommand({ Bucket: this.#where.bucket, Key: this.#key(name), RestoreRequest: { Days: opts.days, GlacierJobParameters: { Tier: opts.tier } } }));
    } catch (err) {
      // 409 RestoreAlreadyInProgress: someone asked first, which is what we wanted.
      if ((err as { name?: string }).name === 'RestoreAlreadyInProgress') return;
      throw mapS3Error(err, 'restore', name, this.location);
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#client.destroy();
  }

  #check(op: string): void {
    if (this.#closed) throw closedError(this.location, op);
  }
}
