#include "async_task.h"
#include <malloc.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "napi_args.h"
#include "task_nice.h"

int keep(napi_env env, task *t, napi_value v) {
  if (t->nrefs == sizeof t->refs / sizeof t->refs[0]) {
    napi_throw_error(env, "native.failed", "too many inputs held by one task");
    return -1;
  }
  return napi_create_reference(env, v, 1, &t->refs[t->nrefs++]) == napi_ok ? 0 : -1;
}

static void free_task(napi_env env, task *t) {
  for (size_t i = 0; i < t->nrefs; i++) napi_delete_reference(env, t->refs[i]);
  free(t->path);
  if (t->paths != NULL)
    for (size_t i = 0; i < t->count; i++) free(t->paths[i]);
  free(t->paths);
  free(t->wholes);
  free(t->scan.chunks);
  free(t->datas);
  free(t->lens);
  free(t->outs);
  free(t->out_lens);
  free(t->blobs);
  free(t->fails);
  free(t->ios);
  free(t->placed);
  free(t);
}

/*
 * Returns the free pages of glibc's arenas to the kernel, at most every
 * 250 ms, from whichever pool thread finishes a task. Sealed blobs are
 * allocated on pool threads and freed on the main thread once packed, and
 * their memory stayed in the pool threads' arenas (and V8's off-heap
 * garbage in the main one): a first backup of the benchmark corpus peaked
 * 15-35 MiB higher without this (docs/BENCHMARKS.md).
 */
static void trim_now_and_then(void) {
  static _Atomic long long last_ms;
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  long long now = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000, last = atomic_load(&last_ms);
  if (now - last >= 250 && atomic_compare_exchange_strong(&last_ms, &last, now)) malloc_trim(0);
}

static void execute(napi_env env, void *data) {
  task *t = data;
  task_nice_apply();
  slot *s = slot_take();
  if (s == NULL) {
    t->status = -1;
    t->err.failure = "out of memory";
    return;
  }
  t->run(t, s);
  slot_give(s);
  trim_now_and_then();
}

napi_value task_error_value(napi_env env, const task_error *e) {
  return e->failure != NULL ? failure_error(env, "native.failed", e->failure) : io_error(env, &e->io);
}

static void complete(napi_env env, napi_status status, void *data) {
  task *t = data;
  int rejected = 0;
  napi_value result = status == napi_ok ? t->done(env, t, &rejected) : failure_error(env, "native.failed", "the task was cancelled");
  if (status != napi_ok) rejected = 1;
  if (rejected) napi_reject_deferred(env, t->deferred, result);
  else napi_resolve_deferred(env, t->deferred, result);
  napi_delete_async_work(env, t->work);
  free_task(env, t);
}

napi_value start_task(napi_env env, task *t, int ok) {
  if (!ok) {
    free_task(env, t);
    return NULL;
  }
  napi_value promise, name;
  napi_create_promise(env, &t->deferred, &promise);
  napi_create_string_utf8(env, "ferry-content", NAPI_AUTO_LENGTH, &name);
  napi_create_async_work(env, NULL, name, execute, complete, t, &t->work);
  napi_queue_async_work(env, t->work);
  return promise;
}

int arg_ctx(napi_env env, napi_value v, task *t) {
  void *p = NULL;
  if (napi_get_value_external(env, v, &p) != napi_ok || p == NULL) {
    napi_throw_type_error(env, "native.bad-argument", "not a content context");
    return -1;
  }
  t->ctx = p;
  return keep(env, t, v);
}

/* The known-blobs filter: undefined, or the segments as Uint32Arrays over their shared memory. */
int arg_known(napi_env env, napi_value v, task *t) {
  napi_valuetype type;
  napi_typeof(env, v, &type);
  if (type == napi_undefined) return 0;
  uint32_t n;
  if (arg_array(env, v, "known", &n) != 0) return -1;
  if (n > sizeof t->kbits / sizeof t->kbits[0]) {
    napi_throw_range_error(env, "native.bad-argument", "the known-blobs filter has too many segments");
    return -1;
  }
  for (uint32_t i = 0; i < n; i++) {
    napi_value seg;
    void *p;
    napi_get_element(env, v, i, &seg);
    if (arg_typed(env, seg, napi_uint32_array, "a known-blobs segment", &p, &t->kwords[i]) != 0) return -1;
    t->kbits[i] = p;
  }
  if (n > 0 && keep(env, t, v) != 0) return -1;
  t->known = (known_filter){.bits = t->kbits, .words = t->kwords, .count = n};
  return 0;
}

int arg_seal(napi_env env, napi_value key, napi_value level, task *t) {
  double l;
  if (arg_key(env, key, t->key) != 0 || arg_number(env, level, "level", &l) != 0) return -1;
  t->level = (int)l;
  return 0;
}

void get_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv) {
  size_t argc = want;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  napi_value undefined;
  napi_get_undefined(env, &undefined);
  for (size_t i = argc; i < want; i++) argv[i] = undefined;
}

task *begin_task(napi_env env, napi_callback_info info, size_t want, napi_value *argv) {
  get_args(env, info, want, argv);
  task *t = calloc(1, sizeof *t);
  if (t == NULL) napi_throw_error(env, "native.failed", "out of memory");
  return t;
}

