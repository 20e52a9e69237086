// Tunnel sockets that read into one reused buffer (net.Socket's `onread` option) instead of a fresh
// 64 KiB Buffer per read. At multi-Gbit/s those Buffers were external memory that forced a
// mark-compact GC about 20 times a second in the gateway (node --trace-gc, bench/tunnel-bench.ts).
import { closeSync } from 'node:fs';
import * as net from 'node:net';
import { nativeBinding } from '../native/tun';

/** Receives each chunk read; the chunk is overwritten by the next read of any tunnel socket. */
export type ChunkHandler = (chunk: Buffer) => void;

/** Four 64 KiB super-packet frames per read: fewer reads, and fewer frames cut across two of them. */
const READ_BUFFER_BYTES = 256 * 1024;
/**
 * One buffer for every tunnel socket of the process: Node reads one socket at a time and calls
 * its callback before the next read, and our callbacks finish with a chunk before they return.
 */
let sharedBuffer: Buffer | null = null;

/** Where the reads of one socket go: chunks that arrive before a handler is set are kept. */
class ReadRoute {
  private handler: ChunkHandler | null = null;
  private early: Buffer[] = [];

  deliver(chunk: Buffer): void {
    if (this.handler) this.handler(chunk);
    else this.early.push(Buffer.from(chunk)); // copied: the shared buffer is reused
  }

  attach(handler: ChunkHandler): void {
    this.handler = handler;
    const early = this.early;
    this.early = [];
    for (const chunk of early) handler(chunk);
  }
}

const routes = new WeakMap<net.Socket, ReadRoute>();

function readOptions(route: ReadRoute): net.OnReadOpts {
  sharedBuffer ??= Buffer.allocUnsafeSlow(READ_BUFFER_BYTES);
  return {
    buffer: sharedBuffer,
    callback: (bytes: number, buffer: Uint8Array): boolean => {
      route.deliver((buffer as Buffer).subarray(0, bytes));
      return true;
    },
  };
}

/** net.connect with reads into the shared buffer; attach a handler with onSocketChunks. */
export function connectWithSharedReads(options: net.TcpNetConnectOpts): net.Socket {
  const route = new ReadRoute();
  const socket = net.connect({ ...options, onread: readOptions(route) });
  routes.set(socket, route);
  return socket;
}

/**
 * Moves a connection accepted by a net.Server (created with pauseOnConnect) onto a socket that reads
 * into the shared buffer. The original socket object is destroyed; its descriptor was duplicated
 * first, so the connection stays open. Falls back to the original socket, resumed, if that fails.
 */
export function adoptWithSharedReads(accepted: net.Socket): net.Socket {
  const fd = (accepted as unknown as { _handle?: { fd?: unknown } | null })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) {
    accepted.resume();
    return accepted;
  }
  let copy: number;
  try {
    copy = nativeBinding().dupFd(fd);
  } catch {
    accepted.resume();
    return accepted;
  }
  const route = new ReadRoute();
  let socket: net.Socket;
  try {
    // Node takes `onread` in the Socket constructor too; @types/node only declares it for connect().
    const options: net.SocketConstructorOpts & { onread: net.OnReadOpts } = { fd: copy, readable: true, writable: true, onread: readOptions(route) };
    socket = new net.Socket(options);
  } catch {
    closeSync(copy);
    accepted.resume();
    return accepted;
  }
  routes.set(socket, route);
  accepted.destroy();
  return socket;
}

/**
 * Calls `handler` with each chunk the socket reads. For sockets made by this module the chunk lives
 * in the shared buffer (valid until the handler returns); for others it is a 'data' event's Buffer.
 */
export function onSocketChunks(socket: net.Socket, handler: ChunkHandler): void {
  const route = routes.get(socket);
  if (route) route.attach(handler);
  else socket.on('data', handler);
}
