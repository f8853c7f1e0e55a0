#include "blob_seal.h"
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/rand.h>

#define TAG_BYTES 16
#define ZSTD_CODEC 1

static EVP_CIPHER *gcm;
static pthread_once_t gcm_once = PTHREAD_ONCE_INIT;
/* Fetched once: passing EVP_aes_256_gcm() looks the implementation up again on every initialisation. */
static void fetch_gcm(void) { gcm = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL); }

/* A context bound to AES-256-GCM once; each blob then sets only its key and nonce. */
static EVP_CIPHER_CTX *cipher_ctx(EVP_CIPHER_CTX **ctx, int encrypt) {
  if (*ctx != NULL) return *ctx;
  pthread_once(&gcm_once, fetch_gcm);
  if (gcm == NULL) return NULL;
  EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
  if (c == NULL) return NULL;
  int ok = encrypt ? EVP_EncryptInit_ex2(c, gcm, NULL, NULL, NULL) : EVP_DecryptInit_ex2(c, gcm, NULL, NULL, NULL);
  if (ok != 1) {
    EVP_CIPHER_CTX_free(c);
    return NULL;
  }
  return *ctx = c;
}

static int fresh_nonce(slot *s, uint8_t out[NONCE_BYTES]) {
  /* From the CSPRNG 512 at a time, as services/crypto/aead.ts does. */
  if (s->nonce_at + NONCE_BYTES > NONCE_STORE) {
    if (RAND_bytes(s->nonces, NONCE_STORE) != 1) return -1;
    s->nonce_at = 0;
  }
  memcpy(out, s->nonces + s->nonce_at, NONCE_BYTES);
  s->nonce_at += NONCE_BYTES;
  return 0;
}

static void aad_for(const uint8_t id[32], uint8_t type, uint8_t aad[33]) {
  memcpy(aad, id, 32);
  aad[32] = type;
}

/*
 * zstd writes straight into the sealed buffer, which AES-GCM then encrypts
 * in place, and the buffer is trimmed to fit: no per-slot scratch as large
 * as the largest chunk (8 MiB a slot at the tail of a first backup), and
 * the pages of the bound that zstd never writes are never touched.
 */
const char *blob_seal(slot *s, const uint8_t key[32], const uint8_t id[32], uint8_t type, const uint8_t *plain, size_t n, int level, uint8_t **out, size_t *out_len) {
  int try_zstd = n >= 64 && level > 0;
  size_t cap = try_zstd ? ZSTD_compressBound(n) : n;
  uint8_t *o = malloc(SEAL_OVERHEAD + cap);
  if (o == NULL) return "out of memory";
  uint8_t *body = o + NONCE_BYTES;
  uint8_t codec = 0;
  size_t plen = n;
  if (try_zstd) {
    if (s->cctx == NULL && (s->cctx = ZSTD_createCCtx()) == NULL) {
      free(o);
      return "out of memory";
    }
    size_t r = ZSTD_compressCCtx(s->cctx, body + 1, cap, plain, n, level);
    if (ZSTD_isError(r)) {
      free(o);
      return "zstd failed to compress a blob";
    }
    if (r < n) {
      codec = ZSTD_CODEC;
      plen = r;
    }
  }
  /* Compressed: encrypted in place. Stored as is: encrypted from the caller's bytes, sparing a copy. */
  const uint8_t *payload = codec == ZSTD_CODEC ? body + 1 : plain;
  EVP_CIPHER_CTX *c = cipher_ctx(&s->enc, 1);
  uint8_t aad[33];
  aad_for(id, type, aad);
  int len = 0;
  if (c == NULL || fresh_nonce(s, o) != 0 || EVP_EncryptInit_ex2(c, NULL, key, o, NULL) != 1 || EVP_EncryptUpdate(c, NULL, &len, aad, 33) != 1 ||
      EVP_EncryptUpdate(c, body, &len, &codec, 1) != 1 || EVP_EncryptUpdate(c, body + 1, &len, payload, (int)plen) != 1 ||
      EVP_EncryptFinal_ex(c, body + 1 + plen, &len) != 1 || EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, TAG_BYTES, body + 1 + plen) != 1) {
    free(o);
    return c == NULL ? "AES-256-GCM is not available from Node's OpenSSL" : "AES-256-GCM failed to seal a blob";
  }
  size_t total = SEAL_OVERHEAD + plen;
  if (total < SEAL_OVERHEAD + cap) {
    uint8_t *trimmed = realloc(o, total);
    if (trimmed != NULL) o = trimmed;
  }
  *out = o;
  *out_len = total;
  return NULL;
}

