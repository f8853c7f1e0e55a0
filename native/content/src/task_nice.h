/*
 * The scheduling priority of the threads that run content tasks.
 *
 * Content work (chunk, hash, compress, encrypt) keeps every core busy, and
 * the main thread is what feeds it: it hands out the next segment, packs
 * what was sealed and writes it. At equal priority the kernel let pool
 * threads preempt the main thread whenever it woke one, so each hand-off
 * waited behind a running task (docs/BENCHMARKS.md). A few nice levels
 * below the rest of the process, the tasks get every cycle the main thread
 * does not want, and the main thread runs as soon as it has work.
 */
#ifndef FERRY_TASK_NICE_H
#define FERRY_TASK_NICE_H

/* Sets how many nice levels (0-19) content tasks run below the process; 0 leaves threads alone. */
void task_nice_set(int levels);

/*
 * On a pool thread, before a task: lowers this thread's priority once, to
 * its nice value plus the levels set (at most 19). Best effort: a thread
 * that cannot be changed runs as it is. The lowering stays with the thread
 * (an unprivileged process may not raise a priority again), so libuv's file
 * I/O on that thread runs at it too.
 */
void task_nice_apply(void);

#endif
