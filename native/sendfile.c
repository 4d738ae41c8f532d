/*
 * sendfile(2) for Node: copies a range of a file to a connected socket in the kernel, without the
 * bytes passing through JavaScript. Each transfer runs on a thread of its own, so a slow client
 * blocks neither the event loop nor libuv's thread pool (which the file system calls share).
 *
 *   sendFile(socketFd, fileFd, offset, length, idleTimeoutMs) -> Promise<number>
 *     Resolves with the bytes sent (== length), or rejects with an Error whose `code` is the errno
 *     name (EPIPE, ECONNRESET, ETIMEDOUT when the client read nothing for idleTimeoutMs, ECANCELED
 *     after abort, EOF when the file was shorter than the range).
 *   The socket fd is duplicated before the call returns, so the transfer writes to the same
 *   connection even if JavaScript closes its descriptor meanwhile; the caller must keep the file
 *   descriptor open until the promise settles, and write nothing else to the socket meanwhile.
 *   The returned promise carries an `abort()` function: the transfer stops within a second.
 */
#define _GNU_SOURCE
#include <node_api.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <unistd.h>

/* One sendfile call moves at most this much, so an abort is seen between calls. */
#define MAX_CHUNK (8 * 1024 * 1024)
/* How often a transfer waiting for the client looks at its abort flag. */
#define POLL_SLICE_MS 1000

typedef struct {
  int socket_fd; /* our duplicate */
  int file_fd;
  int64_t offset;
  int64_t length;
  int64_t sent;
  int64_t idle_timeout_ms;
  int error; /* errno, or -1 for a file shorter than the range */
  atomic_int aborted;
  napi_deferred deferred;
  napi_threadsafe_function done;
} Transfer;

/*
 * Hands a finished transfer to the JavaScript thread. `t` may be freed as soon as it is queued
 * (settle runs, the promise and its abort function are collected), so it is not read after.
 */
static void finish(Transfer *t) {
  napi_threadsafe_function done = t->done;
  napi_call_threadsafe_function(done, t, napi_tsfn_nonblocking);
  napi_release_threadsafe_function(done, napi_tsfn_release);
}

static void *run_transfer(void *arg) {
  Transfer *t = arg;
  int64_t idle_ms = 0;
  while (t->sent < t->length) {
    if (atomic_load(&t->aborted)) { t->error = ECANCELED; break; }
    off_t offset = (off_t)(t->offset + t->sent);
    int64_t left = t->length - t->sent;
    ssize_t n = sendfile(t->socket_fd, t->file_fd, &offset, (size_t)(left < MAX_CHUNK ? left : MAX_CHUNK));
    if (n > 0) { t->sent += n; idle_ms = 0; continue; }
    if (n == 0) { t->error = -1; break; }
    if (errno == EINTR) continue;
    if (errno != EAGAIN) { t->error = errno; break; }
    /* The client's receive window is full: wait until the socket takes more. */
    struct pollfd p = { .fd = t->socket_fd, .events = POLLOUT };
    int ready = poll(&p, 1, POLL_SLICE_MS);
    if (ready < 0 && errno != EINTR) { t->error = errno; break; }
    if (ready == 0) {
      idle_ms += POLL_SLICE_MS;
      if (idle_ms >= t->idle_timeout_ms) { t->error = ETIMEDOUT; break; }
    }
  }
  close(t->socket_fd);
  finish(t);
  return NULL;
}

static const char *error_code(int error) {
  switch (error) {
    case -1: return "EOF";
    case EPIPE: return "EPIPE";
    case ECONNRESET: return "ECONNRESET";
    case ETIMEDOUT: return "ETIMEDOUT";
    case ECANCELED: return "ECANCELED";
    case EBADF: return "EBADF";
    case ENOTCONN: return "ENOTCONN";
    default: return "EIO";
  }
}

