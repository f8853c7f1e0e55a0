/*
 * The five operations: argument checks on the main thread, the work on a
 * pool thread (tasks.c), and the result built back on the main thread.
 * Shapes are flat (typed arrays of IDs and offsets) and turned into the
 * interfaces of services/repo/content.ts by native-content.ts.
 */
#include <stdlib.h>
#include <string.h>
#include "async_task.h"
#include "napi_args.h"

static napi_value object(napi_env env) {
  napi_value o;
  napi_create_object(env, &o);
  return o;
}

static void set(napi_env env, napi_value o, const char *name, napi_value v) { napi_set_named_property(env, o, name, v); }

static napi_value boolean(napi_env env, int v) {
  napi_value b;
  napi_get_boolean(env, v != 0, &b);
  return b;
}

/* calloc() of n + 1 items, for a task's per-item arrays; once one fails, throws and leaves *ok 0 (the rest return NULL). */
static void *items(napi_env env, int *ok, size_t n, size_t size) {
  if (!*ok) return NULL;
  void *p = calloc(n + 1, size);
  if (p == NULL) {
    *ok = 0;
    napi_throw_error(env, "native.failed", "out of memory");
  }
  return p;
}

static napi_value undefined(napi_env env) {
  napi_value u;
  napi_get_undefined(env, &u);
  return u;
}

/* (ctx, path, offset, length, key, level), the arguments scan and readRange share; 0, or -1 (thrown). */
static int arg_file_span(napi_env env, napi_value *argv, task *t, const char *offset_name, const char *length_name) {
  double offset, length;
  if (arg_ctx(env, argv[0], t) != 0 || (t->path = arg_string(env, argv[1], "path")) == NULL || arg_number(env, argv[2], offset_name, &offset) != 0 ||
      arg_number(env, argv[3], length_name, &length) != 0 || arg_seal(env, argv[4], argv[5], t) != 0)
    return -1;
  t->offset = (uint64_t)offset;
  t->length = (uint64_t)length;
  return 0;
}

/* ---- scan(ctx, path, start, budget, key, level, known, sealBudget?) -> { ids, offsets, lengths, sealed[], next, eof, fold } */

static void run_scan(task *t, slot *s) {
  t->status = task_scan(t->ctx, s, t->path, t->offset, t->length, t->seal_budget, t->key, t->level, t->known.count ? &t->known : NULL, &t->scan, &t->err);
}

static napi_value done_scan(napi_env env, task *t, int *rejected) {
  scan_out *o = &t->scan;
  if (t->status != 0) {
    for (size_t i = 0; i < o->count; i++) free(o->chunks[i].sealed);
    *rejected = 1;
    return task_error_value(env, &t->err);
  }
  napi_value ids_ab, ids, offs_ab, offs, lens_ab, lens, sealed;
  uint8_t *idp;
  double *offp, *lenp;
  napi_create_arraybuffer(env, 32 * o->count, (void **)&idp, &ids_ab);
  napi_create_typedarray(env, napi_uint8_array, 32 * o->count, ids_ab, 0, &ids);
  napi_create_arraybuffer(env, 8 * o->count, (void **)&offp, &offs_ab);
  napi_create_typedarray(env, napi_float64_array, o->count, offs_ab, 0, &offs);
  napi_create_arraybuffer(env, 8 * o->count, (void **)&lenp, &lens_ab);
  napi_create_typedarray(env, napi_float64_array, o->count, lens_ab, 0, &lens);
  napi_create_array_with_length(env, o->count, &sealed);
  for (size_t i = 0; i < o->count; i++) {
    chunk_out *c = &o->chunks[i];
    memcpy(idp + 32 * i, c->id, 32);
    offp[i] = (double)c->offset;
    lenp[i] = (double)c->length;
    napi_set_element(env, sealed, (uint32_t)i, c->sealed != NULL ? own_bytes(env, c->sealed, c->sealed_len) : undefined(env));
  }
  napi_value r = object(env);
  set(env, r, "ids", ids);
  set(env, r, "offsets", offs);
  set(env, r, "lengths", lens);
  set(env, r, "sealed", sealed);
  set(env, r, "next", number(env, (double)o->next));
  set(env, r, "eof", boolean(env, o->eof));
  set(env, r, "fold", copy_bytes(env, o->fold, QX_PERIOD));
  return r;
}

napi_value op_scan(napi_env env, napi_callback_info info) {
  napi_value argv[8];
  task *t = begin_task(env, info, 8, argv);
  if (t == NULL) return NULL;
  int ok = arg_file_span(env, argv, t, "start", "budget") == 0 && arg_known(env, argv[6], t) == 0;
  napi_valuetype type;
  napi_typeof(env, argv[7], &type);
  double seal_budget = 0;
  if (ok && type != napi_undefined) ok = arg_number(env, argv[7], "sealBudget", &seal_budget) == 0;
  t->seal_budget = type == napi_undefined || seal_budget <= 0 ? UINT64_MAX : (uint64_t)seal_budget;
  t->run = run_scan;
  t->done = done_scan;
  return start_task(env, t, ok);
}

