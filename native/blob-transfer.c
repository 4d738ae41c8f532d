/*
 * Blob bytes between files and connected sockets on threads of their own, so they never pass through
 * JavaScript and a slow client blocks neither the event loop nor libuv's thread pool (which the file
 * system calls share).
 *
 *   sendFile(socketFd, fileFd, offset, length, idleTimeoutMs) -> Promise<number> & { abort() }
 *     A range of a file to the socket. Resolves with the bytes sent (== length).
 *   receiveFile(socketFd, fileFd, position, length, sha256 | null, idleTimeoutMs)
 *       -> Promise<number> & { abort() }
 *     The next `length` bytes the socket receives, written to the file from `position` on and fed
 *     to the running sha256 (when given). Resolves with the bytes received (== length).
 *   Both reject with an Error whose `code` is the errno name: EPIPE or ECONNRESET when the client
 *   goes away (ECONNRESET too when it closes before sending `length` bytes), ETIMEDOUT when it
 *   moved nothing for idleTimeoutMs, ECANCELED after abort(), EOF when the file is shorter than the
 *   range to send, ENOSPC, EIO... The socket descriptor is duplicated before the call returns, so
 *   the transfer uses the same connection even if JavaScript closes its own descriptor meanwhile.
 *   The caller keeps the file descriptor open until the promise settles and neither reads nor
 *   writes the socket meanwhile. abort() stops the transfer within a second.
 *
 *   sha256Create() -> sha256; sha256Update(sha256, buffer); sha256Copy(sha256) -> sha256;
 *   sha256Digest(sha256) -> hex string (the state is then spent)
 *     A running SHA-256, OpenSSL's (Node's own, whose symbols the node binary exports), that a
 *     receiving thread can feed. While a receiveFile holds it, the other calls throw.
 *
 * Why pread and write through a small buffer rather than sendfile(2): with the client on the same
 * machine (skopeo pulling 500 MB from loopback, bench:registry), sendfile made the client spend about
 * 8% more CPU receiving, the page-cache pages it reads from being cold in the CPU caches, and pulls
 * were 0.96x the reference registry's; a 256 KiB buffer that stays in cache gave 1.08-1.10x.
 */
#define _GNU_SOURCE
#include <node_api.h>
#include <openssl/evp.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Each transfer's buffer: small enough to stay in a core's cache between the read and the write. */
#define BUFFER_BYTES (256 * 1024)
/* A receiving transfer starts the writeback of what it wrote every this many bytes. */
#define WRITEBACK_BYTES (8 * 1024 * 1024)
/* How often a transfer waiting for the client looks at its abort flag. */
#define POLL_SLICE_MS 1000

/* A running SHA-256; `busy` while a receiving thread feeds it. */
typedef struct {
  EVP_MD_CTX *context;
  atomic_int busy;
} Sha256;

/* Errors of our own, beside errno values. */
#define ERROR_FILE_SHORT (-1)  /* the file ended before the range to send */
#define ERROR_BODY_SHORT (-2)  /* the client closed before sending every byte */
#define ERROR_HASH (-3)        /* OpenSSL refused a digest update */

