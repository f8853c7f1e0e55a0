#include "napi_args.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

static int bad(napi_env env, const char *what, const char *expected) {
  char msg[160];
  snprintf(msg, sizeof msg, "%s must be %s", what, expected);
  napi_throw_type_error(env, "native.bad-argument", msg);
  return -1;
}

int arg_typed(napi_env env, napi_value v, napi_typedarray_type want, const char *what, void **data, size_t *count) {
  bool is = false;
  napi_typedarray_type type;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is) return bad(env, what, "a typed array");
  if (napi_get_typedarray_info(env, v, &type, count, data, NULL, NULL) != napi_ok || type != want) return bad(env, what, "a typed array of the right type");
  return 0;
}

int arg_bytes(napi_env env, napi_value v, const char *what, const uint8_t **data, size_t *n) {
  void *p = NULL;
  if (arg_typed(env, v, napi_uint8_array, what, &p, n) != 0) return -1;
  *data = p;
  return 0;
}

int arg_key(napi_env env, napi_value v, uint8_t key[32]) {
  const uint8_t *p;
  size_t n;
  if (arg_bytes(env, v, "key", &p, &n) != 0) return -1;
  if (n != 32) return bad(env, "key", "32 bytes");
  memcpy(key, p, 32);
  return 0;
}

int arg_number(napi_env env, napi_value v, const char *what, double *out) {
  if (napi_get_value_double(env, v, out) != napi_ok) return bad(env, what, "a number");
  return 0;
}

char *arg_string(napi_env env, napi_value v, const char *what) {
  size_t n = 0;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &n) != napi_ok) {
    bad(env, what, "a string");
    return NULL;
  }
  char *s = malloc(n + 1);
  if (s == NULL) {
    napi_throw_error(env, "native.failed", "out of memory");
    return NULL;
  }
  napi_get_value_string_utf8(env, v, s, n + 1, &n);
  if (strlen(s) != n) { /* a NUL inside: no file has such a name */
    free(s);
    bad(env, what, "a path without NUL bytes");
    return NULL;
  }
  return s;
}

int arg_array(napi_env env, napi_value v, const char *what, uint32_t *length) {
  bool is = false;
  if (napi_is_array(env, v, &is) != napi_ok || !is) return bad(env, what, "an array");
  napi_get_array_length(env, v, length);
  return 0;
}

static void free_owned(napi_env env, void *data, void *hint) { free(data); }

napi_value own_bytes(napi_env env, uint8_t *data, size_t n) {
  napi_value ab, view;
  if (napi_create_external_arraybuffer(env, data, n, free_owned, NULL, &ab) != napi_ok) {
    napi_value copy = copy_bytes(env, data, n); /* a runtime that allows no external buffers */
    free(data);
    return copy;
  }
  napi_create_typedarray(env, napi_uint8_array, n, ab, 0, &view);
  return view;
}

napi_value copy_bytes(napi_env env, const uint8_t *data, size_t n) {
  napi_value ab, view;
  void *p = NULL;
  napi_create_arraybuffer(env, n, &p, &ab);
  if (n > 0) memcpy(p, data, n);
  napi_create_typedarray(env, napi_uint8_array, n, ab, 0, &view);
  return view;
}

napi_value number(napi_env env, double v) {
  napi_value out;
  napi_create_double(env, v, &out);
  return out;
}

static napi_value str(napi_env env, const char *s) {
  napi_value out;
  napi_create_string_utf8(env, s, NAPI_AUTO_LENGTH, &out);
  return out;
}

napi_value failure_error(napi_env env, const char *code, const char *message) {
  napi_value err;
  napi_create_error(env, str(env, code), str(env, message), &err);
  return err;
}

napi_value io_error(napi_env env, const io_failure *io) {
  int uv = uv_translate_sys_error(io->errnum);
  char message[200];
  snprintf(message, sizeof message, "%s: %s, %s", uv_err_name(uv), uv_strerror(uv), io->syscall);
  napi_value err = failure_error(env, uv_err_name(uv), message);
  napi_set_named_property(env, err, "syscall", str(env, io->syscall));
  napi_set_named_property(env, err, "errno", number(env, uv));
  return err;
}
