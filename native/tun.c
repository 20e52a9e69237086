// Native half of the TUN device: open, readiness-driven batched reads, per-packet writes,
// close, and SO_PEERCRED. Only syscalls and argument checks live here; policy lives in tun.ts.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <node_api.h>
#include <uv.h>

#define WRITE_USAGE "writePackets(fd: number, packets: Uint8Array[], count: number)"
#define READ_USAGE                                                                      \
  "startReading(fd: number, scratch: Uint8Array, lengths: Int32Array, headroom: number, " \
  "maxPacketBytes: number, onBatch: (count: number) => void)"
// Generous caps that only exist to keep offset arithmetic far from overflow.
#define MAX_HEADROOM (1 << 16)
#define MAX_PACKET (1 << 20)

static void throw_napi_failure(napi_env env, const char *what);

// For functions returning napi_value: throw (unless something is already pending) and bail.
#define NAPI_CALL(env, call)                       \
  do {                                             \
    if ((call) != napi_ok) {                       \
      throw_napi_failure((env), #call);            \
      return NULL;                                 \
    }                                              \
  } while (0)

// Same, but jump to a cleanup label.
#define NAPI_CALL_GOTO(env, call, label)           \
  do {                                             \
    if ((call) != napi_ok) {                       \
      throw_napi_failure((env), #call);            \
      goto label;                                  \
    }                                              \
  } while (0)

// ---- errors ----------------------------------------------------------------------------------

static void throw_napi_failure(napi_env env, const char *what) {
  // Read the error info first: every other napi call resets it.
  const napi_extended_error_info *info = NULL;
  const char *reason = "unknown N-API error";
  if (napi_get_last_error_info(env, &info) == napi_ok && info && info->error_message)
    reason = info->error_message;
  bool pending = false;
  if (napi_is_exception_pending(env, &pending) == napi_ok && pending) return;
  char msg[512];
  snprintf(msg, sizeof msg, "tun addon: %s failed: %s", what, reason);
  napi_throw_error(env, "ERR_TUN_NAPI", msg);
}

static napi_value throw_usage(napi_env env, const char *usage, const char *detail) {
  char msg[512];
  snprintf(msg, sizeof msg, "%s%s%s", usage, detail ? ": " : "", detail ? detail : "");
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", msg);
  return NULL;
}

// Throws an Error with code = errno name ("EPERM"), errno = positive errno, syscall = what failed.
static napi_value throw_errno(napi_env env, int err, const char *syscall, const char *detail) {
  char code[64], msg[512];
  uv_err_name_r(-err, code, sizeof code);  // libuv error codes are -errno on Unix
  snprintf(msg, sizeof msg, "%s%s%s failed: %s", syscall, detail ? " " : "", detail ? detail : "",
           strerror(err));
  napi_value jcode, jmsg, jerrno, jsyscall, error;
  if (napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &jcode) != napi_ok ||
      napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &jmsg) != napi_ok ||
      napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &jsyscall) != napi_ok ||
      napi_create_int32(env, err, &jerrno) != napi_ok ||
      napi_create_error(env, jcode, jmsg, &error) != napi_ok ||
      napi_set_named_property(env, error, "errno", jerrno) != napi_ok ||
      napi_set_named_property(env, error, "syscall", jsyscall) != napi_ok) {
    napi_throw_error(env, code, msg);  // degraded, but still carries code and message
    return NULL;
  }
  napi_throw(env, error);
  return NULL;
}

// ---- argument helpers (false means "not acceptable"; nothing thrown) -------------------------

static bool read_int(napi_env env, napi_value v, double min, double max, int64_t *out) {
  napi_valuetype type;
  double d;
  if (napi_typeof(env, v, &type) != napi_ok || type != napi_number) return false;
  if (napi_get_value_double(env, v, &d) != napi_ok) return false;
  if (!(d >= min && d <= max) || d != (double)(int64_t)d) return false;
  *out = (int64_t)d;
  return true;
}

static bool read_typed(napi_env env, napi_value v, napi_typedarray_type want, void **data,
                       size_t *length) {
  bool is_typed = false;
  napi_typedarray_type type;
  if (napi_is_typedarray(env, v, &is_typed) != napi_ok || !is_typed) return false;
  if (napi_get_typedarray_info(env, v, &type, length, data, NULL, NULL) != napi_ok) return false;
  return type == want;
}

