/**
 * Prompt collection of a worker thread's dead buffers. V8 collects an
 * isolate's garbage ArrayBuffers only once its external memory has grown
 * by about 64 MiB since the last collection, so each blob worker carried
 * around 100 MiB of dead buffers at peak. A minor collection whenever the
 * tasks have let go of `everyBytes` bounds that at little cost (a scavenge
 * of a small young generation takes about a millisecond).
 *
 * The collector comes from a fresh context created after --expose-gc is set
 * at run time, which V8 allows; no global `gc` appears anywhere.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

type Collect = (opts: { type: 'minor' | 'major' }) => void;

let collect: Collect | undefined;

function collector(): Collect {
  if (!collect) {
    setFlagsFromString('--expose-gc');
    collect = runInNewContext('gc') as Collect;
  }
  return collect;
}

export class GarbageBudget {
  private dead = 0;
  private readonly everyBytes: number;

  constructor(everyBytes: number) {
    this.everyBytes = everyBytes;
  }

  /** Counts bytes of buffers that are garbage once the current task's result is sent. */
  note(bytes: number): void {
    this.dead += bytes;
  }

  /** Collects if enough garbage has built up; call at the start of a task, when the last result is gone. */
  collectIfDue(): void {
    if (this.dead < this.everyBytes) return;
    this.dead = 0;
    collector()({ type: 'minor' });
  }
}
