/**
 * When the JavaScript heaps collect. V8 lets a small heap grow to about
 * three times what is live before a full collection. Bulk jobs (a first
 * backup, a restore) keep promoting per-file objects that die a batch
 * later, so the main heap sat at 60–70 MiB with 16–25 MiB live, and a
 * process's peak memory was mostly that garbage.
 *
 * From the moment bulk work starts, full collections come once a heap has
 * grown by half its live size. Measured on the benchmark corpus
 * (interleaved pairs): a first backup's peak about 30 MiB lower at the
 * same speed, a restore's about 50 MiB lower. Measured again at d370067,
 * where a first backup is faster and CPU-bound: 10 full collections
 * instead of 3, peaks 164 against 200-204 MiB, and 4-7% slower (median
 * ratios 0.932 and 0.94 without the policy, 6 pairs each, 0.4 CPU-s
 * less); growing by 100% instead of 50%, 168 MiB and about 1% faster;
 * by 200%, 183-184 MiB and no faster beyond noise (docs/BENCHMARKS.md).
 *
 * Not from the start of every command: while modules load, the heap only
 * grows, and collecting it on the way made a backup with nothing to do 8%
 * slower.
 *
 * Incremental backups too, since the walk allocates less (98c4dbb): after
 * mutateMixed, peaks 161-176 against 179-212 MiB for 1% more time (median
 * of 6 interleaved pairs); with no change on the mixed corpus the same time
 * and peak (8 pairs, the peak is the key derivation's); with no change on
 * the 200,000 tiny files 1.15 against about 1.10 s, peaks 145-149 against
 * 154-222 MiB (6 pairs). Before that change it cost incremental backups
 * 6-8%.
 *
 * The flag is process-wide: it covers the worker threads' heaps too. Only
 * CLI commands set it; `ferry serve` keeps V8's defaults.
 *
 * Node warns that flags changed after start-up may misbehave. This one is
 * a number V8 reads whenever it sets a heap's next collection limit, so it
 * takes effect at the next collection, as the figures above show, and no
 * heap has to be rebuilt for it.
 */
import { setFlagsFromString } from 'node:v8';

let applied = false;

/** Switches this process to the bulk-work policy above. Safe to call twice. */
export function collectSoonerForBulkWork(): void {
  if (applied) return;
  applied = true;
  setFlagsFromString('--heap-growing-percent=50');
}
