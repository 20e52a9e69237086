// Native half of the TUN device: open, readiness-driven batched reads, per-packet writes,
// close; plus SO_PEERCRED, zero-copy batched socket sends and fd duplication for sockets. Syscalls,
// argument checks and the per-packet offload decisions (GRO-style coalescing of writes, cutting of
// TSO reads: pure functions, tested through groPlan/tsoSegment) live here; policy lives in tun.ts.
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
#include <linux/virtio_net.h>
#include <node_api.h>
#include <uv.h>

#define WRITE_USAGE \
  "writePackets(fd: number, packets: Uint8Array[], count: number, vnetHdr?: boolean, kinds?: Uint8Array)"
#define READ_USAGE                                                                      \
  "startReading(fd: number, scratch: Uint8Array, lengths: Int32Array, headroom: number, " \
  "maxPacketBytes: number, onBatch: (count: number) => void, vnetHdr?: boolean, kinds?: Uint8Array)"
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

static bool is_nullish(napi_env env, napi_value v) {
  napi_valuetype type;
  return napi_typeof(env, v, &type) == napi_ok && (type == napi_undefined || type == napi_null);
}

// ---- open / close ----------------------------------------------------------------------------

static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], result, jfd, jname;
  bool vnet = false;
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
  if (argc >= 2 && napi_get_value_bool(env, argv[1], &vnet) != napi_ok)
    return throw_usage(env, "open(name: string, vnetHdr?: boolean)", "vnetHdr is not a boolean");

  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  memcpy(ifr.ifr_name, name, len);
  // IFF_VNET_HDR: every read and write carries a virtio-net header, which lets writes hand the
  // kernel one coalesced TCP super-packet (GSO) instead of dozens of segments.
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI | (vnet ? IFF_VNET_HDR : 0);
  int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return throw_errno(env, errno, "open", "/dev/net/tun");
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
    int err = errno;
    char detail[64];
    snprintf(detail, sizeof detail, "(TUNSETIFF \"%s\")", name);
    close(fd);
    return throw_errno(env, err, "ioctl", detail);
  }
  // TSO reads: the kernel may hand us up to 64 KiB TCP super-packets (and checksums left to
  // complete); read_batch cuts them into MTU-sized segments with full checksums for the wire.
  if (vnet && ioctl(fd, TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_TSO4) < 0) {
    int err = errno;
    close(fd);
    return throw_errno(env, err, "ioctl", "(TUNSETOFFLOAD)");
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


// ---- GRO-style coalescing (vnet-header devices) -----------------------------------------------
// Consecutive TCP segments of one flow (same addresses, ports, ACK, window and options, sequence
// numbers back to back, equal sizes but the last) are written as one GSO super-packet: the kernel
// then runs one inner-TCP receive instead of dozens. Anything else is written as it is.

#define GRO_MAX_BYTES 65535
// A vnet read: room for any TSO super-packet, and the most segments one may be cut into.
#define TSO_READ_BYTES (65536 + 256)
#define TSO_MAX_SEGMENTS 128
// Scratch left before each vnet read: the segments of one more cut super-packet (which is also
// more than one whole super-packet region, SUPER_REGION_MAX).
#define TSO_RESERVE(headroom) (65536 + TSO_MAX_SEGMENTS * ((headroom) + 120))
// As many as a super-packet may hold (TSO_MAX_SEGMENTS), so a cut super-packet is written whole.
#define GRO_MAX_SEGMENTS 128
#define IPV4_HEADER_BYTES 20
#define TCP_FLAG_PSH 0x08
#define TCP_FLAG_ACK 0x10

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t get32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static void put16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
}

static uint32_t sum16(const uint8_t *p, size_t len, uint32_t sum) {
  for (size_t i = 0; i + 1 < len; i += 2) sum += get16(p + i);
  if (len & 1) sum += (uint32_t)p[len - 1] << 8;
  return sum;
}
static uint16_t fold(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return (uint16_t)sum;
}

// TCP header length if this is a segment we may merge (plain IPv4, TCP, data, only ACK[+PSH]).
static size_t mergeable_tcp(const uint8_t *p, size_t len) {
  if (len < IPV4_HEADER_BYTES + 20 || p[0] != 0x45 || p[9] != 6) return 0;
  if (get16(p + 2) != len || (get16(p + 6) & 0x3fff) != 0) return 0;  // length, fragments
  size_t thl = (size_t)(p[IPV4_HEADER_BYTES + 12] >> 4) * 4;
  if (thl < 20 || IPV4_HEADER_BYTES + thl >= len) return 0;
  uint8_t flags = p[IPV4_HEADER_BYTES + 13];
  if ((flags & ~(TCP_FLAG_ACK | TCP_FLAG_PSH)) != 0 || !(flags & TCP_FLAG_ACK)) return 0;
  return thl;
}

// May `b` follow `last` in a group started by `first`? (All three mergeable, same header size.)
static bool follows(const uint8_t *first, const uint8_t *last, size_t last_len, const uint8_t *b,
                    size_t b_len, size_t hdr, size_t gso_size) {
  const uint8_t *ft = first + IPV4_HEADER_BYTES, *lt = last + IPV4_HEADER_BYTES, *bt = b + IPV4_HEADER_BYTES;
  if (lt[13] & TCP_FLAG_PSH) return false;              // PSH ends a group
  if (last_len - hdr != gso_size) return false;         // only the last may be short
  if (b_len - hdr > gso_size) return false;
  if (b[1] != first[1] || b[8] != first[8]) return false;                    // TOS, TTL
  if (memcmp(b + 12, first + 12, 8) != 0) return false;                      // addresses
  if (memcmp(bt, ft, 4) != 0 || memcmp(bt + 8, ft + 8, 5) != 0) return false;  // ports, ACK, offset
  if (memcmp(bt + 14, ft + 14, 2) != 0) return false;                        // window
  if (memcmp(bt + 20, ft + 20, hdr - IPV4_HEADER_BYTES - 20) != 0) return false;  // options
  return get32(bt + 4) == get32(lt + 4) + (uint32_t)(last_len - hdr);        // in sequence
}

