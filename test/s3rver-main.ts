/**
 * Runs s3rver in a process of its own for the tests (test/s3-fixture.ts
 * starts it): s3rver's paged listings use a cipher that Node's OpenSSL 3
 * offers only with --openssl-legacy-provider, which a test worker should
 * not need. Usage: node --openssl-legacy-provider test/s3rver-main.ts DIR
 * BUCKET; prints `{"port": N}` once it listens, and stops on SIGTERM.
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform, type Readable } from 'node:stream';
import S3rver from 's3rver';

/**
 * s3rver 3.7.1 answers a PUT once its own hashing stream has finished,
 * before the file is written, so a GET right after may read a short file,
 * and an upload cut off part-way leaves a short object: S3 promises
 * read-after-write and whole objects. This store method writes the file
 * aside, renames it into place, and only then answers.
 * (Readers during an overwrite are kept apart by the fixture's proxy.)
 */
interface StoredObject { bucket: string; key: string; content: Readable | Buffer; metadata: unknown }
interface Store { getResourcePath(bucket: string, key: string, kind: string): string; putMetadata(bucket: string, key: string, metadata: unknown, md5: string): Promise<void> }
const FilesystemStore = createRequire(import.meta.url)('s3rver/lib/stores/filesystem.js') as { prototype: Store & { putObject(o: StoredObject): Promise<{ size: number; md5: string }> } };
FilesystemStore.prototype.putObject = async function putObject(this: Store, object: StoredObject) {
  const path = this.getResourcePath(object.bucket, object.key, 'object');
  await mkdir(dirname(path), { recursive: true });
  const md5 = createHash('md5');
  let size = 0;
  const count = new Transform({
    transform(chunk: Buffer, _enc, done) {
      md5.update(chunk);
      size += chunk.length;
      done(null, chunk);
    },
  });
  const content = Buffer.isBuffer(object.content) ? [object.content] : object.content;
  // Written aside and renamed into place: an upload cut off part-way leaves no object, as with S3.
  const part = `${path}.part-${process.pid}-${Math.random().toString(36).slice(2)}`;
  try {
    await pipeline(content, count, createWriteStream(part));
    await rename(part, path);
  } catch (err) {
    await rm(part, { force: true });
    throw err;
  }
  const digest = md5.digest('hex');
  await this.putMetadata(object.bucket, object.key, object.metadata, digest);
  return { size, md5: digest };
};

const [dir, bucket] = process.argv.slice(2);
if (!dir || !bucket) {
  console.error('usage: s3rver-main.ts DIR BUCKET');
  process.exit(2);
}
const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: dir, configureBuckets: [{ name: bucket }] });
const { port } = await server.run();
process.stdout.write(`${JSON.stringify({ port })}\n`);
process.on('SIGTERM', () => {
  void server.close().finally(() => process.exit(0));
});
