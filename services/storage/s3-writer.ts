/**
 * An S3 object written in pieces (storage.ts, ObjectWriter). S3 cannot
 * rename, and a pack's name is known only once it is complete, so the
 * pieces are held in memory until commit(): then an object up to the
 * multipart threshold goes up in one PutObject, a larger one as a
 * multipart upload under its final name. Packs are at most 128 MiB (16 MiB
 * by default), and the repository writer bounds how many are open.
 *
 * A multipart upload that fails is aborted (AbortMultipartUpload), so no
 * parts are left behind to be billed; should the process die mid-upload,
 * the bucket's lifecycle rule for incomplete uploads clears them
 * (docs/operations.md). A commit that failed may be called again: the
 * pieces are kept until one succeeds.
 */
import {
  AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CreateMultipartUploadCommand, PutObjectCommand, UploadPartCommand, type S3Client,
} from '@aws-sdk/client-s3';
import { mapS3Error } from './s3-errors.ts';
import type { S3StorageClass } from './s3-options.ts';
import { checkName, finishedWriter, type ObjectWriter } from './storage.ts';

/** Parts in flight at once during a multipart upload. */
const PART_CONCURRENCY = 4;

export interface S3WriterDeps {
  readonly client: S3Client;
  readonly location: string;
  /** Bucket, key, storage class and encryption of an object called `name`. */
  readonly params: (name: string) => { Bucket: string; Key: string; StorageClass?: S3StorageClass; ServerSideEncryption?: 'AES256' };
  readonly multipartThreshold: number;
  readonly partSize: number;
  /** Throws if the storage was closed. */
  readonly check: (op: string) => void;
}

/** Bytes [from, to) of the concatenation of `pieces`, as one buffer. */
function slice(pieces: readonly Buffer[], from: number, to: number): Buffer {
  const out = Buffer.allocUnsafe(to - from);
  let at = 0;
  let pos = 0;
  for (const p of pieces) {
    const end = pos + p.length;
    if (end > from && pos < to) {
      const a = Math.max(from, pos) - pos;
      const b = Math.min(to, end) - pos;
      at += p.copy(out, at, a, b);
    }
    pos = end;
    if (pos >= to) break;
  }
  return out;
}

export class S3ObjectWriter implements ObjectWriter {
  readonly gathers = true;
  readonly #deps: S3WriterDeps;
  #pieces: Buffer[] | undefined = [];
  #size = 0;
  #committed: string | undefined;

  constructor(deps: S3WriterDeps) {
    this.#deps = deps;
  }

  async write(data: Uint8Array): Promise<void> {
    this.#deps.check('write');
    if (this.#pieces === undefined) throw finishedWriter(this.#deps.location, 'write');
    this.#pieces.push(Buffer.from(data)); // a copy: the caller reuses its buffer
    this.#size += data.length;
  }

  async commit(name: string): Promise<void> {
    this.#deps.check('save');
    checkName(name);
    if (this.#committed === name) return;
    const pieces = this.#pieces;
    if (pieces === undefined) throw finishedWriter(this.#deps.location, 'commit');
    if (this.#size <= this.#deps.multipartThreshold) {
      try {
        const body = slice(pieces, 0, this.#size);
        await this.#deps.client.send(new PutObjectCommand({ ...this.#deps.params(name), Body: body, ContentLength: body.length }));
      } catch (err) {
        throw mapS3Error(err, 'save', name, this.#deps.location);
      }
    } else {
      await this.#multipart(name, pieces);
    }
    this.#committed = name;
    this.#pieces = undefined;
  }

  async #multipart(name: string, pieces: readonly Buffer[]): Promise<void> {
    const { client, partSize } = this.#deps;
    const params = this.#deps.params(name);
    let uploadId: string | undefined;
    try {
      uploadId = (await client.send(new CreateMultipartUploadCommand(params))).UploadId!;
      const count = Math.ceil(this.#size / partSize);
      const etags: string[] = new Array(count);
      let next = 0;
      const lane = async () => {
        while (next < count) {
          const n = next++;
          const body = slice(pieces, n * partSize, Math.min(this.#size, (n + 1) * partSize));
          const part = await client.send(new UploadPartCommand({ Bucket: params.Bucket, Key: params.Key, UploadId: uploadId, PartNumber: n + 1, Body: body, ContentLength: body.length }));
          etags[n] = part.ETag!;
        }
      };
      await Promise.all(Array.from({ length: Math.min(PART_CONCURRENCY, count) }, lane));
      await client.send(new CompleteMultipartUploadCommand({
        Bucket: params.Bucket, Key: params.Key, UploadId: uploadId,
        MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) },
      }));
    } catch (err) {
      if (uploadId !== undefined) {
        // Best effort: a failed abort leaves parts for the bucket's lifecycle rule, and the commit's own error matters more.
        await client.send(new AbortMultipartUploadCommand({ Bucket: params.Bucket, Key: params.Key, UploadId: uploadId })).catch(() => {});
      }
      throw mapS3Error(err, 'save', name, this.#deps.location);
    }
  }

  async abort(): Promise<void> {
    this.#pieces = undefined;
  }
}