// End of the group that starts at pk[i]: i + 1 when pk[i] goes out alone, else the end of a run
// that follows() accepts, within GRO_MAX_SEGMENTS and GRO_MAX_BYTES; *hdr_out its header bytes.
static uint32_t gro_group_end(const struct iovec *pk, uint32_t count, uint32_t i, size_t *hdr_out) {
  uint32_t end = i + 1;
  size_t hdr = IPV4_HEADER_BYTES + mergeable_tcp(pk[i].iov_base, pk[i].iov_len);
  *hdr_out = hdr;
  if (hdr == IPV4_HEADER_BYTES) return end;
  const uint8_t *first = pk[i].iov_base;
  size_t gso_size = pk[i].iov_len - hdr, total = pk[i].iov_len;
  while (end < count && end - i < GRO_MAX_SEGMENTS && total + pk[end].iov_len - hdr <= GRO_MAX_BYTES &&
         IPV4_HEADER_BYTES + mergeable_tcp(pk[end].iov_base, pk[end].iov_len) == hdr &&
         follows(first, pk[end - 1].iov_base, pk[end - 1].iov_len, pk[end].iov_base, pk[end].iov_len, hdr,
                 gso_size)) {
    total += pk[end].iov_len - hdr;
    end++;
  }
  return end;
}

// Builds packets[from, to) (a group from gro_group_end) as one GSO packet in `buf` (GRO_MAX_BYTES)
// with its virtio-net header in *vh; returns its length.
static size_t build_coalesced(const struct iovec *pk, size_t from, size_t to, size_t hdr, uint8_t *buf,
                              struct virtio_net_hdr *vh) {
  size_t total = hdr;
  memcpy(buf, pk[from].iov_base, hdr);
  for (size_t i = from; i < to; i++) {
    size_t payload = pk[i].iov_len - hdr;
    memcpy(buf + total, (const uint8_t *)pk[i].iov_base + hdr, payload);
    total += payload;
  }
  uint8_t *tcp = buf + IPV4_HEADER_BYTES;
  tcp[13] |= ((const uint8_t *)pk[to - 1].iov_base)[IPV4_HEADER_BYTES + 13] & TCP_FLAG_PSH;
  put16(buf + 2, (uint16_t)total);
  put16(buf + 10, 0);
  put16(buf + 10, (uint16_t)~fold(sum16(buf, IPV4_HEADER_BYTES, 0)));
  // CHECKSUM_PARTIAL: the field holds the pseudo-header sum; the kernel completes it per segment.
  uint32_t pseudo = sum16(buf + 12, 8, 0) + 6 + (uint32_t)(total - IPV4_HEADER_BYTES);
  put16(tcp + 16, fold(pseudo));
  *vh = (struct virtio_net_hdr){
    .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
    .gso_type = VIRTIO_NET_HDR_GSO_TCPV4,
    .hdr_len = (uint16_t)hdr,
    .gso_size = (uint16_t)(pk[from].iov_len - hdr),
    .csum_start = IPV4_HEADER_BYTES,
    .csum_offset = 16,
  };
  return total;
}

// Writes packets[from, to) as one GSO packet built in `buf`.
static ssize_t write_coalesced(int fd, const struct iovec *pk, size_t from, size_t to, size_t hdr,
                               uint8_t *buf) {
  struct virtio_net_hdr vh;
  size_t total = build_coalesced(pk, from, to, hdr, buf, &vh);
  struct iovec iov[2] = {{&vh, sizeof vh}, {buf, total}};
  ssize_t n;
  do n = writev(fd, iov, 2); while (n < 0 && errno == EINTR);
  return n;
}

static ssize_t write_plain_vnet(int fd, const struct iovec *pk) {
  struct virtio_net_hdr vh;
  memset(&vh, 0, sizeof vh);
  struct iovec iov[2] = {{&vh, sizeof vh}, {pk->iov_base, pk->iov_len}};
  ssize_t n;
  do n = writev(fd, iov, 2); while (n < 0 && errno == EINTR);
  return n;
}

// ---- super-packet regions (whole TSO packets between our own peers) ---------------------------
// A region is a 4-byte header (gso_size u16 little-endian, flags, reserved) + a TCP/IPv4 packet
// whose TCP checksum field holds the CHECKSUM_PARTIAL seed (the folded pseudo-header sum). Reads
// hand one over instead of cutting it (startReading with kinds); writes give it to the kernel as
// one GSO packet (writePackets with kinds); segmentSuperPacket cuts one for a legacy peer.

#define SUPER_HEADER_BYTES 4
#define SUPER_FLAG_ECN 0x01
#define SUPER_MAX_PACKET 65535
#define SUPER_REGION_MAX (SUPER_HEADER_BYTES + SUPER_MAX_PACKET)
#define TCP_CHECKSUM_AT 16

typedef struct {
  size_t ihl;  // IPv4 header bytes
  size_t hdr;  // IPv4 + TCP header bytes
  uint16_t gso_size;
  bool ecn;
} super_shape_t;

// Is pkt[0, len) a TCP/IPv4 packet that may travel as one super-packet of gso_size segments?
// IPv4 without fragmentation, total length = len, both headers inside it, payload cut into
// 1..TSO_MAX_SEGMENTS segments. Reads only inside pkt[0, len).
static bool super_packet_shape(const uint8_t *pkt, size_t len, size_t gso_size, super_shape_t *out) {
  if (len < 40 || len > SUPER_MAX_PACKET || gso_size == 0) return false;
  if ((pkt[0] >> 4) != 4 || pkt[9] != 6 || get16(pkt + 2) != len || (get16(pkt + 6) & 0x3fff) != 0)
    return false;
  size_t ihl = (size_t)(pkt[0] & 15) * 4;
  if (ihl < 20 || ihl + 20 > len) return false;
  size_t hdr = ihl + (size_t)(pkt[ihl + 12] >> 4) * 4;
  if (hdr < ihl + 20 || hdr >= len) return false;  // a super-packet carries data
  if ((len - hdr + gso_size - 1) / gso_size > TSO_MAX_SEGMENTS) return false;
  out->ihl = ihl;
  out->hdr = hdr;
  out->gso_size = (uint16_t)gso_size;
  return true;
}

