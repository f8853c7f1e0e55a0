#define _GNU_SOURCE
#include "task_nice.h"
#include <errno.h>
#include <stdatomic.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

static _Atomic int wanted_levels;

void task_nice_set(int levels) { atomic_store(&wanted_levels, levels < 0 ? 0 : levels > 19 ? 19 : levels); }

void task_nice_apply(void) {
  static _Thread_local int applied;
  int levels = atomic_load(&wanted_levels);
  if (applied || levels == 0) return;
  applied = 1;
  /* On Linux PRIO_PROCESS with a thread ID sets that one thread's nice value. */
  id_t self = (id_t)syscall(SYS_gettid);
  errno = 0;
  int now = getpriority(PRIO_PROCESS, self);
  if (now == -1 && errno != 0) return;
  int target = now + levels > 19 ? 19 : now + levels;
  if (target > now) setpriority(PRIO_PROCESS, self, target);
}
