#include "slots.h"
#include <pthread.h>
#include <stdlib.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static slot *free_list;

slot *slot_take(void) {
  pthread_mutex_lock(&lock);
  slot *s = free_list;
  if (s != NULL) free_list = s->next;
  pthread_mutex_unlock(&lock);
  if (s != NULL) return s;
  s = calloc(1, sizeof *s);
  if (s == NULL) return NULL;
  s->nonce_at = NONCE_STORE; /* empty: filled on first use */
  return s;
}

void slot_give(slot *s) {
  pthread_mutex_lock(&lock);
  s->next = free_list;
  free_list = s;
  pthread_mutex_unlock(&lock);
}

static void slot_free(slot *s) {
  free(s->window);
  free(s->zbuf);
  free(s->plain);
  if (s->cctx) ZSTD_freeCCtx(s->cctx);
  if (s->dctx) ZSTD_freeDCtx(s->dctx);
  if (s->enc) EVP_CIPHER_CTX_free(s->enc);
  if (s->dec) EVP_CIPHER_CTX_free(s->dec);
  free(s);
}

void slot_free_idle(void) {
  pthread_mutex_lock(&lock);
  slot *s = free_list;
  free_list = NULL;
  pthread_mutex_unlock(&lock);
  while (s != NULL) {
    slot *next = s->next;
    slot_free(s);
    s = next;
  }
}

int slot_reserve(uint8_t **buf, size_t *cap, size_t need) {
  if (*cap >= need) return 0;
  size_t want = *cap * 2 > need ? *cap * 2 : need;
  free(*buf);
  *buf = malloc(want);
  *cap = *buf == NULL ? 0 : want;
  return *buf == NULL ? -1 : 0;
}
