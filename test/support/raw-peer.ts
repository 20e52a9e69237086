// Peers written from the wire contract, not from our client or gateway: a raw client socket that
// records every byte and frame it receives, and an in-process wire tap (a TCP relay) that records the
// frames each side put on the wire. Tests use them to assert what crossed the wire, not only what
// our own code reports.
import net from 'node:net';
import { FrameCipher } from '../../protocol/crypto';
import { type Frame, FrameReader, MAX_NEGOTIATED_FRAME_BYTES, MessageType } from '../../protocol/frame';
import { waitFor } from './netns';

export interface SeenFrame {
  type: number;
  /** A copy of the payload. */
  payload: Buffer;
  /** For type 200 opened with the tap's or client's key: the inner frame's type, else null. */
  inner: number | null;
  innerPayload: Buffer | null;
}

function record(frame: Frame, cipher: FrameCipher | null): SeenFrame {
  const seen: SeenFrame = { type: frame.type, payload: Buffer.from(frame.payload), inner: null, innerPayload: null };
  if (frame.type === MessageType.Encrypted && cipher) {
    try {
      const inner = cipher.open(Buffer.from(frame.payload));
      seen.inner = inner[4];
      seen.innerPayload = Buffer.from(inner.subarray(5));
    } catch {
      // another key: leave inner null
    }
  }
  return seen;
}

/** A reader for a test peer: it takes super-packet frames too (whether the two ends agreed is what tests check). */
function tapReader(): FrameReader {
  const reader = new FrameReader();
  reader.maxFrameBytes = MAX_NEGOTIATED_FRAME_BYTES;
  return reader;
}

/** A client socket speaking raw bytes to a gateway; opens type-200 frames when given the key. */
export class RawClient {
  readonly raw: Buffer[] = [];
  readonly frames: SeenFrame[] = [];
  closed = false;
  private readonly reader = tapReader();

  private constructor(readonly socket: net.Socket, private readonly cipher: FrameCipher | null) {
    socket.on('data', (chunk: Buffer) => {
      this.raw.push(Buffer.from(chunk));
      for (const f of this.reader.push(chunk)) this.frames.push(record(f, cipher));
    });
    socket.on('close', () => (this.closed = true));
    socket.on('error', () => undefined);
  }

  static async connect(port: number, key: Buffer | null = null): Promise<RawClient> {
    const socket = net.connect({ host: '::1', port });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return new RawClient(socket, key ? new FrameCipher(key) : null);
  }

  send(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** Sends an inner frame sealed with this client's key, as a legacy client with a key does. */
  sendSealed(inner: Buffer): void {
    if (!this.cipher) throw new Error('this raw client has no key');
    this.socket.write(this.cipher.seal(inner));
  }

  /** Every byte received so far, as one buffer. */
  bytes(): Buffer {
    return Buffer.concat(this.raw);
  }

  count(pred: (f: SeenFrame) => boolean): number {
    return this.frames.filter(pred).length;
  }

  /** Waits until `n` frames matching `pred` have arrived in total. */
  async waitForFrames(pred: (f: SeenFrame) => boolean, n: number, what: string, timeoutMs = 5000): Promise<void> {
    await waitFor(() => this.count(pred) >= n || this.closed, { timeoutMs, what });
    if (this.count(pred) < n) throw new Error(`connection closed while waiting for ${what}`);
  }

  close(): void {
    this.socket.destroy();
  }
}

/** A TCP relay on [::1] that forwards bytes unchanged and records the frames of each direction. */
export class WireTap {
  readonly up: SeenFrame[] = [];
  readonly down: SeenFrame[] = [];
  readonly upBytes: Buffer[] = [];
  private readonly sockets = new Set<net.Socket>();

  private constructor(private readonly server: net.Server, private readonly cipher: FrameCipher | null) {}

  /** Listens on [::1]:<kernel's choice>, relaying to [::1]:targetPort. */
  static async start(targetPort: number, key: Buffer | null = null): Promise<WireTap> {
    let tap!: WireTap;
    const server = net.createServer((client) => tap.relay(client, targetPort));
    tap = new WireTap(server, key ? new FrameCipher(key) : null);
    await new Promise<void>((resolve) => server.listen({ host: '::1', port: 0 }, resolve));
    return tap;
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  private relay(client: net.Socket, targetPort: number): void {
    const upstream = net.connect({ host: '::1', port: targetPort });
    const upReader = tapReader();
    const downReader = tapReader();
    this.sockets.add(client).add(upstream);
    client.on('data', (d: Buffer) => {
      this.upBytes.push(Buffer.from(d));
      for (const f of upReader.push(d)) this.up.push(record(f, this.cipher));
      upstream.write(d);
    });
    upstream.on('data', (d: Buffer) => {
      for (const f of downReader.push(d)) this.down.push(record(f, this.cipher));
      client.write(d);
    });
    const close = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('close', close).on('error', close);
    upstream.on('close', close).on('error', close);
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise((r) => this.server.close(r));
  }
}
