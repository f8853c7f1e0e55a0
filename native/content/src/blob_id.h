/*
 * Blob IDs: HMAC-SHA256(idKey, plaintext), as blobId() in
 * services/crypto/tenant-keys.ts. The key's inner and outer SHA-256 states
 * are computed once, so an ID of a tiny file costs two short hashes and no
 * key set-up (OpenSSL's HMAC() looks its digest up on every call).
 */
#ifndef FERRY_BLOB_ID_H
#define FERRY_BLOB_ID_H
#include <stddef.h>
#include <stdint.h>
#include <openssl/sha.h>

typedef struct {
  SHA256_CTX inner, outer;
} blob_id_key;

void blob_id_key_init(blob_id_key *k, const uint8_t *key, size_t key_len);
void blob_id(const blob_id_key *k, const uint8_t *data, size_t n, uint8_t out[32]);

#endif
