/**
 * Worker thread for the content bound's "all cores at once" rounds: waits
 * for the word, runs contentRound over the files it was given, and reports.
 * Started ready before timing starts, so thread start-up is not counted.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { contentRound } from './content-round.ts';

const { files, outParent } = workerData as { files: string[]; outParent: string };
parentPort!.once('message', () => {
  parentPort!.postMessage(contentRound(files, outParent, { fsync: false }));
});
parentPort!.postMessage('ready');
