/*
 * One N-API async work item: its inputs (held by references while it runs
 * on the thread pool), its results, and the promise it settles. Each op in
 * ops.c fills `run` (on a pool thread, with a slot) and `done` (on the main
 * thread: the value to resolve with, or to reject with when *rejected).
 */
#ifndef FERRY_ASYNC_TASK_H
#define FERRY_ASYNC_TASK_H
#include <node_api.h>
#include "tasks.h"

typedef struct task task;
struct task {
  napi_async_work work;
  napi_deferred deferred;
  void (*run)(task *t, slot *s);
  napi_value (*done)(napi_env env, task *t, int *rejected);
  napi_ref refs[8];
  size_t nrefs;
  const content_ctx *ctx;
  uint8_t key[32];
  int level;
  const uint32_t *kbits[48];
  size_t kwords[48];
  known_filter known;
  char *path;
  uint64_t offset, length, seal_budget;
  int status;
  task_error err;
  scan_out scan;
  /* readFiles */
  char **paths;
  whole_out *wholes;
  size_t count;
  /* readRange */
  uint8_t id[32];
  size_t got;
  uint8_t *sealed;
  size_t sealed_len;
  /* seal */
  const uint8_t *ids, *types;
  const uint8_t **datas;
  size_t *lens;
  uint8_t **outs;
  size_t *out_lens;
  /* place */
  const uint8_t *range;
  size_t range_len;
  place_blob *blobs;
  open_failure *fails;
  io_failure *ios;
  int *placed;
};

/* Reads up to `want` arguments into argv (the missing ones undefined) and makes an empty task; NULL (thrown) when out of memory. */
task *begin_task(napi_env env, napi_callback_info info, size_t want, napi_value *argv);
/* Holds `v` alive until the task settles; 0, or -1 (thrown). */
int keep(napi_env env, task *t, napi_value v);
/* Queues `t` and returns its promise; when !ok (an argument was bad and thrown) frees it and returns NULL. */
napi_value start_task(napi_env env, task *t, int ok);
/* Reads up to `want` arguments, the missing ones undefined. */
void get_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv);
napi_value task_error_value(napi_env env, const task_error *e);
int arg_ctx(napi_env env, napi_value v, task *t);
int arg_known(napi_env env, napi_value v, task *t);
int arg_seal(napi_env env, napi_value key, napi_value level, task *t);

napi_value op_scan(napi_env env, napi_callback_info info);
napi_value op_read_files(napi_env env, napi_callback_info info);
napi_value op_read_range(napi_env env, napi_callback_info info);
napi_value op_seal(napi_env env, napi_callback_info info);
napi_value op_place(napi_env env, napi_callback_info info);
/* Synchronous: see stat_batch.c. */
napi_value op_lstat_batch(napi_env env, napi_callback_info info);

#endif