/* On the JavaScript thread, once a transfer's thread has finished. */
static void settle(napi_env env, napi_value js_callback, void *context, void *data) {
  (void)js_callback; (void)context;
  Transfer *t = data;
  if (env != NULL) {
    if (t->error == 0) {
      napi_value sent;
      napi_create_int64(env, t->sent, &sent);
      napi_resolve_deferred(env, t->deferred, sent);
    } else {
      const char *code = error_code(t->error);
      const char *text = t->error == -1 ? "the file ended before the range" : strerror(t->error);
      napi_value code_value, message, error;
      napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &code_value);
      napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &message);
      napi_create_error(env, code_value, message, &error);
      napi_reject_deferred(env, t->deferred, error);
    }
  }
}

/* A transfer lives as long as its abort function, which its promise holds until settled. */
static void free_transfer(napi_env env, void *data, void *hint) {
  (void)env; (void)hint;
  free(data);
}

static napi_value abort_transfer(napi_env env, napi_callback_info info) {
  void *data;
  napi_get_cb_info(env, info, NULL, NULL, NULL, &data);
  Transfer *t = data;
  atomic_store(&t->aborted, 1);
  return NULL;
}

#define CHECK(call) do { if ((call) != napi_ok) { napi_throw_error(env, NULL, "sendfile: " #call " failed"); return NULL; } } while (0)

static napi_value send_file(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 5) { napi_throw_type_error(env, NULL, "sendFile(socketFd, fileFd, offset, length, idleTimeoutMs)"); return NULL; }
  int32_t socket_fd, file_fd;
  int64_t offset, length, idle_timeout_ms;
  CHECK(napi_get_value_int32(env, argv[0], &socket_fd));
  CHECK(napi_get_value_int32(env, argv[1], &file_fd));
  CHECK(napi_get_value_int64(env, argv[2], &offset));
  CHECK(napi_get_value_int64(env, argv[3], &length));
  CHECK(napi_get_value_int64(env, argv[4], &idle_timeout_ms));
  if (socket_fd < 0 || file_fd < 0 || offset < 0 || length < 0 || idle_timeout_ms <= 0) {
    napi_throw_range_error(env, NULL, "sendFile: negative descriptor, offset or length, or no timeout");
    return NULL;
  }

  Transfer *t = calloc(1, sizeof(Transfer));
  if (t == NULL) { napi_throw_error(env, "ENOMEM", "sendFile: out of memory"); return NULL; }
  t->socket_fd = dup(socket_fd);
  if (t->socket_fd < 0) {
    free(t);
    napi_throw_error(env, error_code(errno), strerror(errno));
    return NULL;
  }
  t->file_fd = file_fd;
  t->offset = offset;
  t->length = length;
  t->idle_timeout_ms = idle_timeout_ms;

  napi_value promise, name, abort_fn;
  CHECK(napi_create_promise(env, &t->deferred, &promise));
  CHECK(napi_create_string_utf8(env, "sendFile", NAPI_AUTO_LENGTH, &name));
  CHECK(napi_create_threadsafe_function(env, NULL, NULL, name, 0, 1, NULL, NULL, NULL, settle, &t->done));
  CHECK(napi_create_function(env, "abort", NAPI_AUTO_LENGTH, abort_transfer, t, &abort_fn));
  CHECK(napi_add_finalizer(env, abort_fn, t, free_transfer, NULL, NULL));
  CHECK(napi_set_named_property(env, promise, "abort", abort_fn));

  pthread_t thread;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&attr, 64 * 1024);
  int failed = pthread_create(&thread, &attr, run_transfer, t);
  pthread_attr_destroy(&attr);
  if (failed) {
    t->error = failed;
    close(t->socket_fd);
    finish(t);
  }
  return promise;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  if (napi_create_function(env, "sendFile", NAPI_AUTO_LENGTH, send_file, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "sendFile", fn) != napi_ok) return NULL;
  return exports;
}