// The CHECKSUM_PARTIAL seed of a TCP/IPv4 packet: the folded, not complemented, pseudo-header sum.
static uint16_t tcp4_seed(const uint8_t *pkt, size_t len, size_t ihl) {
  return fold(sum16(pkt + 12, 8, 0) + 6 + (uint32_t)(len - ihl));
}

// Parses a region (header + packet); false when it is not a valid super-packet region.
static bool parse_super_region(const uint8_t *region, size_t len, super_shape_t *out) {
  if (len < SUPER_HEADER_BYTES + 40 || len > SUPER_REGION_MAX) return false;
  if ((region[2] & (uint8_t)~SUPER_FLAG_ECN) != 0 || region[3] != 0) return false;
  size_t gso_size = (size_t)region[0] | (size_t)region[1] << 8;
  if (!super_packet_shape(region + SUPER_HEADER_BYTES, len - SUPER_HEADER_BYTES, gso_size, out)) return false;
  out->ecn = (region[2] & SUPER_FLAG_ECN) != 0;
  return true;
}

// Writes a region as one GSO packet. The seed is recomputed from the packet's own header (a peer
// must not choose it) and sent from the stack, so the caller's bytes are never modified.
// An invalid region fails with EINVAL, like a packet the kernel rejects.
static ssize_t write_super(int fd, const uint8_t *region, size_t len) {
  super_shape_t s;
  if (!parse_super_region(region, len, &s)) {
    errno = EINVAL;
    return -1;
  }
  const uint8_t *pkt = region + SUPER_HEADER_BYTES;
  size_t n = len - SUPER_HEADER_BYTES;
  struct virtio_net_hdr vh = {
    .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
    .gso_type = VIRTIO_NET_HDR_GSO_TCPV4 | (s.ecn ? VIRTIO_NET_HDR_GSO_ECN : 0),
    .hdr_len = (uint16_t)s.hdr,
    .gso_size = s.gso_size,
    .csum_start = (uint16_t)s.ihl,
    .csum_offset = TCP_CHECKSUM_AT,
  };
  uint8_t seed[2];
  put16(seed, tcp4_seed(pkt, n, s.ihl));
  size_t at = s.ihl + TCP_CHECKSUM_AT;
  struct iovec iov[4] = {
    {&vh, sizeof vh}, {(void *)pkt, at}, {seed, 2}, {(void *)(pkt + at + 2), n - at - 2}};
  ssize_t r;
  do r = writev(fd, iov, 4); while (r < 0 && errno == EINTR);
  return r;
}

// ---- writes ----------------------------------------------------------------------------------

/* Packets whose pointers fit on the stack; larger batches use the heap. */
#define WRITE_STACK_PACKETS 256

static napi_value js_write_packets(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5], packet, result;
  bool is_array = false, vnet = false;
  uint32_t array_length;
  int64_t count;
  int fd;
  void *data;
  size_t length;
  uint8_t *kinds = NULL;
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 3 || !read_fd(env, argv[0], &fd)) return throw_usage(env, WRITE_USAGE, NULL);
  NAPI_CALL(env, napi_is_array(env, argv[1], &is_array));
  if (!is_array) return throw_usage(env, WRITE_USAGE, "packets is not an array");
  NAPI_CALL(env, napi_get_array_length(env, argv[1], &array_length));
  if (!read_int(env, argv[2], 0, array_length, &count))
    return throw_usage(env, WRITE_USAGE, "count is not an integer in 0..packets.length");
  if (argc >= 4 && napi_get_value_bool(env, argv[3], &vnet) != napi_ok)
    return throw_usage(env, WRITE_USAGE, "vnetHdr is not a boolean");
  if (argc >= 5 && !is_nullish(env, argv[4])) {
    size_t nkinds;
    if (!read_typed(env, argv[4], napi_uint8_array, (void **)&kinds, &nkinds) || nkinds < (size_t)count)
      return throw_usage(env, WRITE_USAGE, "kinds is not a Uint8Array of at least count entries");
    if (!vnet) return throw_usage(env, WRITE_USAGE, "kinds needs a vnetHdr device");
    for (int64_t i = 0; i < count; i++) {
      if (kinds[i] > 1) return throw_usage(env, WRITE_USAGE, "kinds[i] is not 0 (packet) or 1 (super-packet region)");
    }
  }

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
  uint8_t *gro_buf = NULL;
  if (vnet && count > 1 && !(gro_buf = malloc(GRO_MAX_BYTES))) {
    if (packets != stack_packets) free(packets);
    return throw_errno(env, ENOMEM, "malloc", NULL);
  }
  uint32_t next_super = 0;  // first super-packet region at or after i (count when none)
  while (kinds && next_super < count && kinds[next_super] != 1) next_super++;
  for (uint32_t i = 0; i < count;) {
    if (kinds && next_super < i) {
      next_super = i;
      while (next_super < count && kinds[next_super] != 1) next_super++;
    }
    // A group [i, end): one packet, or (vnet) a run of TCP segments written as one GSO packet,
    // which never reaches into a super-packet region.
    size_t hdr = 0;
    bool super = kinds && next_super == i;
    uint32_t limit = kinds ? next_super : (uint32_t)count;
    uint32_t end = super || !gro_buf ? i + 1 : gro_group_end(packets, limit, i, &hdr);
    ssize_t n;
    if (super) {
      n = write_super(fd, packets[i].iov_base, packets[i].iov_len);
    } else if (end - i > 1) {
      n = write_coalesced(fd, packets, i, end, hdr, gro_buf);
      if (n < 0 && errno == EINVAL) {
        // A kernel that refuses this GSO packet still takes the segments one by one.
        uint32_t ok = 0;
        for (uint32_t j = i; j < end; j++) ok += write_plain_vnet(fd, &packets[j]) >= 0;
        written += ok;
        i = end;
        continue;
      }
    } else if (vnet) {
      n = write_plain_vnet(fd, &packets[i]);
    } else {
      do n = write(fd, packets[i].iov_base, packets[i].iov_len); while (n < 0 && errno == EINTR);
    }
    if (n >= 0) {
      written += end - i;  // TUN takes a packet whole or not at all
    } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
      break;  // queue full: the caller decides whether to drop or retry the rest
    } else if (errno == EBADF) {
      fatal = errno;  // no device behind the fd: not a packet problem
      break;
    }
    // Anything else (EINVAL, EIO, ...) is about this packet: skip it and keep going.
    i = end;
  }
  free(gro_buf);
  if (packets != stack_packets) free(packets);
  if (fatal) return throw_errno(env, fatal, "write", NULL);
  NAPI_CALL(env, napi_create_uint32(env, written, &result));
  return result;
}

