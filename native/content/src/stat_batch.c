/*
 * lstatBatch(dir, names, nums, bigs, errs): the metadata of many entries of
 * one directory, for the backup walk (services/sources/local-fs.ts). One
 * synchronous call per batch: statx() relative to the directory, so the
 * kernel does not walk the whole path again for every entry, and no Stats
 * object with 18 BigInts per entry (Node's lstatSync with bigint: true),
 * whose garbage was a tenth of a walk's allocations.
 *
 * The fields are libuv's, so the values equal Node's lstat: statx with
 * AT_SYMLINK_NOFOLLOW, st_dev and st_rdev as makedev(major, minor), and the
 * birth time as statx reports it (zero where the filesystem has none).
 * Per entry i: nums[5i..] = mode, uid, gid, size, nlink; bigs[7i..] =
 * atime, mtime, ctime, birth time (nanoseconds), inode, device, rdev;
 * errs[i] = 0, or the errno of a failed call (the caller asks Node again,
 * for its error).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include "async_task.h"
#include "napi_args.h"

#define NUMS 5
#define BIGS 7

static int64_t ns(struct statx_timestamp t) { return (int64_t)t.tv_sec * 1000000000LL + t.tv_nsec; }

static void fill(const struct statx *sx, double *nums, int64_t *bigs) {
  nums[0] = sx->stx_mode;
  nums[1] = sx->stx_uid;
  nums[2] = sx->stx_gid;
  nums[3] = (double)sx->stx_size;
  nums[4] = sx->stx_nlink;
  bigs[0] = ns(sx->stx_atime);
  bigs[1] = ns(sx->stx_mtime);
  bigs[2] = ns(sx->stx_ctime);
  bigs[3] = ns(sx->stx_btime);
  bigs[4] = (int64_t)sx->stx_ino;
  bigs[5] = (int64_t)makedev(sx->stx_dev_major, sx->stx_dev_minor);
  bigs[6] = (int64_t)makedev(sx->stx_rdev_major, sx->stx_rdev_minor);
}

napi_value op_lstat_batch(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  get_args(env, info, 5, argv);
  uint32_t n = 0;
  void *nums = NULL, *bigs = NULL, *errs = NULL;
  size_t nn = 0, nb = 0, ne = 0;
  if (arg_array(env, argv[1], "names", &n) != 0 || arg_typed(env, argv[2], napi_float64_array, "nums", &nums, &nn) != 0 ||
      arg_typed(env, argv[3], napi_bigint64_array, "bigs", &bigs, &nb) != 0 || arg_typed(env, argv[4], napi_int32_array, "errs", &errs, &ne) != 0)
    return NULL;
  if (nn < (size_t)NUMS * n || nb < (size_t)BIGS * n || ne < n) {
    napi_throw_range_error(env, "native.bad-argument", "lstatBatch: the output arrays are too short for the names");
    return NULL;
  }
  char *dir = arg_string(env, argv[0], "dir");
  if (dir == NULL) return NULL;
  int dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
  int dir_errno = dfd < 0 ? errno : 0;
  free(dir);
  char name[1024]; /* a name is at most 255 bytes on Linux filesystems; longer ones fail as ENAMETOOLONG */
  for (uint32_t i = 0; i < n; i++) {
    int32_t *err = (int32_t *)errs + i;
    if (dfd < 0) {
      *err = dir_errno;
      continue;
    }
    napi_value v;
    size_t len = 0;
    napi_get_element(env, argv[1], i, &v);
    if (napi_get_value_string_utf8(env, v, name, sizeof name, &len) != napi_ok) {
      *err = EINVAL;
      continue;
    }
    if (len >= sizeof name - 1 || strlen(name) != len) {
      *err = len >= sizeof name - 1 ? ENAMETOOLONG : EINVAL;
      continue;
    }
    struct statx sx;
    if (statx(dfd, name, AT_SYMLINK_NOFOLLOW | AT_STATX_SYNC_AS_STAT, STATX_BASIC_STATS | STATX_BTIME, &sx) != 0) {
      *err = errno;
      continue;
    }
    *err = 0;
    fill(&sx, (double *)nums + (size_t)NUMS * i, (int64_t *)bigs + (size_t)BIGS * i);
  }
  if (dfd >= 0) close(dfd);
  return NULL;
}