static bool read_fd(napi_env env, napi_value v, int *fd) {
  int64_t n;
  if (!read_int(env, v, 0, INT32_MAX, &n)) return false;
  *fd = (int)n;
  return true;
}

// ---- open / close ----------------------------------------------------------------------------

static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], result, jfd, jname;
  napi_valuetype type;
  size_t len = 0;
  char name[IFNAMSIZ];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1) return throw_usage(env, "open(name: string)", NULL);
  NAPI_CALL(env, napi_typeof(env, argv[0], &type));
  if (type != napi_string) return throw_usage(env, "open(name: string)", NULL);
  // Ask for the full length first: a truncated copy would silently open a different name.
  NAPI_CALL(env, napi_get_value_string_utf8(env, argv[0], NULL, 0, &len));
  if (len >= IFNAMSIZ) return throw_usage(env, "open(name: string)", "name longer than 15 bytes");
  NAPI_CALL(env, napi_get_value_string_utf8(env, argv[0], name, sizeof name, &len));
  if (strlen(name) != len) return throw_usage(env, "open(name: string)", "name contains NUL");

  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  memcpy(ifr.ifr_name, name, len);
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
  int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return throw_errno(env, errno, "open", "/dev/net/tun");
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
    int err = errno;
    char detail[64];
    snprintf(detail, sizeof detail, "(TUNSETIFF \"%s\")", name);
    close(fd);
    return throw_errno(env, err, "ioctl", detail);
  }
  ifr.ifr_name[IFNAMSIZ - 1] = '\0';
  NAPI_CALL_GOTO(env, napi_create_object(env, &result), fail);
  NAPI_CALL_GOTO(env, napi_create_int32(env, fd, &jfd), fail);
  NAPI_CALL_GOTO(env, napi_create_string_utf8(env, ifr.ifr_name, NAPI_AUTO_LENGTH, &jname), fail);
  NAPI_CALL_GOTO(env, napi_set_named_property(env, result, "fd", jfd), fail);
  NAPI_CALL_GOTO(env, napi_set_named_property(env, result, "name", jname), fail);
  return result;
fail:
  close(fd);
  return NULL;
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int fd;
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1 || !read_fd(env, argv[0], &fd)) return throw_usage(env, "close(fd: number)", NULL);
  // On Linux the fd is gone even when close() reports EINTR, so retrying would be wrong.
  if (close(fd) < 0 && errno != EINTR) return throw_errno(env, errno, "close", NULL);
  return NULL;
}

// ---- writes ----------------------------------------------------------------------------------

/* Packets whose pointers fit on the stack; larger batches use the heap. */
#define WRITE_STACK_PACKETS 256

static napi_value js_write_packets(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], packet, result;
  bool is_array = false;
  uint32_t array_length;
  int64_t count;
  int fd;
  void *data;
  size_t length;
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 3 || !read_fd(env, argv[0], &fd)) return throw_usage(env, WRITE_USAGE, NULL);
  NAPI_CALL(env, napi_is_array(env, argv[1], &is_array));
  if (!is_array) return throw_usage(env, WRITE_USAGE, "packets is not an array");
  NAPI_CALL(env, napi_get_array_length(env, argv[1], &array_length));
  if (!read_int(env, argv[2], 0, array_length, &count))
    return throw_usage(env, WRITE_USAGE, "count is not an integer in 0..packets.length");

  // Validate everything first so a bad call writes nothing, keeping each packet's pointer so the
  // write loop does not convert every argument a second time (that cost ~10 % of a busy gateway).
  struct iovec stack_packets[WRITE_STACK_PACKETS];
  struct iovec *packets = stack_packets;
  if (count > WRITE_STACK_PACKETS) {
    packets = malloc((size_t)count * sizeof *packets);
    if (!packets) return throw_errno(env, ENOMEM, "malloc", NULL);
  }
  for (uint32_t i = 0; i < count; i++) {
    if (napi_get_element(env, argv[1], i, &packet) != napi_ok ||
        !read_typed(env, packet, napi_uint8_array, &data, &length)) {
      if (packets != stack_packets) free(packets);
      char detail[64];
      snprintf(detail, sizeof detail, "packets[%u] is not a Uint8Array", i);
      return throw_usage(env, WRITE_USAGE, detail);
    }
    packets[i].iov_base = data;
    packets[i].iov_len = length;
  }

  uint32_t written = 0;
  int fatal = 0;
  for (uint32_t i = 0; i < count; i++) {
    ssize_t n;
    do n = write(fd, packets[i].iov_base, packets[i].iov_len); while (n < 0 && errno == EINTR);
    if (n >= 0) {
      written++;  // TUN takes a packet whole or not at all
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      break;  // queue full: the caller decides whether to drop or retry the rest
    } else if (errno == EBADF) {
      fatal = errno;  // no device behind the fd: not a packet problem
      break;
    }
    // Anything else (EINVAL, EIO, ...) is about this packet: skip it and keep going.
  }
  if (packets != stack_packets) free(packets);
  if (fatal) return throw_errno(env, fatal, "write", NULL);
  NAPI_CALL(env, napi_create_uint32(env, written, &result));
  return result;
}