typedef struct {
  int socket_fd; /* our duplicate */
  int file_fd;
  int64_t offset; /* in the file */
  int64_t length;
  int64_t moved;
  int64_t idle_timeout_ms;
  int error; /* errno, or one of ERROR_* */
  atomic_int aborted;
  Sha256 *hash; /* receiving only; may be NULL */
  napi_ref hash_ref; /* keeps `hash`'s JavaScript value alive while the thread feeds it */
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

/* Waits until the socket can take (POLLOUT) or give (POLLIN) bytes; 0 when it may, else the error to end with. */
static int wait_ready(Transfer *t, short events, int64_t *idle_ms) {
  struct pollfd p = { .fd = t->socket_fd, .events = events };
  int ready = poll(&p, 1, POLL_SLICE_MS);
  if (ready < 0) return errno == EINTR ? 0 : errno;
  if (ready == 0) {
    *idle_ms += POLL_SLICE_MS;
    if (*idle_ms >= t->idle_timeout_ms) return ETIMEDOUT;
  }
  return 0;
}

static void *run_send(void *arg) {
  Transfer *t = arg;
  char *buffer = malloc(BUFFER_BYTES);
  /* Bytes read into the buffer, and how many of them are already written. */
  ssize_t filled = 0, written = 0;
  int64_t idle_ms = 0;
  if (buffer == NULL) t->error = ENOMEM;
  while (t->error == 0 && t->moved < t->length) {
    if (atomic_load(&t->aborted)) { t->error = ECANCELED; break; }
    if (written == filled) {
      int64_t left = t->length - t->moved;
      ssize_t n = pread(t->file_fd, buffer, (size_t)(left < BUFFER_BYTES ? left : BUFFER_BYTES), (off_t)(t->offset + t->moved));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) { t->error = errno; break; }
      if (n == 0) { t->error = ERROR_FILE_SHORT; break; }
      filled = n;
      written = 0;
    }
    ssize_t n = write(t->socket_fd, buffer + written, (size_t)(filled - written));
    if (n > 0) {
      written += n;
      t->moved += n;
      idle_ms = 0;
    } else if (n < 0 && errno == EAGAIN) {
      /* The client's receive window is full. */
      t->error = wait_ready(t, POLLOUT, &idle_ms);
    } else if (n < 0 && errno != EINTR) {
      t->error = errno;
    }
  }
  free(buffer);
  close(t->socket_fd);
  finish(t);
  return NULL;
}

/* Writes all of `buffer` at `offset`; 0, or the errno. */
static int pwrite_all(int fd, const char *buffer, size_t length, off_t offset) {
  while (length > 0) {
    ssize_t n = pwrite(fd, buffer, length, offset);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno;
    buffer += n;
    length -= (size_t)n;
    offset += n;
  }
  return 0;
}

static void *run_receive(void *arg) {
  Transfer *t = arg;
  char *buffer = malloc(BUFFER_BYTES);
  int64_t idle_ms = 0;
  /* Bytes from the start of the transfer whose writeback has been started. */
  int64_t writeback_started = 0;
  if (buffer == NULL) t->error = ENOMEM;
  while (t->error == 0 && t->moved < t->length) {
    if (atomic_load(&t->aborted)) { t->error = ECANCELED; break; }
    int64_t left = t->length - t->moved;
    ssize_t n = read(t->socket_fd, buffer, (size_t)(left < BUFFER_BYTES ? left : BUFFER_BYTES));
    if (n > 0) {
      idle_ms = 0;
      if (t->hash != NULL && EVP_DigestUpdate(t->hash->context, buffer, (size_t)n) != 1) { t->error = ERROR_HASH; break; }
      t->error = pwrite_all(t->file_fd, buffer, (size_t)n, (off_t)(t->offset + t->moved));
      if (t->error == 0) t->moved += n;
      if (t->error == 0 && t->moved - writeback_started >= WRITEBACK_BYTES) {
        /*
         * Start writing what arrived to the disk now, without waiting for it: the fsync that makes
         * the finished blob durable then has little left to do, instead of holding the push's
         * acknowledgement for the whole layer's writeback. Advice only; a failure changes nothing.
         */
        sync_file_range(t->file_fd, (off_t)(t->offset + writeback_started), (off_t)(t->moved - writeback_started), SYNC_FILE_RANGE_WRITE);
        writeback_started = t->moved;
      }
    } else if (n == 0) {
      t->error = ERROR_BODY_SHORT;
    } else if (errno == EAGAIN) {
      /* The client has sent nothing more yet. */
      t->error = wait_ready(t, POLLIN, &idle_ms);
    } else if (errno != EINTR) {
      t->error = errno;
    }
  }
  free(buffer);
  close(t->socket_fd);
  finish(t);
  return NULL;
}

