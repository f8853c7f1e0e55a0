/*
 * What one task needs while it runs on a thread-pool thread: the chunker's
 * read window, zstd contexts, AES-GCM contexts, scratch for compressed and
 * decrypted bytes, and a store of nonces. Slots are kept on a free list
 * rather than per thread, so their number is the number of tasks that ever
 * ran at once (the TypeScript side bounds that), not the pool's size.
 */
#ifndef FERRY_SLOTS_H
#define FERRY_SLOTS_H
#include <stddef.h>
#include <stdint.h>
#include <openssl/evp.h>
#include "zstd_api.h"

#define NONCE_BYTES 12
#define NONCE_STORE (NONCE_BYTES * 512)

typedef struct slot {
  struct slot *next;
  uint8_t *window;
  size_t window_cap;
  uint8_t *zbuf; /* decrypted frames on restore */
  size_t zbuf_cap;
  uint8_t *plain; /* decompressed blobs on restore */
  size_t plain_cap;
  ZSTD_CCtx *cctx;
  ZSTD_DCtx *dctx;
  EVP_CIPHER_CTX *enc, *dec;
  uint8_t nonces[NONCE_STORE];
  size_t nonce_at;
} slot;

/* A free slot, or a new one; NULL only when memory ran out. */
slot *slot_take(void);
void slot_give(slot *s);
/* Frees the slots no task holds (after a job, so an idle process keeps none of their memory). */
void slot_free_idle(void);

/* Grows *buf to at least `need` bytes (contents not kept); 0 on success. */
int slot_reserve(uint8_t **buf, size_t *cap, size_t need);

#endif