// ---- socket sends ----------------------------------------------------------------------------

#define SEND_USAGE \
  "sendRegions(fd: number, buffer: Uint8Array, starts: Int32Array, lengths: Int32Array, count: number)"
#define SEND_IOV_BATCH 256

// Sends buffer[starts[i], starts[i] + lengths[i]) for i < count, in order, on a connected stream
// socket without blocking: one sendmsg per up to SEND_IOV_BATCH regions (adjacent regions merged).
// Returns the bytes the kernel took; fewer than the total means the socket buffer is full. This lets
// a link hand a batch of frames to the kernel straight from its read buffer instead of copying it
// into a fresh Buffer for net.Socket, which must keep the bytes until a write completes.
static napi_value js_send_regions(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5], result;
  int fd;
  uint8_t *buf;
  int32_t *starts, *lengths;
  size_t buf_len, nstarts, nlengths;
  int64_t count;
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 5 || !read_fd(env, argv[0], &fd)) return throw_usage(env, SEND_USAGE, NULL);
  if (!read_typed(env, argv[1], napi_uint8_array, (void **)&buf, &buf_len))
    return throw_usage(env, SEND_USAGE, "buffer is not a Uint8Array");
  if (!read_typed(env, argv[2], napi_int32_array, (void **)&starts, &nstarts) ||
      !read_typed(env, argv[3], napi_int32_array, (void **)&lengths, &nlengths))
    return throw_usage(env, SEND_USAGE, "starts and lengths must be Int32Arrays");
  if (!read_int(env, argv[4], 0, (double)(nstarts < nlengths ? nstarts : nlengths), &count))
    return throw_usage(env, SEND_USAGE, "count is not an integer in 0..min(starts.length, lengths.length)");
  for (int64_t i = 0; i < count; i++) {
    if (starts[i] < 0 || lengths[i] < 0 || (size_t)starts[i] + (size_t)lengths[i] > buf_len)
      return throw_usage(env, SEND_USAGE, "a region lies outside the buffer");
  }

  size_t sent_total = 0;
  int64_t i = 0;
  size_t skip = 0;  // bytes of region i already sent
  while (i < count) {
    struct iovec iov[SEND_IOV_BATCH];
    int n = 0;
    size_t want = 0;
    for (int64_t j = i; j < count && n < SEND_IOV_BATCH; j++) {
      uint8_t *base = buf + starts[j] + (j == i ? skip : 0);
      size_t len = (size_t)lengths[j] - (j == i ? skip : 0);
      if (len == 0) continue;
      if (n > 0 && (uint8_t *)iov[n - 1].iov_base + iov[n - 1].iov_len == base) {
        iov[n - 1].iov_len += len;
      } else {
        iov[n].iov_base = base;
        iov[n].iov_len = len;
        n++;
      }
      want += len;
    }
    if (n == 0) break;
    struct msghdr msg = {.msg_iov = iov, .msg_iovlen = (size_t)n};
    ssize_t r = sendmsg(fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (r < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      return throw_errno(env, errno, "sendmsg", NULL);
    }
    sent_total += (size_t)r;
    // Advance (i, skip) past r bytes.
    size_t left = (size_t)r;
    while (i < count && left > 0) {
      size_t rest = (size_t)lengths[i] - skip;
      if (left >= rest) {
        left -= rest;
        i++;
        skip = 0;
      } else {
        skip += left;
        left = 0;
      }
    }
    while (i < count && (size_t)lengths[i] == skip) {  // empty regions
      i++;
      skip = 0;
    }
    if ((size_t)r < want) break;  // the socket buffer is full
  }
  NAPI_CALL(env, napi_create_double(env, (double)sent_total, &result));
  return result;
}

// A second descriptor for an open socket (close-on-exec), so that net.Socket can adopt a connection
// that net.Server accepted, with options net.Server cannot pass (reads into a reused buffer).
static napi_value js_dup_fd(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], result;
  int fd;
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1 || !read_fd(env, argv[0], &fd)) return throw_usage(env, "dupFd(fd: number)", NULL);
  int copy = fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (copy < 0) return throw_errno(env, errno, "fcntl", "(F_DUPFD_CLOEXEC)");
  NAPI_CALL(env, napi_create_int32(env, copy, &result));
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
  bool vnet;         // reads start with a virtio-net header; TSO super-packets are segmented
  bool super;        // vnet with kinds: whole TSO packets are delivered as super-packet regions
  uint8_t *tso_buf;  // vnet: each read lands here first (TSO_READ_BYTES); with kinds, cut ones only
  bool active;       // polling; stop() not called yet
  bool in_callback;  // inside on_readable: JS references must outlive onBatch
  bool handle_live;  // uv handle initialised and its close callback not run yet
  bool finalized;    // JS wrapper collected; free once the handle is closed too
  napi_ref scratch, lengths, kinds, on_batch, self;
  napi_async_context async;
  // Keeps a worker's teardown waiting until our close callback has run: after teardown the
  // addon is unloaded, and a late callback would jump into unmapped code.
  napi_async_cleanup_hook_handle cleanup_hook;
} poller_t;