int open_failed(open_failure *why, const char *code, const char *format, ...) {
  va_list args;
  va_start(args, format);
  why->code = code;
  vsnprintf(why->message, sizeof why->message, format, args);
  va_end(args);
  return -1;
}

int blob_open(slot *s, const uint8_t key[32], const uint8_t id[32], uint8_t type, const uint8_t *sealed, size_t n, size_t raw_len, const uint8_t **plain, open_failure *why) {
  if (n < NONCE_BYTES + TAG_BYTES) {
    return open_failed(why, "crypto.auth", "blob is too short to be sealed data (%zu bytes)", n);
  }
  size_t body = n - NONCE_BYTES - TAG_BYTES;
  EVP_CIPHER_CTX *c = cipher_ctx(&s->dec, 0);
  if (c == NULL) return open_failed(why, "native.failed", "AES-256-GCM is not available from Node's OpenSSL");
  if (slot_reserve(&s->zbuf, &s->zbuf_cap, body + 1) != 0) return open_failed(why, "native.failed", "out of memory");
  uint8_t aad[33];
  aad_for(id, type, aad);
  int len = 0, fin = 0;
  if (EVP_DecryptInit_ex2(c, NULL, key, sealed, NULL) != 1 || EVP_DecryptUpdate(c, NULL, &len, aad, 33) != 1 ||
      EVP_DecryptUpdate(c, s->zbuf, &len, sealed + NONCE_BYTES, (int)body) != 1 ||
      EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, TAG_BYTES, (void *)(sealed + n - TAG_BYTES)) != 1 ||
      EVP_DecryptFinal_ex(c, s->zbuf + len, &fin) != 1) {
    return open_failed(why, "crypto.auth", "blob failed authentication: it was altered, corrupted, or sealed with another key");
  }
  if (body == 0) return open_failed(why, "repo.corrupt", "blob uses unknown compression (it is empty)");
  uint8_t codec = s->zbuf[0];
  const uint8_t *frame = s->zbuf + 1;
  size_t frame_len = body - 1, got;
  if (codec == 0) {
    *plain = frame;
    got = frame_len;
  } else if (codec == ZSTD_CODEC) {
    unsigned long long declared = ZSTD_getFrameContentSize(frame, frame_len);
    if (declared == ZSTD_CONTENTSIZE_ERROR) return open_failed(why, "repo.corrupt", "blob failed to decompress");
    if (declared != ZSTD_CONTENTSIZE_UNKNOWN && declared != raw_len) {
      return open_failed(why, "repo.corrupt", "a blob holds %llu bytes where the index says %zu", declared, raw_len);
    }
    if (slot_reserve(&s->plain, &s->plain_cap, raw_len + 1) != 0) return open_failed(why, "native.failed", "out of memory");
    if (s->dctx == NULL && (s->dctx = ZSTD_createDCtx()) == NULL) return open_failed(why, "native.failed", "out of memory");
    got = ZSTD_decompressDCtx(s->dctx, s->plain, raw_len, frame, frame_len);
    if (ZSTD_isError(got)) return open_failed(why, "repo.corrupt", "blob failed to decompress");
    *plain = s->plain;
  } else {
    return open_failed(why, "repo.corrupt", "blob uses unknown compression %u", codec);
  }
  if (got != raw_len) {
    return open_failed(why, "repo.corrupt", "a blob holds %zu bytes where the index says %zu", got, raw_len);
  }
  return 0;
}
