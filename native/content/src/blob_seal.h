/*
 * Blobs as stored in packs, as services/repo/blob.ts: AES-256-GCM(packKey,
 * codec byte || payload, aad = blob ID || blob type), laid out as
 * nonce (12) || ciphertext || tag (16). The payload is zstd at `level`
 * unless that does not make it smaller (codec 0: stored as is).
 */
#ifndef FERRY_BLOB_SEAL_H
#define FERRY_BLOB_SEAL_H
#include <stddef.h>
#include <stdint.h>
#include "slots.h"

#define SEAL_OVERHEAD (NONCE_BYTES + 1 + 16)

/* Seals into a fresh malloc()ed buffer (*out, *out_len); returns NULL on success, else what failed. */
const char *blob_seal(slot *s, const uint8_t key[32], const uint8_t id[32], uint8_t type, const uint8_t *plain, size_t n, int level, uint8_t **out, size_t *out_len);

/* Why a blob failed to open: a code of the TypeScript side and a message. */
typedef struct {
  const char *code;
  char message[160];
} open_failure;

/* Fills `why` (printf-style message) and returns -1. */
int open_failed(open_failure *why, const char *code, const char *format, ...) __attribute__((format(printf, 3, 4)));

/*
 * Opens a sealed blob whose plaintext the index says is `raw_len` bytes.
 * On success *plain points into the slot's buffers (valid until its next
 * use) and the result is 0; otherwise `why` says what failed.
 */
int blob_open(slot *s, const uint8_t key[32], const uint8_t id[32], uint8_t type, const uint8_t *sealed, size_t n, size_t raw_len, const uint8_t **plain, open_failure *why);

#endif