static void release_js(poller_t *p) {
  napi_ref *refs[] = {&p->scratch, &p->lengths, &p->kinds, &p->on_batch, &p->self};
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
  if (p->finalized) {
    free(p->tso_buf);
    free(p);
  }
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
  if (!p->handle_live) {
    free(p->tso_buf);
    free(p);
  }
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

// ---- TSO reads (vnet-header devices) ------------------------------------------------------------


/** Completes a CHECKSUM_PARTIAL packet: the field already holds the pseudo-header sum. */
static void complete_checksum(uint8_t *pkt, size_t len, size_t start, size_t offset) {
  if (start + offset + 2 > len) return;
  uint16_t c = (uint16_t)~fold(sum16(pkt + start, len - start, 0));
  put16(pkt + start + offset, c);
}

/**
 * Cuts a TCP/IPv4 super-packet into segments of `mss` payload bytes at dst (the batch layout:
 * `headroom` bytes before each), with IP ids, lengths, sequence numbers, flags and both checksums
 * set as the kernel's own segmentation would. Returns the number of segments, 0 if not possible.
 */
static size_t segment_tcp4(const uint8_t *sp, size_t len, size_t mss, uint8_t *dst, size_t room,
                           size_t headroom, int32_t *lengths, size_t max_segments, size_t *used) {
  if (len < 40 || (sp[0] >> 4) != 4 || sp[9] != 6 || mss == 0) return 0;
  size_t ihl = (size_t)(sp[0] & 15) * 4;
  if (ihl < 20 || ihl + 20 > len) return 0;
  size_t thl = (size_t)(sp[ihl + 12] >> 4) * 4;
  size_t hdr = ihl + thl;
  if (thl < 20 || hdr > len) return 0;
  size_t payload = len - hdr;
  size_t segs = payload == 0 ? 1 : (payload + mss - 1) / mss;
  if (segs > max_segments || segs * (headroom + hdr) + payload > room) return 0;
  uint16_t id = get16(sp + 4);
  uint32_t seq = get32(sp + ihl + 4);
  uint8_t flags = sp[ihl + 13];
  size_t off = 0;
  for (size_t k = 0; k < segs; k++) {
    size_t chunk = payload - k * mss < mss ? payload - k * mss : mss;
    uint8_t *seg = dst + off + headroom;
    memcpy(seg, sp, hdr);
    memcpy(seg + hdr, sp + hdr + k * mss, chunk);
    size_t total = hdr + chunk;
    put16(seg + 2, (uint16_t)total);
    put16(seg + 4, (uint16_t)(id + k));
    put16(seg + 10, 0);
    put16(seg + 10, (uint16_t)~fold(sum16(seg, ihl, 0)));
    uint8_t *tcp = seg + ihl;
    uint32_t s32 = seq + (uint32_t)(k * mss);
    tcp[4] = (uint8_t)(s32 >> 24); tcp[5] = (uint8_t)(s32 >> 16); tcp[6] = (uint8_t)(s32 >> 8); tcp[7] = (uint8_t)s32;
    uint8_t f = flags;
    if (k > 0) f &= (uint8_t)~0x80;                  // CWR: first segment only
    if (k + 1 < segs) f &= (uint8_t)~(0x01 | 0x08);  // FIN, PSH: last segment only
    tcp[13] = f;
    put16(tcp + 16, 0);
    uint32_t sum = sum16(seg + 12, 8, 0) + 6 + (uint32_t)(total - ihl);
    put16(tcp + 16, (uint16_t)~fold(sum16(tcp, total - ihl, sum)));
    lengths[k] = (int32_t)total;
    off += headroom + total;
  }
  *used = off;
  return segs;
}

/** One vnet read from tso_buf into the batch at buf+offset; returns packets added (0: dropped). */
static size_t take_vnet_packet(uint8_t *pkt, size_t headroom, size_t max_packet,
                               const struct virtio_net_hdr *vh, size_t n, uint8_t *buf, size_t room,
                               int32_t *lengths, size_t free_lengths, size_t *used) {
  uint8_t gso = vh->gso_type & (uint8_t)~VIRTIO_NET_HDR_GSO_ECN;
  if (gso == VIRTIO_NET_HDR_GSO_TCPV4) {
    return segment_tcp4(pkt, n, vh->gso_size, buf, room, headroom, lengths, free_lengths, used);
  }
  if (gso != VIRTIO_NET_HDR_GSO_NONE) return 0;  // not offered by us: drop
  if (vh->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) complete_checksum(pkt, n, vh->csum_start, vh->csum_offset);
  if (n > max_packet || headroom + n > room || free_lengths == 0) return 0;
  memcpy(buf + headroom, pkt, n);
  lengths[0] = (int32_t)n;
  *used = headroom + n;
  return 1;
}

// The read loop with kinds: each read goes straight to where a super-packet region's packet
// belongs (p_i + headroom + 4), so a whole TSO packet costs no copy; an ordinary packet is moved
// down 4 bytes (at most maxPacketBytes); a TSO packet that cannot travel whole is cut as without
// kinds. Same bounds as the vnet loop below: a whole super-packet's segments still fit before each read.
static int read_super_batch(poller_t *p, uint8_t *buf, size_t cap, int32_t *lengths, size_t nlengths,
                            uint8_t *kinds, int32_t *count_out) {
  size_t offset = 0;
  int32_t count = 0;
  int err = 0;
  uint8_t overflow;
  struct virtio_net_hdr vh;
  struct iovec iov[3] = {{&vh, sizeof vh}, {NULL, SUPER_MAX_PACKET}, {&overflow, 1}};
  const size_t reserve = TSO_RESERVE(p->headroom);
  for (size_t attempt = 0; attempt < nlengths && cap - offset >= reserve &&
                           nlengths - (size_t)count >= TSO_MAX_SEGMENTS; attempt++) {
    uint8_t *region = buf + offset + p->headroom;
    uint8_t *pkt = region + SUPER_HEADER_BYTES;
    iov[1].iov_base = pkt;
    ssize_t r = readv(p->fd, iov, 3);
    if (r < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) err = errno;
      break;
    }
    if (r == 0) {
      err = EPIPE;
      break;
    }
    if ((size_t)r <= sizeof vh || (size_t)r > sizeof vh + SUPER_MAX_PACKET) continue;  // runt or cut
    size_t n = (size_t)r - sizeof vh;
    uint8_t gso = vh.gso_type & (uint8_t)~VIRTIO_NET_HDR_GSO_ECN;
    super_shape_t s;
    if (gso == VIRTIO_NET_HDR_GSO_TCPV4 && super_packet_shape(pkt, n, vh.gso_size, &s)) {
      // Whatever the kernel left in the checksum field, the region carries our own seed.
      put16(pkt + s.ihl + TCP_CHECKSUM_AT, tcp4_seed(pkt, n, s.ihl));
      region[0] = (uint8_t)(vh.gso_size & 0xff);
      region[1] = (uint8_t)(vh.gso_size >> 8);
      region[2] = (vh.gso_type & VIRTIO_NET_HDR_GSO_ECN) ? SUPER_FLAG_ECN : 0;
      region[3] = 0;
      lengths[count] = (int32_t)(SUPER_HEADER_BYTES + n);
      kinds[count++] = 1;
      offset += p->headroom + SUPER_HEADER_BYTES + n;
    } else if (gso == VIRTIO_NET_HDR_GSO_NONE) {
      if (n > p->max_packet) continue;  // longer than maxPacketBytes: dropped
      if (vh.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) complete_checksum(pkt, n, vh.csum_start, vh.csum_offset);
      memmove(region, pkt, n);
      lengths[count] = (int32_t)n;
      kinds[count++] = 0;
      offset += p->headroom + n;
    } else {
      // Cut from a copy: the segments take more room than the packet and would overwrite it.
      memcpy(p->tso_buf, pkt, n);
      size_t used = 0;
      size_t added = take_vnet_packet(p->tso_buf, p->headroom, p->max_packet, &vh, n, buf + offset,
                                      cap - offset, lengths + count, nlengths - (size_t)count, &used);
      memset(kinds + count, 0, added);
      count += (int32_t)added;
      offset += used;
    }
  }
  *count_out = count;
  return err;
}

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
  if (p->super) {
    napi_value kinds_v;
    uint8_t *kinds;
    size_t nkinds;
    if (napi_get_reference_value(env, p->kinds, &kinds_v) != napi_ok ||
        !read_typed(env, kinds_v, napi_uint8_array, (void **)&kinds, &nkinds)) {
      napi_fatal_error("tun addon", NAPI_AUTO_LENGTH, "cannot access the read buffers",
                       NAPI_AUTO_LENGTH);
    }
    if (nkinds < nlengths || cap < TSO_RESERVE(p->headroom)) return ENOBUFS;
    return read_super_batch(p, buf, cap, lengths, nlengths, kinds, count_out);
  }

  size_t offset = 0;
  int32_t count = 0;
  int err = 0;
  // TUN silently cuts a packet to the buffer it is given and returns the cut length; the
  // one-byte overflow iovec is how we notice, so a cut packet is dropped, never exposed.
  uint8_t overflow;
  struct virtio_net_hdr vnet_hdr;
  struct iovec iov_all[3] = {{&vnet_hdr, sizeof vnet_hdr}, {NULL, p->max_packet}, {&overflow, 1}};
  struct iovec *iov = p->vnet ? iov_all : iov_all + 1;
  const int iovcnt = p->vnet ? 3 : 2;
  const size_t header = p->vnet ? sizeof vnet_hdr : 0;
  if (p->vnet) {
    // Read only while a whole super-packet's segments would still fit: a read cannot be undone.
    const size_t reserve = TSO_RESERVE(p->headroom);
    iov_all[1].iov_base = p->tso_buf;
    iov_all[1].iov_len = TSO_READ_BYTES;
    for (size_t attempt = 0; attempt < nlengths && cap - offset >= reserve && nlengths - (size_t)count >= TSO_MAX_SEGMENTS; attempt++) {
      ssize_t n = readv(p->fd, iov_all, 3);
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) err = errno;
        break;
      }
      if (n == 0) {
        err = EPIPE;
        break;
      }
      if ((size_t)n <= sizeof vnet_hdr || (size_t)n > sizeof vnet_hdr + TSO_READ_BYTES) continue;  // runt or cut
      size_t used = 0;
      size_t added = take_vnet_packet(p->tso_buf, p->headroom, p->max_packet, &vnet_hdr, (size_t)n - sizeof vnet_hdr, buf + offset, cap - offset,
                                      lengths + count, nlengths - (size_t)count, &used);
      count += (int32_t)added;
      offset += used;
    }
    *count_out = count;
    return err;
  }
  // Bounded by read attempts, not packets kept, so a flood of dropped packets cannot pin us here.
  for (size_t attempt = 0; attempt < nlengths && cap - offset >= slot; attempt++) {
    iov_all[1].iov_base = buf + offset + p->headroom;
    ssize_t n = readv(p->fd, iov, iovcnt);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno != EAGAIN && errno != EWOULDBLOCK) err = errno;
      break;
    }
    if (n == 0) {  // end of file: impossible on TUN, but would spin on other fds
      err = EPIPE;
      break;
    }
    if ((size_t)n < header) continue;
    n -= (ssize_t)header;
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
  size_t argc = 8;
  napi_value argv[8], wrapper, resource_name;
  bool super = false;
  bool vnet = false;
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
  if (argc >= 7 && napi_get_value_bool(env, argv[6], &vnet) != napi_ok)
    return throw_usage(env, READ_USAGE, "vnetHdr is not a boolean");
  if (argc >= 8 && !is_nullish(env, argv[7])) {
    size_t nkinds;
    if (!read_typed(env, argv[7], napi_uint8_array, &data, &nkinds) || nkinds < nlengths)
      return throw_usage(env, READ_USAGE, "kinds is not a Uint8Array as long as lengths");
    if (!vnet) return throw_usage(env, READ_USAGE, "kinds needs a vnetHdr device");
    super = true;
  }
  // A vnet read needs a whole super-packet's segments of room: less would never read, and spin.
  if (vnet && scratch_bytes < (size_t)TSO_RESERVE(headroom))
    return throw_usage(env, READ_USAGE, "scratch is smaller than a vnetHdr read needs (65536 + 128 * (headroom + 120))");
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
  p->vnet = vnet;
  p->super = super;
  if (vnet && !(p->tso_buf = malloc(TSO_READ_BYTES))) {
    free(p);
    return throw_errno(env, ENOMEM, "malloc", NULL);
  }
  napi_property_descriptor stop = {"stop", NULL, js_poller_stop, NULL, NULL, NULL, napi_default, NULL};
  if (napi_create_object(env, &wrapper) != napi_ok ||
      napi_define_properties(env, wrapper, 1, &stop) != napi_ok ||
      napi_wrap(env, wrapper, p, poller_finalize, NULL, NULL) != napi_ok) {
    free(p->tso_buf);
    free(p);  // not wrapped, so nobody else will
    throw_napi_failure(env, "creating the poller object");
    return NULL;
  }
  // From here the finalizer owns p.
  NAPI_CALL_GOTO(env, napi_create_reference(env, argv[1], 1, &p->scratch), fail);
  NAPI_CALL_GOTO(env, napi_create_reference(env, argv[2], 1, &p->lengths), fail);
  if (super) NAPI_CALL_GOTO(env, napi_create_reference(env, argv[7], 1, &p->kinds), fail);
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