static const char *error_code(int error) {
  switch (error) {
    case ERROR_FILE_SHORT: return "EOF";
    case ERROR_BODY_SHORT: return "ECONNRESET";
    case ENOSPC: return "ENOSPC";
    case EDQUOT: return "EDQUOT";
    case EFBIG: return "EFBIG";
    case EPIPE: return "EPIPE";
    case ECONNRESET: return "ECONNRESET";
    case ETIMEDOUT: return "ETIMEDOUT";
    case ECANCELED: return "ECANCELED";
    case EBADF: return "EBADF";
    case ENOTCONN: return "ENOTCONN";
    case ENOMEM: return "ENOMEM";
    default: return "EIO";
  }
}

/* On the JavaScript thread, once a transfer's thread has finished. */
static void settle(napi_env env, napi_value js_callback, void *context, void *data) {
  (void)js_callback; (void)context;
  Transfer *t = data;
  if (env == NULL) return;
  if (t->hash != NULL) {
    atomic_store(&t->hash->busy, 0);
    napi_delete_reference(env, t->hash_ref);
  }
  if (t->error == 0) {
    napi_value moved;
    napi_create_int64(env, t->moved, &moved);
    napi_resolve_deferred(env, t->deferred, moved);
    return;
  }
  const char *text = t->error == ERROR_FILE_SHORT ? "the file ended before the range"
    : t->error == ERROR_BODY_SHORT ? "the connection closed before the whole body arrived"
    : t->error == ERROR_HASH ? "the digest could not be updated"
    : strerror(t->error);
  napi_value code, message, error;
  napi_create_string_utf8(env, error_code(t->error), NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &message);
  napi_create_error(env, code, message, &error);
  napi_reject_deferred(env, t->deferred, error);
}

/* A transfer lives as long as its abort function, which its promise holds until settled. */
static void free_transfer(napi_env env, void *data, void *hint) {
  (void)env; (void)hint;
  free(data);
}

static napi_value abort_transfer(napi_env env, napi_callback_info info) {
  void *data;
  napi_get_cb_info(env, info, NULL, NULL, NULL, &data);
  atomic_store(&((Transfer *)data)->aborted, 1);
  return NULL;
}

#define CHECK(call) do { if ((call) != napi_ok) { napi_throw_error(env, NULL, "blob-transfer: " #call " failed"); return NULL; } } while (0)

/*
 * Starts `run` on a thread of its own for the transfer `fields` describes (its socket descriptor
 * still the caller's), and answers the promise, with abort(), that settles when it ends. On a thrown
 * error nothing is left allocated and `hash` is not taken.
 */
static napi_value start_transfer(napi_env env, Transfer fields, napi_value hash_value, void *(*run)(void *)) {
  /* Every N-API object first, so a failure leaves nothing allocated behind. */
  napi_deferred deferred;
  napi_value promise, name, abort_fn;
  napi_threadsafe_function done;
  napi_ref hash_ref = NULL;
  CHECK(napi_create_promise(env, &deferred, &promise));
  CHECK(napi_create_string_utf8(env, "blob-transfer", NAPI_AUTO_LENGTH, &name));
  CHECK(napi_create_threadsafe_function(env, NULL, NULL, name, 0, 1, NULL, NULL, NULL, settle, &done));
  if (fields.hash != NULL) CHECK(napi_create_reference(env, hash_value, 1, &hash_ref));
  Transfer *t = calloc(1, sizeof(Transfer));
  int socket_copy = t == NULL ? -1 : dup(fields.socket_fd);
  if (socket_copy < 0) {
    int error = t == NULL ? ENOMEM : errno;
    free(t);
    if (hash_ref != NULL) napi_delete_reference(env, hash_ref);
    napi_release_threadsafe_function(done, napi_tsfn_abort);
    napi_throw_error(env, error_code(error), strerror(error));
    return NULL;
  }
  if (fields.hash != NULL) atomic_store(&fields.hash->busy, 1);
  *t = fields;
  t->socket_fd = socket_copy;
  t->hash_ref = hash_ref;
  t->deferred = deferred;
  t->done = done;
  CHECK(napi_create_function(env, "abort", NAPI_AUTO_LENGTH, abort_transfer, t, &abort_fn));
  CHECK(napi_add_finalizer(env, abort_fn, t, free_transfer, NULL, NULL));
  CHECK(napi_set_named_property(env, promise, "abort", abort_fn));

  pthread_t thread;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&attr, 64 * 1024);
  int failed = pthread_create(&thread, &attr, run, t);
  pthread_attr_destroy(&attr);
  if (failed) {
    t->error = failed;
    close(t->socket_fd);
    finish(t);
  }
  return promise;
}

