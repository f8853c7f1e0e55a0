/*
 * The work of each operation, as plain C on a thread-pool thread: no N-API
 * here (binding.c marshals). Each function mirrors one op of
 * services/repo/blob-worker.ts, whose contracts services/repo/content.ts
 * and place-blobs.ts state.
 */
#ifndef FERRY_TASKS_H
#define FERRY_TASKS_H
#include <stddef.h>
#include <stdint.h>
#include "blob_id.h"
#include "blob_seal.h"
#include "cdc.h"
#include "file_io.h"
#include "known_filter.h"
#include "quickxor.h"

/* Per repository: chunker parameters and the blob-ID key. Read-only once made. */
typedef struct {
  cdc_params cdc;
  blob_id_key id_key;
  size_t read_size; /* bytes per read() while chunking */
} content_ctx;

/* How a task failed as a whole: a system call (io.errnum set) or something else (`failure`). */
typedef struct {
  io_failure io;
  const char *failure;
} task_error;

typedef struct {
  uint8_t id[32];
  uint64_t offset;
  size_t length;
  uint8_t *sealed; /* NULL when the known filter said the repository may have it */
  size_t sealed_len;
} chunk_out;

typedef struct {
  chunk_out *chunks;
  size_t count, cap;
  uint64_t next;
  int eof;
  uint8_t fold[QX_PERIOD];
} scan_out;

/*
 * scanSegment(): chunks from `start` (a chunk boundary) until `budget` bytes,
 * chunks of `seal_budget` bytes sealed, or the end of the file.
 */
int task_scan(const content_ctx *c, slot *s, const char *path, uint64_t start, uint64_t budget, uint64_t seal_budget, const uint8_t key[32], int level,
              const known_filter *known, scan_out *out, task_error *err);

typedef struct {
  int ok;
  io_failure io; /* when !ok and io.errnum != 0 */
  const char *failure; /* when !ok otherwise */
  uint64_t size;
  uint8_t id[32];
  int64_t hash;
  uint8_t *sealed;
  size_t sealed_len;
} whole_out;

/* readFiles(): one file, read whole as one blob. Never fails as a task: the file's error goes into `out`. */
void task_read_whole(const content_ctx *c, slot *s, const char *path, const uint8_t key[32], int level, const known_filter *known, whole_out *out);

/* readRange(): `length` bytes (fewer at the end of the file) from `offset`, with their ID, sealed. */
int task_read_range(const content_ctx *c, slot *s, const char *path, uint64_t offset, size_t length, const uint8_t key[32], int level,
                    uint8_t id[32], size_t *got, uint8_t **sealed, size_t *sealed_len, task_error *err);

/* place(): one blob of a pack range, opened and written to each (fd, position); 0, or -1 with `why`. */
typedef struct {
  const uint8_t *id;
  uint8_t type;
  size_t at, length, raw_length;
  const double *dests; /* fd, position pairs */
  size_t dest_count;
} place_blob;

int task_place(slot *s, const uint8_t key[32], const uint8_t *sealed, size_t sealed_len, const place_blob *b, open_failure *why, io_failure *io);

#endif