// ---- peer credentials ------------------------------------------------------------------------

static napi_value js_peer_credentials(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], result, pid, uid, gid;
  int fd;
  struct ucred cred;
  socklen_t len = sizeof cred;
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1 || !read_fd(env, argv[0], &fd))
    return throw_usage(env, "peerCredentials(fd: number)", NULL);
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
    return throw_errno(env, errno, "getsockopt", "(SO_PEERCRED)");
  NAPI_CALL(env, napi_create_object(env, &result));
  NAPI_CALL(env, napi_create_int32(env, cred.pid, &pid));
  NAPI_CALL(env, napi_create_uint32(env, cred.uid, &uid));
  NAPI_CALL(env, napi_create_uint32(env, cred.gid, &gid));
  NAPI_CALL(env, napi_set_named_property(env, result, "pid", pid));
  NAPI_CALL(env, napi_set_named_property(env, result, "uid", uid));
  NAPI_CALL(env, napi_set_named_property(env, result, "gid", gid));
  return result;
}

// ---- batched reads ---------------------------------------------------------------------------

typedef struct {
  napi_env env;
  uv_poll_t poll;
  int fd;
  size_t headroom;
  size_t max_packet;
  bool active;       // polling; stop() not called yet
  bool in_callback;  // inside on_readable: JS references must outlive onBatch
  bool handle_live;  // uv handle initialised and its close callback not run yet
  bool finalized;    // JS wrapper collected; free once the handle is closed too
  napi_ref scratch, lengths, on_batch, self;
  napi_async_context async;
  // Keeps a worker's teardown waiting until our close callback has run: after teardown the
  // addon is unloaded, and a late callback would jump into unmapped code.
  napi_async_cleanup_hook_handle cleanup_hook;
} poller_t;

static void release_js(poller_t *p) {
  napi_ref *refs[] = {&p->scratch, &p->lengths, &p->on_batch, &p->self};
  for (size_t i = 0; i < sizeof refs / sizeof refs[0]; i++) {
    if (*refs[i]) napi_delete_reference(p->env, *refs[i]);  // nothing useful to do on failure
    *refs[i] = NULL;
  }
  if (p->async) napi_async_destroy(p->env, p->async);
  p->async = NULL;
}

static void on_closed(uv_handle_t *handle) {
  poller_t *p = handle->data;
  p->handle_live = false;
  if (p->cleanup_hook) napi_remove_async_cleanup_hook(p->cleanup_hook);
  p->cleanup_hook = NULL;
  if (p->finalized) free(p);
}

static void stop_poller(poller_t *p) {
  if (!p->active) return;
  p->active = false;
  uv_poll_stop(&p->poll);
  uv_close((uv_handle_t *)&p->poll, on_closed);
  if (!p->in_callback) release_js(p);  // else on_readable releases once onBatch has returned
}

// Environment teardown (worker exit) with the handle still open: close it now.
static void on_env_teardown(napi_async_cleanup_hook_handle hook, void *data) {
  stop_poller(data);
}

static void poller_finalize(napi_env env, void *data, void *hint) {
  poller_t *p = data;
  p->finalized = true;
  stop_poller(p);  // only still active at environment teardown: `self` pins it otherwise
  release_js(p);
  if (!p->handle_live) free(p);
}

// Calls onBatch(arg); a JS exception becomes an uncaught exception, as for any event callback.
static void deliver(poller_t *p, int32_t arg) {
  napi_env env = p->env;
  napi_value cb, recv, jarg, ignored;
  if (!p->on_batch || napi_get_reference_value(env, p->on_batch, &cb) != napi_ok ||
      napi_get_global(env, &recv) != napi_ok || napi_create_int32(env, arg, &jarg) != napi_ok) {
    napi_fatal_error("tun addon", NAPI_AUTO_LENGTH, "cannot prepare the onBatch call",
                     NAPI_AUTO_LENGTH);
  }
  // make_callback (not call_function) so nextTicks and microtasks run afterwards; it needs an
  // object receiver, hence the global.
  if (napi_make_callback(env, p->async, recv, cb, 1, &jarg, &ignored) != napi_ok) {
    napi_value exception;
    if (napi_get_and_clear_last_exception(env, &exception) == napi_ok)
      napi_fatal_exception(env, exception);
  }
}