/* The Sha256 behind a value from sha256Create, or NULL with a TypeError thrown. */
static Sha256 *sha256_of(napi_env env, napi_value value) {
  void *data = NULL;
  napi_valuetype type;
  if (napi_typeof(env, value, &type) != napi_ok || type != napi_external || napi_get_value_external(env, value, &data) != napi_ok || data == NULL) {
    napi_throw_type_error(env, NULL, "not a sha256 from sha256Create()");
    return NULL;
  }
  return data;
}

/* The Sha256 behind a value, when no receiving thread feeds it; else NULL with an error thrown. */
static Sha256 *idle_sha256_of(napi_env env, napi_value value) {
  Sha256 *hash = sha256_of(env, value);
  if (hash != NULL && atomic_load(&hash->busy)) {
    napi_throw_error(env, "EBUSY", "the sha256 is being fed by a transfer");
    return NULL;
  }
  return hash;
}

/*
 * Reads the arguments both calls share into `fields`: socketFd, fileFd, the file offset and the
 * length (argv[0] to argv[3]) and idleTimeoutMs (argv[count - 1]), of `count` in all (`argv` has
 * room for them). False with an error thrown when they are not all there or one is out of range.
 */
static bool transfer_arguments(napi_env env, napi_callback_info info, size_t count, napi_value *argv, const char *usage, Transfer *fields) {
  size_t argc = count;
  int32_t socket_fd, file_fd;
  int64_t offset, length, idle_timeout_ms;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != count
      || napi_get_value_int32(env, argv[0], &socket_fd) != napi_ok || napi_get_value_int32(env, argv[1], &file_fd) != napi_ok
      || napi_get_value_int64(env, argv[2], &offset) != napi_ok || napi_get_value_int64(env, argv[3], &length) != napi_ok
      || napi_get_value_int64(env, argv[count - 1], &idle_timeout_ms) != napi_ok) {
    napi_throw_type_error(env, NULL, usage);
    return false;
  }
  if (socket_fd < 0 || file_fd < 0 || offset < 0 || length < 0 || idle_timeout_ms <= 0) {
    napi_throw_range_error(env, NULL, usage);
    return false;
  }
  *fields = (Transfer){ .socket_fd = socket_fd, .file_fd = file_fd, .offset = offset, .length = length, .idle_timeout_ms = idle_timeout_ms };
  return true;
}

static napi_value send_file(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  Transfer fields;
  if (!transfer_arguments(env, info, 5, argv, "sendFile(socketFd, fileFd, offset, length, idleTimeoutMs): descriptors, offset and length >= 0, timeout > 0", &fields)) return NULL;
  return start_transfer(env, fields, NULL, run_send);
}

static napi_value receive_file(napi_env env, napi_callback_info info) {
  napi_value argv[6];
  Transfer fields;
  if (!transfer_arguments(env, info, 6, argv, "receiveFile(socketFd, fileFd, position, length, sha256 | null, idleTimeoutMs): descriptors, position and length >= 0, timeout > 0", &fields)) return NULL;
  napi_valuetype hash_type;
  CHECK(napi_typeof(env, argv[4], &hash_type));
  if (hash_type != napi_null) {
    fields.hash = idle_sha256_of(env, argv[4]);
    if (fields.hash == NULL) return NULL;
  }
  return start_transfer(env, fields, argv[4], run_receive);
}

