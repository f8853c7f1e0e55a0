#include "tasks.h"
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DATA_BLOB 0

static int push_chunk(scan_out *o, chunk_out **slot_out) {
  if (o->count == o->cap) {
    size_t cap = o->cap == 0 ? 16 : o->cap * 2;
    chunk_out *grown = realloc(o->chunks, cap * sizeof *grown);
    if (grown == NULL) return -1;
    o->chunks = grown;
    o->cap = cap;
  }
  *slot_out = &o->chunks[o->count++];
  memset(*slot_out, 0, sizeof **slot_out);
  return 0;
}

/*
 * The chunker's loop of chunkFile() in chunker.ts over a window of
 * max_size + read_size bytes: a chunk is cut as soon as its end has been
 * read, so a segment reads little beyond its last chunk.
 */
int task_scan(const content_ctx *c, slot *s, const char *path, uint64_t start, uint64_t budget, uint64_t seal_budget, const uint8_t key[32], int level,
              const known_filter *known, scan_out *out, task_error *err) {
  const cdc_params *p = &c->cdc;
  size_t cap = p->max_size + c->read_size;
  if (slot_reserve(&s->window, &s->window_cap, cap) != 0) {
    err->failure = "out of memory";
    return -1;
  }
  int fd = open_source(path, &err->io);
  if (fd < 0) return -1;
  quickxor qx;
  qx_init(&qx, start);
  uint8_t *win = s->window;
  size_t pos = 0, len = 0, scanned = 0;
  uint64_t sealed_bytes = 0;
  uint64_t position = start, offset = start;
  int eof = 0, result = 0;
  out->eof = 1;
  for (;;) {
    if (len > pos) {
      size_t n = cdc_find_cut(p, win, pos, len, eof, pos + scanned);
      if (n > 0) {
        chunk_out *ch;
        if (push_chunk(out, &ch) != 0) {
          err->failure = "out of memory";
          result = -1;
          break;
        }
        blob_id(&c->id_key, win + pos, n, ch->id);
        qx_update(&qx, win + pos, n);
        ch->offset = offset;
        ch->length = n;
        if (!known_may_have(known, ch->id)) {
          const char *why = blob_seal(s, key, ch->id, DATA_BLOB, win + pos, n, level, &ch->sealed, &ch->sealed_len);
          if (why != NULL) {
            err->failure = why;
            result = -1;
            break;
          }
          sealed_bytes += n;
        }
        pos += n;
        offset += n;
        scanned = 0;
        if (offset - start >= budget || sealed_bytes >= seal_budget) {
          out->eof = 0;
          break;
        }
        continue;
      }
      scanned = len - pos;
    } else if (eof) {
      break;
    }
    if (len == cap) { /* only while less than max_size is held, so pos > 0 */
      memmove(win, win + pos, len - pos);
      len -= pos;
      pos = 0;
    }
    size_t want = cap - len < c->read_size ? cap - len : c->read_size;
    int64_t got = read_fully(fd, win + len, want, position, &err->io);
    if (got < 0) {
      result = -1;
      break;
    }
    if ((size_t)got < want) eof = 1;
    len += (size_t)got;
    position += (uint64_t)got;
  }
  close(fd);
  out->next = offset;
  memcpy(out->fold, qx.acc, QX_PERIOD);
  return result;
}

/*
 * Reads `length` bytes of `path` from `offset` (fewer at the end of the
 * file; a negative length: the size fstat reports, as readFileSync does)
 * into the slot's window. The bytes read, or -1 with `io` or `*failure` set.
 */
static int64_t read_into_window(slot *s, const char *path, uint64_t offset, int64_t length, io_failure *io, const char **failure) {
  int fd = open_source(path, io);
  if (fd < 0) return -1;
  int64_t got = -1;
  if (length < 0) length = file_size(fd, io);
  if (length >= 0) {
    if (slot_reserve(&s->window, &s->window_cap, (size_t)length + 1) != 0) *failure = "out of memory";
    else got = read_fully(fd, s->window, (size_t)length, offset, io);
  }
  close(fd);
  return got;
}

void task_read_whole(const content_ctx *c, slot *s, const char *path, const uint8_t key[32], int level, const known_filter *known, whole_out *out) {
  memset(out, 0, sizeof *out);
  int64_t got = read_into_window(s, path, 0, -1, &out->io, &out->failure);
  if (got < 0) return;
  out->size = (uint64_t)got;
  blob_id(&c->id_key, s->window, (size_t)got, out->id);
  quickxor qx;
  qx_init(&qx, 0);
  qx_update(&qx, s->window, (size_t)got);
  out->hash = qx_hash64(&qx);
  if (!known_may_have(known, out->id)) {
    out->failure = blob_seal(s, key, out->id, DATA_BLOB, s->window, (size_t)got, level, &out->sealed, &out->sealed_len);
    if (out->failure != NULL) return;
  }
  out->ok = 1;
}

int task_read_range(const content_ctx *c, slot *s, const char *path, uint64_t offset, size_t length, const uint8_t key[32], int level,
                    uint8_t id[32], size_t *got, uint8_t **sealed, size_t *sealed_len, task_error *err) {
  int64_t n = read_into_window(s, path, offset, (int64_t)length, &err->io, &err->failure);
  if (n < 0) return -1;
  *got = (size_t)n;
  blob_id(&c->id_key, s->window, (size_t)n, id);
  err->failure = blob_seal(s, key, id, DATA_BLOB, s->window, (size_t)n, level, sealed, sealed_len);
  return err->failure == NULL ? 0 : -1;
}

int task_place(slot *s, const uint8_t key[32], const uint8_t *sealed, size_t sealed_len, const place_blob *b, open_failure *why, io_failure *io) {
  if (b->at > sealed_len || b->length > sealed_len - b->at) {
    return open_failed(why, "repo.corrupt", "a blob lies outside the pack range read for it");
  }
  const uint8_t *plain;
  if (blob_open(s, key, b->id, b->type, sealed + b->at, b->length, b->raw_length, &plain, why) != 0) return -1;
  for (size_t d = 0; d < b->dest_count; d++) {
    if (write_fully((int)b->dests[2 * d], plain, b->raw_length, (uint64_t)b->dests[2 * d + 1], io) != 0) {
      why->code = NULL;
      return -1;
    }
  }
  return 0;
}