/* ---- readFiles(ctx, paths, key, level, known) -> ({ ok: true, size, id, hash, sealed? } | { ok: false, code, syscall?, message })[] */

static void run_read_files(task *t, slot *s) {
  for (size_t i = 0; i < t->count; i++) task_read_whole(t->ctx, s, t->paths[i], t->key, t->level, t->known.count ? &t->known : NULL, &t->wholes[i]);
}

static napi_value done_read_files(napi_env env, task *t, int *rejected) {
  napi_value out;
  napi_create_array_with_length(env, t->count, &out);
  for (size_t i = 0; i < t->count; i++) {
    whole_out *w = &t->wholes[i];
    napi_value r = object(env);
    set(env, r, "ok", boolean(env, w->ok));
    if (w->ok) {
      napi_value hash;
      napi_create_bigint_int64(env, w->hash, &hash);
      set(env, r, "size", number(env, (double)w->size));
      set(env, r, "id", copy_bytes(env, w->id, 32));
      set(env, r, "hash", hash);
      if (w->sealed != NULL) set(env, r, "sealed", own_bytes(env, w->sealed, w->sealed_len));
    } else {
      set(env, r, "error", w->failure != NULL ? failure_error(env, "native.failed", w->failure) : io_error(env, &w->io));
    }
    napi_set_element(env, out, (uint32_t)i, r);
  }
  return out;
}

napi_value op_read_files(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  task *t = begin_task(env, info, 5, argv);
  if (t == NULL) return NULL;
  uint32_t n = 0;
  int ok = arg_ctx(env, argv[0], t) == 0 && arg_array(env, argv[1], "paths", &n) == 0 && arg_seal(env, argv[2], argv[3], t) == 0 && arg_known(env, argv[4], t) == 0;
  t->paths = items(env, &ok, n, sizeof *t->paths);
  t->wholes = items(env, &ok, n, sizeof *t->wholes);
  if (ok) {
    for (uint32_t i = 0; ok && i < n; i++) {
      napi_value p;
      napi_get_element(env, argv[1], i, &p);
      ok = (t->paths[i] = arg_string(env, p, "a path")) != NULL;
      t->count = i + 1;
    }
  }
  t->run = run_read_files;
  t->done = done_read_files;
  return start_task(env, t, ok);
}

/* ---- readRange(ctx, path, offset, length, key, level) -> { id, length, sealed } */

static void run_read_range(task *t, slot *s) {
  t->status = task_read_range(t->ctx, s, t->path, t->offset, (size_t)t->length, t->key, t->level, t->id, &t->got, &t->sealed, &t->sealed_len, &t->err);
}

static napi_value done_read_range(napi_env env, task *t, int *rejected) {
  if (t->status != 0) {
    *rejected = 1;
    return task_error_value(env, &t->err);
  }
  napi_value r = object(env);
  set(env, r, "id", copy_bytes(env, t->id, 32));
  set(env, r, "length", number(env, (double)t->got));
  set(env, r, "sealed", own_bytes(env, t->sealed, t->sealed_len));
  return r;
}

napi_value op_read_range(napi_env env, napi_callback_info info) {
  napi_value argv[6];
  task *t = begin_task(env, info, 6, argv);
  if (t == NULL) return NULL;
  int ok = arg_file_span(env, argv, t, "offset", "length") == 0;
  t->run = run_read_range;
  t->done = done_read_range;
  return start_task(env, t, ok);
}

/* ---- seal(key, level, ids, types, datas) -> Uint8Array[] */

static void run_seal(task *t, slot *s) {
  for (size_t i = 0; i < t->count; i++) {
    t->err.failure = blob_seal(s, t->key, t->ids + 32 * i, t->types[i], t->datas[i], t->lens[i], t->level, &t->outs[i], &t->out_lens[i]);
    if (t->err.failure != NULL) {
      t->status = -1;
      return;
    }
  }
}

static napi_value done_seal(napi_env env, task *t, int *rejected) {
  if (t->status != 0) {
    for (size_t i = 0; i < t->count; i++) free(t->outs[i]);
    *rejected = 1;
    return task_error_value(env, &t->err);
  }
  napi_value out;
  napi_create_array_with_length(env, t->count, &out);
  for (size_t i = 0; i < t->count; i++) napi_set_element(env, out, (uint32_t)i, own_bytes(env, t->outs[i], t->out_lens[i]));
  return out;
}

