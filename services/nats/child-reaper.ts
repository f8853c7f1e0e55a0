/**
 * Stops tracked child servers when this process ends, so no nats-server
 * outlives the Ferry process (or test worker) that started it.
 *
 * Contract:
 * - On 'exit' every tracked child gets its signal, synchronously.
 * - On SIGINT/SIGTERM/SIGHUP, if nobody else listens for that signal, the
 *   children are signalled at once and the signal is re-raised with our
 *   listener removed, so the process ends exactly as it would have without us.
 * - If the caller has its own handler (a graceful drain that will call
 *   close()), we do not take the server away mid-drain: the signal is
 *   forwarded after `graceMs`, and the 'exit' hook remains the backstop.
 * - Listeners are installed only while something is tracked.
 * If this process is SIGKILLed nothing can run; embedded.json lets the next
 * Ferry command find and reuse the orphaned embedded server.
 */
import type { ChildProcess } from 'node:child_process';

export interface ReapOptions {
  /** Signal sent to the child when this process ends. */
  readonly signal: NodeJS.Signals;
  /** Delay before forwarding a signal the caller also handles. 0 = at once. */
  readonly graceMs: number;
}

const FORWARDED = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
const tracked = new Map<ChildProcess, ReapOptions>();
let installed = false;

function alive(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

function send(child: ChildProcess, signal: NodeJS.Signals): void {
  if (!alive(child)) return;
  try {
    child.kill(signal);
  } catch {
    // Already gone.
  }
}

function onExit(): void {
  for (const [child, o] of tracked) send(child, o.signal);
}

function onSignal(sig: NodeJS.Signals): void {
  if (process.listenerCount(sig) > 1) {
    for (const [child, o] of tracked) {
      if (o.graceMs <= 0) send(child, o.signal);
      else setTimeout(() => send(child, o.signal), o.graceMs).unref();
    }
    return;
  }
  onExit();
  uninstall();
  process.kill(process.pid, sig);
}

function install(): void {
  if (installed) return;
  installed = true;
  process.on('exit', onExit);
  for (const sig of FORWARDED) process.on(sig, onSignal);
}

function uninstall(): void {
  if (!installed) return;
  installed = false;
  process.off('exit', onExit);
  for (const sig of FORWARDED) process.off(sig, onSignal);
}

/** Tracks `child` until it exits or the returned function is called. */
export function reapOnExit(child: ChildProcess, opts: ReapOptions): () => void {
  const untrack = (): void => {
    tracked.delete(child);
    if (tracked.size === 0) uninstall();
  };
  if (!alive(child)) return () => {};
  tracked.set(child, opts);
  install();
  child.once('exit', untrack);
  return untrack;
}
