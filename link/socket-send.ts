// Hands batches of frames to a TCP socket's kernel buffer without first copying them into a Buffer
// that net.Socket would have to keep until the write completes. Whatever the kernel does not take
// at once is copied and queued on the net.Socket as usual, so frames stay whole and in order.
import type { Socket } from 'node:net';
import { nativeBinding } from '../native/tun';

/**
 * The socket's fd when a direct send may go first: connected, writable, and nothing queued in
 * net.Socket (a direct send would overtake it). null otherwise, or for non-TCP streams.
 */
function idleSocketFd(socket: Socket): number | null {
  if (socket.writableLength !== 0 || socket.connecting || !socket.writable || socket.destroyed) return null;
  const fd = (socket as unknown as { _handle?: { fd?: unknown } | null })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : null;
}

/**
 * Writes buffer[starts[i] .. starts[i] + lengths[i]) for i < count to `socket`, in order. `buffer`
 * may be reused as soon as this returns. `total` is the sum of the lengths.
 */
export function sendRegions(
  socket: Socket,
  buffer: Buffer,
  starts: Int32Array,
  lengths: Int32Array,
  count: number,
  total: number,
): void {
  let sent = 0;
  const fd = idleSocketFd(socket);
  if (fd !== null) {
    try {
      sent = nativeBinding().sendRegions(fd, buffer, starts, lengths, count);
    } catch {
      sent = 0; // a reset or closed socket: the queued write below makes net.Socket report it
    }
  }
  if (sent === total) return;
  const rest = Buffer.allocUnsafe(total - sent);
  let skip = sent;
  let at = 0;
  for (let i = 0; i < count; i++) {
    const len = lengths[i];
    if (skip >= len) {
      skip -= len;
      continue;
    }
    at += buffer.copy(rest, at, starts[i] + skip, starts[i] + len);
    skip = 0;
  }
  socket.write(rest);
}