// Reads packets into the scratch layout (packet i at p_i + headroom, p_{i+1} = p_i + headroom +
// len_i); returns 0 or the errno that should end reading.
static int read_batch(poller_t *p, int32_t *count_out) {
  napi_env env = p->env;
  napi_value scratch_v, lengths_v;
  uint8_t *buf;
  int32_t *lengths;
  size_t cap, nlengths;
  *count_out = 0;
  // Fetched per event rather than cached: the ArrayBuffers could have been detached since.
  if (napi_get_reference_value(env, p->scratch, &scratch_v) != napi_ok ||
      napi_get_reference_value(env, p->lengths, &lengths_v) != napi_ok ||
      !read_typed(env, scratch_v, napi_uint8_array, (void **)&buf, &cap) ||
      !read_typed(env, lengths_v, napi_int32_array, (void **)&lengths, &nlengths)) {
    napi_fatal_error("tun addon", NAPI_AUTO_LENGTH, "cannot access the read buffers",
                     NAPI_AUTO_LENGTH);
  }
  const size_t slot = p->headroom + p->max_packet;
  if (nlengths == 0 || cap < slot) return ENOBUFS;  // detached: reading on would spin

  size_t offset = 0;
  int32_t count = 0;
  int err = 0;
  // TUN silently cuts a packet to the buffer it is given and returns the cut length; the
  // one-byte overflow iovec is how we notice, so a cut packet is dropped, never exposed.
  uint8_t overflow;
  struct iovec iov[2] = {{NULL, p->max_packet}, {&overflow, 1}};
  // Bounded by read attempts, not packets kept, so a flood of dropped packets cannot pin us here.
  for (size_t attempt = 0; attempt < nlengths && cap - offset >= slot; attempt++) {
    iov[0].iov_base = buf + offset + p->headroom;
    ssize_t n = readv(p->fd, iov, 2);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) err = errno;
      break;
    }
    if (n == 0) {  // end of file: impossible on TUN, but would spin on other fds
      err = EPIPE;
      break;
    }
    if ((size_t)n > p->max_packet) continue;  // longer than maxPacketBytes: dropped
    lengths[count++] = (int32_t)n;
    offset += p->headroom + (size_t)n;
  }
  *count_out = count;
  return err;
}

static void on_readable(uv_poll_t *handle, int status, int events) {
  poller_t *p = handle->data;
  if (!p->active) return;
  napi_env env = p->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok)
    napi_fatal_error("tun addon", NAPI_AUTO_LENGTH, "cannot open a handle scope", NAPI_AUTO_LENGTH);
  p->in_callback = true;
  int32_t count = 0;
  int err = status < 0 ? -status : read_batch(p, &count);
  if (count > 0) deliver(p, count);
  if (err && p->active) {
    stop_poller(p);
    deliver(p, -err);
  }
  p->in_callback = false;
  if (!p->active) release_js(p);  // stop() ran during this event
  napi_close_handle_scope(env, scope);
}

static napi_value js_poller_stop(napi_env env, napi_callback_info info) {
  napi_value self;
  void *data = NULL;
  NAPI_CALL(env, napi_get_cb_info(env, info, NULL, NULL, &self, NULL));
  if (napi_unwrap(env, self, &data) != napi_ok || !data)
    return throw_usage(env, "poller.stop()", "not called on a poller");
  stop_poller(data);
  return NULL;
}

