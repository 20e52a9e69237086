// Bench only, never shipped: the ceiling of our plain data path's design on this machine. It does
// what our client and gateway do with plain super-packets (TUN with IFF_VNET_HDR and TSO <-> one
// TCP connection over IPv6), with no JavaScript, no event loop, no checks and a thread per
// direction: whatever it cannot beat, no user-space data path on TUN + TCP can (docs/performance.md).
//
//   ceiling-pump server PORT TUN        accepts one connection on [::]:PORT
//   ceiling-pump client HOST6 PORT TUN  connects to [HOST6]:PORT
//
// Prints "tun ready" once TUN exists (the bench then gives it its address and brings it up) and
// "connected" once the connection is. Each frame on the wire: 4-byte length (host order), then the
// virtio-net header and the packet exactly as one TUN read returned them. Exits when the peer does.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#define READ_CHUNK (256 * 1024)
#define RING_BYTES (1024 * 1024)

static int tun_fd = -1;
static int sock_fd = -1;

static void fail(const char *what) {
  perror(what);
  exit(1);
}

static void write_all(int fd, const uint8_t *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w <= 0) exit(0); // the peer went away: the bench is over
    p += w;
    n -= (size_t)w;
  }
}

// TUN -> socket: one read is one (super-)packet, sent as one frame.
static void *tun_to_socket(void *unused) {
  (void)unused;
  static uint8_t frame[4 + 70000];
  for (;;) {
    ssize_t n = read(tun_fd, frame + 4, sizeof frame - 4);
    if (n <= 0) fail("read tun");
    uint32_t length = (uint32_t)n;
    memcpy(frame, &length, 4);
    write_all(sock_fd, frame, (size_t)n + 4);
  }
  return NULL;
}

// socket -> TUN: reads up to 256 KiB at a time, writes each whole frame, keeps a cut one for later.
static void *socket_to_tun(void *unused) {
  (void)unused;
  uint8_t *ring = malloc(RING_BYTES);
  if (ring == NULL) fail("malloc");
  size_t have = 0;
  for (;;) {
    size_t room = RING_BYTES - have < READ_CHUNK ? RING_BYTES - have : READ_CHUNK;
    ssize_t n = read(sock_fd, ring + have, room);
    if (n <= 0) exit(0);
    have += (size_t)n;
    size_t at = 0;
    while (have - at >= 4) {
      uint32_t length;
      memcpy(&length, ring + at, 4);
      if (length > 70000) {
        fprintf(stderr, "bad frame length %u\n", length);
        exit(1);
      }
      if (have - at < 4 + (size_t)length) break;
      if (write(tun_fd, ring + at + 4, length) < 0) perror("write tun"); // a dropped packet, as a TUN would
      at += 4 + (size_t)length;
    }
    memmove(ring, ring + at, have - at);
    have -= at;
  }
  return NULL;
}

static void open_tun(const char *name) {
  tun_fd = open("/dev/net/tun", O_RDWR);
  if (tun_fd < 0) fail("/dev/net/tun");
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  ifr.ifr_flags = IFF_TUN | IFF_NO_PI | IFF_VNET_HDR;
  strncpy(ifr.ifr_name, name, IFNAMSIZ - 1);
  if (ioctl(tun_fd, TUNSETIFF, &ifr) < 0) fail("TUNSETIFF");
  if (ioctl(tun_fd, TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN) < 0) fail("TUNSETOFFLOAD");
  printf("tun ready\n");
  fflush(stdout);
}

int main(int argc, char **argv) {
  int client = argc == 5 && strcmp(argv[1], "client") == 0;
  int server = argc == 4 && strcmp(argv[1], "server") == 0;
  if (!client && !server) {
    fprintf(stderr, "usage: ceiling-pump server PORT TUN | ceiling-pump client HOST6 PORT TUN\n");
    return 2;
  }
  open_tun(argv[argc - 1]);
  struct sockaddr_in6 sa;
  memset(&sa, 0, sizeof sa);
  sa.sin6_family = AF_INET6;
  sa.sin6_port = htons((uint16_t)atoi(argv[client ? 3 : 2]));
  if (client) {
    if (inet_pton(AF_INET6, argv[2], &sa.sin6_addr) != 1) fail("address");
    sock_fd = socket(AF_INET6, SOCK_STREAM, 0);
    if (sock_fd < 0 || connect(sock_fd, (struct sockaddr *)&sa, sizeof sa) < 0) fail("connect");
  } else {
    int listener = socket(AF_INET6, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sa.sin6_addr = in6addr_any;
    if (listener < 0 || bind(listener, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(listener, 1) < 0) fail("listen");
    printf("listening\n");
    fflush(stdout);
    sock_fd = accept(listener, NULL, NULL);
    if (sock_fd < 0) fail("accept");
    close(listener);
  }
  int one = 1;
  setsockopt(sock_fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one); // as our links do
  printf("connected\n");
  fflush(stdout);
  pthread_t up, down;
  if (pthread_create(&up, NULL, tun_to_socket, NULL) != 0 || pthread_create(&down, NULL, socket_to_tun, NULL) != 0) fail("pthread_create");
  pthread_join(down, NULL);
  return 0;
}