static void free_sha256(napi_env env, void *data, void *hint) {
  (void)env; (void)hint;
  Sha256 *hash = data;
  EVP_MD_CTX_free(hash->context);
  free(hash);
}

/* A new Sha256 as a JavaScript value, started from `from`'s state (or empty); NULL with an error thrown. */
static napi_value new_sha256(napi_env env, const Sha256 *from) {
  Sha256 *hash = calloc(1, sizeof(Sha256));
  EVP_MD_CTX *context = EVP_MD_CTX_new();
  int ok = hash != NULL && context != NULL
    && (from != NULL ? EVP_MD_CTX_copy_ex(context, from->context) : EVP_DigestInit_ex(context, EVP_sha256(), NULL)) == 1;
  napi_value value;
  if (!ok || napi_create_external(env, hash, free_sha256, NULL, &value) != napi_ok) {
    EVP_MD_CTX_free(context);
    free(hash);
    napi_throw_error(env, "ENOMEM", "a sha256 could not be created");
    return NULL;
  }
  hash->context = context;
  return value;
}

static napi_value sha256_create(napi_env env, napi_callback_info info) {
  (void)info;
  return new_sha256(env, NULL);
}

/*
 * Reads `count` arguments into `argv` and answers the idle Sha256 the first one is; NULL with an
 * error thrown when it is not one, or is being fed.
 */
static Sha256 *sha256_call(napi_env env, napi_callback_info info, size_t count, napi_value *argv) {
  size_t argc = count;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc != count) {
    napi_throw_type_error(env, NULL, "a sha256 from sha256Create() and the call's other arguments");
    return NULL;
  }
  return idle_sha256_of(env, argv[0]);
}

static napi_value sha256_copy(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  Sha256 *hash = sha256_call(env, info, 1, argv);
  return hash == NULL ? NULL : new_sha256(env, hash);
}

static napi_value sha256_update(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  Sha256 *hash = sha256_call(env, info, 2, argv);
  if (hash == NULL) return NULL;
  void *data;
  size_t length;
  bool is_buffer;
  CHECK(napi_is_buffer(env, argv[1], &is_buffer));
  if (!is_buffer) { napi_throw_type_error(env, NULL, "sha256Update(sha256, buffer)"); return NULL; }
  CHECK(napi_get_buffer_info(env, argv[1], &data, &length));
  if (EVP_DigestUpdate(hash->context, data, length) != 1) { napi_throw_error(env, "EIO", "the digest could not be updated"); return NULL; }
  return NULL;
}

static napi_value sha256_digest(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  Sha256 *hash = sha256_call(env, info, 1, argv);
  if (hash == NULL) return NULL;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_DigestFinal_ex(hash->context, digest, &length) != 1) { napi_throw_error(env, "EIO", "the digest could not be finished"); return NULL; }
  char hex[2 * EVP_MAX_MD_SIZE + 1];
  for (unsigned int i = 0; i < length; i++) snprintf(hex + 2 * i, 3, "%02x", digest[i]);
  napi_value result;
  CHECK(napi_create_string_utf8(env, hex, 2 * length, &result));
  return result;
}

NAPI_MODULE_INIT() {
  static const struct { const char *name; napi_callback callback; } functions[] = {
    { "sendFile", send_file },
    { "receiveFile", receive_file },
    { "sha256Create", sha256_create },
    { "sha256Copy", sha256_copy },
    { "sha256Update", sha256_update },
    { "sha256Digest", sha256_digest },
  };
  for (size_t i = 0; i < sizeof(functions) / sizeof(functions[0]); i++) {
    napi_value fn;
    if (napi_create_function(env, functions[i].name, NAPI_AUTO_LENGTH, functions[i].callback, NULL, &fn) != napi_ok) return NULL;
    if (napi_set_named_property(env, exports, functions[i].name, fn) != napi_ok) return NULL;
  }
  return exports;
}
