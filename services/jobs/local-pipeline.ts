/**
 * The backup pipeline composed in one process, without a message bus:
 * walk -> batches -> upload -> assemble -> snapshot. The actors run exactly
 * these steps with NATS between them; this composition exists so the domain
 * logic can be tested on its own.
 */
import type { Repository } from '../repo/repository.ts';
import { RepoWriter } from '../repo/repo-writer.ts';
import type { Sealer } from '../repo/sealer.ts';
import type { ContentScanner } from '../repo/content.ts';
import { buildSelection, type Selection } from '../repo/selection.ts';
import type { Snapshot } from '../repo/snapshot.ts';
import { walkSourceInArrays } from './scan-walker.ts';
import { batchEvents, type BatchLimits } from './batcher.ts';
import { decodeEventsWith, encodeEventsWith, nodeBytes } from './scan-events.ts';
import { BatchUploader, fileNodeBytes } from './upload-batch.ts';
import { TreeAssembler, decodeAssemblyEvents } from './tree-assembler.ts';
import { aheadFile, aheadItem, joinedEvent, type SendAhead } from './files-ahead.ts';
import { writeSnapshot } from './snapshot-writer.ts';

export interface LocalBackupOptions {
  readonly paths: readonly string[];
  readonly host: string;
  readonly source: string;
  readonly tags?: readonly string[];
  readonly selection?: Selection;
  readonly parent?: { id: string; snapshot: Snapshot } | undefined;
  readonly limits?: BatchLimits;
  /** Send files to read of at least this many bytes ahead of their batches (files-ahead.ts); never when absent. */
  readonly aheadBytes?: number;
}

export async function backupLocally(repo: Repository, workers: Sealer & ContentScanner, opts: LocalBackupOptions): Promise<{ id: string; snapshot: Snapshot }> {
  const startedMs = Date.now();
  const writer = new RepoWriter(repo, workers);
  const uploader = new BatchUploader(repo, writer, workers, { nodes: fileNodeBytes });
  const assembler = new TreeAssembler(repo, writer);
  // Files sent ahead are read at once, beside the batches, and joined by key as the finalizer joins them.
  const ahead = new Map<string, Promise<Uint8Array>>();
  const aheadUploader = new BatchUploader(repo, writer, workers, { nodes: fileNodeBytes });
  const sendAhead: SendAhead | undefined = opts.aheadBytes === undefined ? undefined : {
    minBytes: opts.aheadBytes,
    send(path, node) {
      const item = aheadItem(path, node);
      const read = aheadUploader.process([aheadFile(item.events, path).event]).then((r) => encodeEventsWith(r.events, nodeBytes));
      read.catch(() => {}); // awaited when its batch comes
      ahead.set(item.key, read);
    },
  };
  const fileItem = async (key: string) => {
    const read = ahead.get(key);
    if (read === undefined) throw new Error(`file item ${key} is marked as sent ahead but was not sent`);
    return { events: await read, what: `file item ${key}` };
  };
  const walk = walkSourceInArrays({ repo, selection: opts.selection ?? buildSelection(opts.paths), parentTree: opts.parent?.snapshot.tree, sendAhead });
  for await (const batch of batchEvents(walk, { firstSeq: 0, startPos: [], ...(opts.limits ? { limits: opts.limits } : {}) })) {
    const { events } = await uploader.process(decodeEventsWith(batch.events, `batch ${batch.seq}`, nodeBytes));
    // Through the bytes, as the finalizer gets the uploaders' fragments.
    for (const e of decodeAssemblyEvents(encodeEventsWith(events, nodeBytes), `batch ${batch.seq}`)) await assembler.push(await joinedEvent(e, fileItem));
  }
  return writeSnapshot(repo, writer, assembler, {
    startedMs,
    host: opts.host,
    source: opts.source,
    paths: opts.paths,
    tags: opts.tags ?? [],
    parentId: opts.parent?.id,
    filesRead: uploader.reader.filesRead + aheadUploader.reader.filesRead,
    newBytes: 0,
    newBlobs: 0,
    storedBytes: 0,
  });
}