// ---- cutting a super-packet region for a legacy peer ------------------------------------------

#define SEGMENT_USAGE \
  "segmentSuperPacket(region: Uint8Array, dst: Uint8Array, headroom: number, lengths: Int32Array)"

// segmentSuperPacket(region, dst, headroom, lengths): the region's packet cut into segments of
// gso_size payload bytes in the batch layout at dst[0..] (segment_tcp4: full checksums, ids,
// sequence numbers, flags); returns the segment count, 0 for an invalid region or too little room.
static napi_value js_segment_super_packet(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4], result;
  uint8_t *region, *dst;
  int32_t *lengths;
  size_t region_len, dst_len, nlengths, used = 0, segs = 0;
  int64_t headroom;
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 4) return throw_usage(env, SEGMENT_USAGE, NULL);
  if (!read_typed(env, argv[0], napi_uint8_array, (void **)&region, &region_len))
    return throw_usage(env, SEGMENT_USAGE, "region is not a Uint8Array");
  if (!read_typed(env, argv[1], napi_uint8_array, (void **)&dst, &dst_len))
    return throw_usage(env, SEGMENT_USAGE, "dst is not a Uint8Array");
  if (!read_int(env, argv[2], 0, MAX_HEADROOM, &headroom))
    return throw_usage(env, SEGMENT_USAGE, "headroom is not an integer in 0..65536");
  if (!read_typed(env, argv[3], napi_int32_array, (void **)&lengths, &nlengths))
    return throw_usage(env, SEGMENT_USAGE, "lengths is not an Int32Array");
  if (region_len > 0 && dst_len > 0 && region < dst + dst_len && dst < region + region_len)
    return throw_usage(env, SEGMENT_USAGE, "region and dst overlap");
  super_shape_t shape;
  if (parse_super_region(region, region_len, &shape)) {
    segs = segment_tcp4(region + SUPER_HEADER_BYTES, region_len - SUPER_HEADER_BYTES, shape.gso_size, dst,
                        dst_len, (size_t)headroom, lengths, nlengths, &used);
  }
  NAPI_CALL(env, napi_create_uint32(env, (uint32_t)segs, &result));
  return result;
}

