/*
 * Small N-API helpers for the binding: reading arguments (each returns 0,
 * or throws a TypeError and returns -1) and making results.
 */
#ifndef FERRY_NAPI_ARGS_H
#define FERRY_NAPI_ARGS_H
#include <node_api.h>
#include <stddef.h>
#include <stdint.h>
#include "file_io.h"

int arg_typed(napi_env env, napi_value v, napi_typedarray_type want, const char *what, void **data, size_t *count);
int arg_bytes(napi_env env, napi_value v, const char *what, const uint8_t **data, size_t *n);
int arg_key(napi_env env, napi_value v, uint8_t key[32]);
int arg_number(napi_env env, napi_value v, const char *what, double *out);
/* A malloc()ed UTF-8 copy, or NULL (thrown). */
char *arg_string(napi_env env, napi_value v, const char *what);
int arg_array(napi_env env, napi_value v, const char *what, uint32_t *length);

/* A Uint8Array over bytes malloc()ed by the addon, which it now owns (freed with it). */
napi_value own_bytes(napi_env env, uint8_t *data, size_t n);
napi_value copy_bytes(napi_env env, const uint8_t *data, size_t n);
napi_value number(napi_env env, double v);
/* An Error for a failed system call (code "ENOENT", property syscall), or for anything else (code "native.failed"). */
napi_value io_error(napi_env env, const io_failure *io);
napi_value failure_error(napi_env env, const char *code, const char *message);

#endif