napi_value op_seal(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  task *t = begin_task(env, info, 5, argv);
  if (t == NULL) return NULL;
  size_t nids = 0, ntypes = 0;
  uint32_t n = 0;
  int ok = arg_seal(env, argv[0], argv[1], t) == 0 && arg_bytes(env, argv[2], "ids", &t->ids, &nids) == 0 && arg_bytes(env, argv[3], "types", &t->types, &ntypes) == 0 &&
           arg_array(env, argv[4], "datas", &n) == 0 && keep(env, t, argv[2]) == 0 && keep(env, t, argv[3]) == 0 && keep(env, t, argv[4]) == 0;
  if (ok && (nids != 32 * (size_t)n || ntypes != n)) {
    napi_throw_range_error(env, "native.bad-argument", "seal needs a 32-byte ID and a type per item");
    ok = 0;
  }
  t->count = ok ? n : 0;
  t->datas = items(env, &ok, n, sizeof *t->datas);
  t->lens = items(env, &ok, n, sizeof *t->lens);
  t->outs = items(env, &ok, n, sizeof *t->outs);
  t->out_lens = items(env, &ok, n, sizeof *t->out_lens);
  if (ok) {
    for (uint32_t i = 0; ok && i < n; i++) {
      napi_value d;
      napi_get_element(env, argv[4], i, &d);
      ok = arg_bytes(env, d, "an item's data", &t->datas[i], &t->lens[i]) == 0;
    }
  }
  t->run = run_seal;
  t->done = done_seal;
  return start_task(env, t, ok);
}

/* ---- place(key, range, ids, types, geometry [at, length, rawLength]*, destCounts, dests [fd, position]*) -> (null | { code, message })[] */

static void run_place(task *t, slot *s) {
  for (size_t i = 0; i < t->count; i++) t->placed[i] = task_place(s, t->key, t->range, t->range_len, &t->blobs[i], &t->fails[i], &t->ios[i]);
}

static napi_value done_place(napi_env env, task *t, int *rejected) {
  napi_value out, null;
  napi_get_null(env, &null);
  napi_create_array_with_length(env, t->count, &out);
  for (size_t i = 0; i < t->count; i++) {
    napi_value v = null;
    if (t->placed[i] != 0) v = t->fails[i].code != NULL ? failure_error(env, t->fails[i].code, t->fails[i].message) : io_error(env, &t->ios[i]);
    napi_set_element(env, out, (uint32_t)i, v);
  }
  return out;
}

napi_value op_place(napi_env env, napi_callback_info info) {
  napi_value argv[7];
  task *t = begin_task(env, info, 7, argv);
  if (t == NULL) return NULL;
  size_t nids = 0, ntypes = 0, ngeo = 0, ncounts = 0, ndests = 0;
  void *geo = NULL, *counts = NULL, *dests = NULL;
  int ok = arg_key(env, argv[0], t->key) == 0 && arg_bytes(env, argv[1], "range", &t->range, &t->range_len) == 0 && arg_bytes(env, argv[2], "ids", &t->ids, &nids) == 0 &&
           arg_bytes(env, argv[3], "types", &t->types, &ntypes) == 0 && arg_typed(env, argv[4], napi_float64_array, "geometry", &geo, &ngeo) == 0 &&
           arg_typed(env, argv[5], napi_uint32_array, "destCounts", &counts, &ncounts) == 0 && arg_typed(env, argv[6], napi_float64_array, "dests", &dests, &ndests) == 0;
  for (int i = 1; ok && i < 7; i++) ok = keep(env, t, argv[i]) == 0;
  size_t n = ntypes, total = 0;
  for (size_t i = 0; ok && i < ncounts; i++) total += ((const uint32_t *)counts)[i];
  if (ok && (nids != 32 * n || ngeo != 3 * n || ncounts != n || ndests != 2 * total)) {
    napi_throw_range_error(env, "native.bad-argument", "place needs an ID, a type, [at, length, rawLength] and destinations per blob");
    ok = 0;
  }
  t->count = ok ? n : 0;
  t->blobs = items(env, &ok, n, sizeof *t->blobs);
  t->fails = items(env, &ok, n, sizeof *t->fails);
  t->ios = items(env, &ok, n, sizeof *t->ios);
  t->placed = items(env, &ok, n, sizeof *t->placed);
  if (ok) {
    const double *g = geo, *d = dests;
    for (size_t i = 0; ok && i < n; i++) {
      uint32_t k = ((const uint32_t *)counts)[i];
      t->blobs[i] = (place_blob){.id = t->ids + 32 * i, .type = t->types[i], .at = (size_t)g[3 * i], .length = (size_t)g[3 * i + 1], .raw_length = (size_t)g[3 * i + 2], .dests = d, .dest_count = k};
      d += 2 * k;
    }
  }
  t->run = run_place;
  t->done = done_place;
  return start_task(env, t, ok);
}