// ---- test-only entries: the per-packet decisions above, without a device ----------------------
// Not used by tun.ts. They run the same functions as writePackets and the vnet read loop so that
// tests can check those decisions byte by byte (native/offload.test.ts).

#define GRO_PLAN_USAGE "groPlan(packets: Uint8Array[])"
#define TSO_USAGE "tsoSegment(vnetHeader: Uint8Array, packet: Uint8Array, headroom: number, maxPacketBytes: number)"

static napi_value vnet_header_value(napi_env env, const struct virtio_net_hdr *vh) {
  napi_value result;
  void *copy;
  NAPI_CALL(env, napi_create_buffer_copy(env, sizeof *vh, vh, &copy, &result));
  return result;
}

// groPlan(packets): [{ count, packet, vnetHeader }] per write writePackets(..., vnetHdr = true) makes.
static napi_value js_gro_plan(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], element, result = NULL, group, jcount, jpacket, jheader;
  uint32_t count = 0;
  bool is_array = false;
  void *copy;
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1 || napi_is_array(env, argv[0], &is_array) != napi_ok || !is_array)
    return throw_usage(env, GRO_PLAN_USAGE, NULL);
  NAPI_CALL(env, napi_get_array_length(env, argv[0], &count));
  struct iovec *pk = calloc(count ? count : 1, sizeof *pk);
  uint8_t *buf = malloc(GRO_MAX_BYTES);
  if (!pk || !buf) {
    free(pk);
    free(buf);
    return throw_errno(env, ENOMEM, "malloc", NULL);
  }
  for (uint32_t i = 0; i < count; i++) {
    if (napi_get_element(env, argv[0], i, &element) != napi_ok ||
        !read_typed(env, element, napi_uint8_array, &pk[i].iov_base, &pk[i].iov_len)) {
      throw_usage(env, GRO_PLAN_USAGE, "not every packet is a Uint8Array");
      goto done;
    }
  }
  NAPI_CALL_GOTO(env, napi_create_array(env, &result), done);
  for (uint32_t i = 0, n = 0; i < count; n++) {
    size_t hdr = 0;
    uint32_t end = gro_group_end(pk, count, i, &hdr);
    struct virtio_net_hdr vh;
    memset(&vh, 0, sizeof vh);
    if (end - i > 1) {
      size_t total = build_coalesced(pk, i, end, hdr, buf, &vh);
      NAPI_CALL_GOTO(env, napi_create_buffer_copy(env, total, buf, &copy, &jpacket), fail);
    } else {
      NAPI_CALL_GOTO(env, napi_create_buffer_copy(env, pk[i].iov_len, pk[i].iov_base, &copy, &jpacket), fail);
    }
    if (!(jheader = vnet_header_value(env, &vh))) goto fail;
    NAPI_CALL_GOTO(env, napi_create_object(env, &group), fail);
    NAPI_CALL_GOTO(env, napi_create_uint32(env, end - i, &jcount), fail);
    NAPI_CALL_GOTO(env, napi_set_named_property(env, group, "count", jcount), fail);
    NAPI_CALL_GOTO(env, napi_set_named_property(env, group, "packet", jpacket), fail);
    NAPI_CALL_GOTO(env, napi_set_named_property(env, group, "vnetHeader", jheader), fail);
    NAPI_CALL_GOTO(env, napi_set_element(env, result, n, group), fail);
    i = end;
  }
  goto done;