static napi_value js_start_reading(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6], wrapper, resource_name;
  napi_valuetype type;
  int fd;
  int64_t headroom, max_packet;
  void *data;
  size_t scratch_bytes, nlengths;
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 6 || !read_fd(env, argv[0], &fd)) return throw_usage(env, READ_USAGE, NULL);
  if (!read_typed(env, argv[1], napi_uint8_array, &data, &scratch_bytes))
    return throw_usage(env, READ_USAGE, "scratch is not a Uint8Array");
  if (!read_typed(env, argv[2], napi_int32_array, &data, &nlengths) || nlengths == 0)
    return throw_usage(env, READ_USAGE, "lengths is not a non-empty Int32Array");
  if (!read_int(env, argv[3], 0, MAX_HEADROOM, &headroom))
    return throw_usage(env, READ_USAGE, "headroom is not an integer in 0..65536");
  if (!read_int(env, argv[4], 1, MAX_PACKET, &max_packet))
    return throw_usage(env, READ_USAGE, "maxPacketBytes is not an integer in 1..1048576");
  if (scratch_bytes < (size_t)(headroom + max_packet))
    return throw_usage(env, READ_USAGE, "scratch is smaller than headroom + maxPacketBytes");
  NAPI_CALL(env, napi_typeof(env, argv[5], &type));
  if (type != napi_function) return throw_usage(env, READ_USAGE, "onBatch is not a function");
  // The read loop runs until EAGAIN: on a blocking fd it would hang the event loop.
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0) return throw_errno(env, errno, "fcntl", "(F_GETFL)");
  if (!(flags & O_NONBLOCK)) return throw_usage(env, READ_USAGE, "fd is not non-blocking");

  poller_t *p = calloc(1, sizeof *p);
  if (!p) return throw_errno(env, ENOMEM, "calloc", NULL);
  p->env = env;
  p->fd = fd;
  p->headroom = (size_t)headroom;
  p->max_packet = (size_t)max_packet;
  napi_property_descriptor stop = {"stop", NULL, js_poller_stop, NULL, NULL, NULL, napi_default, NULL};
  if (napi_create_object(env, &wrapper) != napi_ok ||
      napi_define_properties(env, wrapper, 1, &stop) != napi_ok ||
      napi_wrap(env, wrapper, p, poller_finalize, NULL, NULL) != napi_ok) {
    free(p);  // not wrapped, so nobody else will
    throw_napi_failure(env, "creating the poller object");
    return NULL;
  }
  // From here the finalizer owns p.
  NAPI_CALL_GOTO(env, napi_create_reference(env, argv[1], 1, &p->scratch), fail);
  NAPI_CALL_GOTO(env, napi_create_reference(env, argv[2], 1, &p->lengths), fail);
  NAPI_CALL_GOTO(env, napi_create_reference(env, argv[5], 1, &p->on_batch), fail);
  // Like any active handle, a reading poller stays alive without JS references to it.
  NAPI_CALL_GOTO(env, napi_create_reference(env, wrapper, 1, &p->self), fail);
  NAPI_CALL_GOTO(env, napi_create_string_utf8(env, "TunPoller", NAPI_AUTO_LENGTH, &resource_name), fail);
  NAPI_CALL_GOTO(env, napi_async_init(env, wrapper, resource_name, &p->async), fail);

  uv_loop_t *loop;
  NAPI_CALL_GOTO(env, napi_get_uv_event_loop(env, &loop), fail);
  int r = uv_poll_init(loop, &p->poll, fd);
  if (r < 0) {
    release_js(p);
    return throw_errno(env, -r, "uv_poll_init", NULL);
  }
  p->poll.data = p;
  p->handle_live = true;
  if (napi_add_async_cleanup_hook(env, on_env_teardown, p, &p->cleanup_hook) != napi_ok) {
    throw_napi_failure(env, "napi_add_async_cleanup_hook");  // first: it reads the last error
    p->cleanup_hook = NULL;
    uv_close((uv_handle_t *)&p->poll, on_closed);
    release_js(p);
    return NULL;
  }
  r = uv_poll_start(&p->poll, UV_READABLE, on_readable);
  if (r < 0) {
    uv_close((uv_handle_t *)&p->poll, on_closed);
    release_js(p);
    return throw_errno(env, -r, "uv_poll_start", NULL);
  }
  p->active = true;
  return wrapper;
fail:
  release_js(p);
  return NULL;
}

// ---- module ----------------------------------------------------------------------------------

NAPI_MODULE_INIT() {
  napi_property_descriptor props[] = {
      {"open", NULL, js_open, NULL, NULL, NULL, napi_enumerable, NULL},
      {"close", NULL, js_close, NULL, NULL, NULL, napi_enumerable, NULL},
      {"startReading", NULL, js_start_reading, NULL, NULL, NULL, napi_enumerable, NULL},
      {"writePackets", NULL, js_write_packets, NULL, NULL, NULL, napi_enumerable, NULL},
      {"peerCredentials", NULL, js_peer_credentials, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  NAPI_CALL(env, napi_define_properties(env, exports, sizeof props / sizeof props[0], props));
  return exports;
}
