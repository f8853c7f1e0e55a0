/*
 * Ferry's native content pass: the work of services/repo/blob-worker.ts
 * (chunk, ID, hash, seal; open and place on restore) as N-API async work on
 * libuv's thread pool, for services/repo/native-content.ts. It replaces the
 * two worker isolates, whose heaps, code and compilers cost about a third
 * of a backup's peak memory and a tenth of its CPU, and reads without
 * copying through JavaScript. Every function here returns a promise; the
 * caller bounds how many run at once (each holds a slot, see slots.h).
 */
#include <node_api.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <sys/mman.h>
#include "napi_args.h"

#include "async_task.h"
#include "task_nice.h"


/* createContext(gear: Uint32Array(256), minSize, avgSize, maxSize, idKey, readSize): the repository's chunking and ID key. */
static void free_ctx(napi_env env, void *data, void *hint) { free(data); }

static napi_value create_context(napi_env env, napi_callback_info info) {
  napi_value argv[6];
  get_args(env, info, 6, argv);
  void *gear;
  size_t gear_n, key_n;
  const uint8_t *key;
  double min, avg, max, read;
  if (arg_typed(env, argv[0], napi_uint32_array, "gear", &gear, &gear_n) != 0 || arg_number(env, argv[1], "minSize", &min) != 0 ||
      arg_number(env, argv[2], "avgSize", &avg) != 0 || arg_number(env, argv[3], "maxSize", &max) != 0 ||
      arg_bytes(env, argv[4], "idKey", &key, &key_n) != 0 || arg_number(env, argv[5], "readSize", &read) != 0)
    return NULL;
  /* The TypeScript side validated the parameters (validateChunkerParams); these checks only keep memory safe. */
  if (gear_n != 256 || !(min >= 1 && min < avg && avg < max && max <= 1073741824.0 && read >= 1 && read <= 67108864.0)) {
    napi_throw_range_error(env, "native.bad-argument", "bad chunker parameters");
    return NULL;
  }
  content_ctx *c = calloc(1, sizeof *c);
  if (c == NULL) {
    napi_throw_error(env, "native.failed", "out of memory");
    return NULL;
  }
  memcpy(c->cdc.gear, gear, sizeof c->cdc.gear);
  c->cdc.min_size = (size_t)min;
  c->cdc.avg_size = (size_t)avg;
  c->cdc.max_size = (size_t)max;
  cdc_init_masks(&c->cdc);
  blob_id_key_init(&c->id_key, key, key_n);
  c->read_size = (size_t)read;
  napi_value out;
  napi_create_external(env, c, free_ctx, NULL, &out);
  return out;
}

/*
 * alignedBuffer(size): `size` bytes aligned to 4096, for writes that
 * bypass the page cache (O_DIRECT, services/storage/fs-direct.ts), which
 * need memory aligned to the device's block size. Undefined where a runtime
 * allows no external buffers: the caller then writes through the cache.
 */
static void free_aligned(napi_env env, void *data, void *hint) { munmap(data, (size_t)(uintptr_t)hint); }

static napi_value aligned_buffer(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  get_args(env, info, 1, argv);
  double n;
  if (arg_number(env, argv[0], "size", &n) != 0) return NULL;
  if (!(n >= 4096 && n <= 67108864.0 && (size_t)n % 4096 == 0)) {
    napi_throw_range_error(env, "native.bad-argument", "size must be a multiple of 4096 up to 64 MiB");
    return NULL;
  }
  /*
   * A mapping of its own rather than posix_memalign(): given back whole
   * when freed, so stages never fragment the main arena. With the pool
   * freeing surplus stages at once (fs-direct.ts), first backups peaked
   * 174-186 against 180-200 MiB (6 interleaved pairs).
   */
  void *p = mmap(NULL, (size_t)n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) {
    napi_throw_error(env, "native.failed", "out of memory");
    return NULL;
  }
  napi_value ab, view;
  if (napi_create_external_arraybuffer(env, p, (size_t)n, free_aligned, (void *)(uintptr_t)n, &ab) != napi_ok) {
    munmap(p, (size_t)n);
    /* A pending exception would surface as this call's error: clear it and answer undefined. */
    napi_value ignored;
    bool pending = false;
    if (napi_is_exception_pending(env, &pending) == napi_ok && pending) napi_get_and_clear_last_exception(env, &ignored);
    return NULL;
  }
  napi_create_typedarray(env, napi_uint8_array, (size_t)n, ab, 0, &view);
  return view;
}

/* setTaskNice(levels): how many nice levels (0-19) below the process content tasks run; see task_nice.h. */
static napi_value set_task_nice(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  get_args(env, info, 1, argv);
  double levels;
  if (arg_number(env, argv[0], "levels", &levels) != 0) return NULL;
  if (!(levels >= 0 && levels <= 19 && levels == (double)(int)levels)) {
    napi_throw_range_error(env, "native.bad-argument", "levels must be an integer from 0 to 19");
    return NULL;
  }
  task_nice_set((int)levels);
  return NULL;
}

/* releaseIdle(): frees the buffers and contexts of slots no task holds. */
static napi_value release_idle(napi_env env, napi_callback_info info) {
  slot_free_idle();
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor fns[] = {
      {"createContext", NULL, create_context, NULL, NULL, NULL, napi_default_jsproperty, NULL},
      {"scan", NULL, op_scan, NULL, NULL, NULL, napi_default_jsproperty, NULL},
      {"readFiles", NULL, op_read_files, NULL, NULL, NULL, napi_default_jsproperty, NULL},
      {"readRange", NULL, op_read_range, NULL, NULL, NULL, napi_default_jsproperty, NULL},
      {"seal", NULL, op_seal, NULL, NULL, NULL, napi_default_jsproperty, NULL},
      {"place", NULL, op_place, NULL, NULL, NULL, napi_default_jsproperty, NULL},
      {"lstatBatch", NULL, op_lstat_batch, NULL, NULL, NULL, napi_default_jsproperty, NULL},
      {"alignedBuffer", NULL, aligned_buffer, NULL, NULL, NULL, napi_default_jsproperty, NULL},
      {"setTaskNice", NULL, set_task_nice, NULL, NULL, NULL, napi_default_jsproperty, NULL},
      {"releaseIdle", NULL, release_idle, NULL, NULL, NULL, napi_default_jsproperty, NULL},
  };
  napi_define_properties(env, exports, sizeof fns / sizeof fns[0], fns);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