fail:
  result = NULL;
done:
  free(pk);
  free(buf);
  return result;
}

// tsoSegment(vnetHeader, packet, headroom, maxPacketBytes): what one vnet read of `packet` adds to
// a batch, as { bytes, lengths } in the batch layout; lengths is empty when the read is dropped. The
// room and free lengths are the least read_batch guarantees before a read.
static napi_value js_tso_segment(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4], result = NULL, jbytes, jlengths, jlength;
  void *header, *packet, *copy;
  size_t header_len, packet_len, used = 0;
  int64_t headroom, max_packet;
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 4 || !read_typed(env, argv[0], napi_uint8_array, &header, &header_len) ||
      header_len != sizeof(struct virtio_net_hdr) ||
      !read_typed(env, argv[1], napi_uint8_array, &packet, &packet_len) || packet_len > TSO_READ_BYTES ||
      !read_int(env, argv[2], 0, MAX_HEADROOM, &headroom) || !read_int(env, argv[3], 1, MAX_PACKET, &max_packet))
    return throw_usage(env, TSO_USAGE, NULL);
  struct virtio_net_hdr vh;
  memcpy(&vh, header, sizeof vh);
  size_t room = 65536 + TSO_MAX_SEGMENTS * ((size_t)headroom + 120);
  uint8_t *pkt = malloc(TSO_READ_BYTES), *buf = malloc(room);
  int32_t lengths[TSO_MAX_SEGMENTS];
  if (!pkt || !buf) {
    free(pkt);
    free(buf);
    return throw_errno(env, ENOMEM, "malloc", NULL);
  }
  memcpy(pkt, packet, packet_len);  // take_vnet_packet may complete a checksum in place
  size_t added = take_vnet_packet(pkt, (size_t)headroom, (size_t)max_packet, &vh, packet_len, buf, room,
                                  lengths, TSO_MAX_SEGMENTS, &used);
  NAPI_CALL_GOTO(env, napi_create_object(env, &result), fail);
  NAPI_CALL_GOTO(env, napi_create_buffer_copy(env, added ? used : 0, buf, &copy, &jbytes), fail);
  NAPI_CALL_GOTO(env, napi_create_array_with_length(env, added, &jlengths), fail);
  for (size_t k = 0; k < added; k++) {
    NAPI_CALL_GOTO(env, napi_create_int32(env, lengths[k], &jlength), fail);
    NAPI_CALL_GOTO(env, napi_set_element(env, jlengths, (uint32_t)k, jlength), fail);
  }
  NAPI_CALL_GOTO(env, napi_set_named_property(env, result, "bytes", jbytes), fail);
  NAPI_CALL_GOTO(env, napi_set_named_property(env, result, "lengths", jlengths), fail);
  goto done;
fail:
  result = NULL;
done:
  free(pkt);
  free(buf);
  return result;
}

// ---- module ----------------------------------------------------------------------------------

NAPI_MODULE_INIT() {
  napi_property_descriptor props[] = {
      {"open", NULL, js_open, NULL, NULL, NULL, napi_enumerable, NULL},
      {"close", NULL, js_close, NULL, NULL, NULL, napi_enumerable, NULL},
      {"startReading", NULL, js_start_reading, NULL, NULL, NULL, napi_enumerable, NULL},
      {"writePackets", NULL, js_write_packets, NULL, NULL, NULL, napi_enumerable, NULL},
      {"peerCredentials", NULL, js_peer_credentials, NULL, NULL, NULL, napi_enumerable, NULL},
      {"sendRegions", NULL, js_send_regions, NULL, NULL, NULL, napi_enumerable, NULL},
      {"dupFd", NULL, js_dup_fd, NULL, NULL, NULL, napi_enumerable, NULL},
      {"segmentSuperPacket", NULL, js_segment_super_packet, NULL, NULL, NULL, napi_enumerable, NULL},
      {"groPlan", NULL, js_gro_plan, NULL, NULL, NULL, napi_enumerable, NULL},
      {"tsoSegment", NULL, js_tso_segment, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  NAPI_CALL(env, napi_define_properties(env, exports, sizeof props / sizeof props[0], props));
  return exports;
}
