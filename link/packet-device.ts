// What the tunnel engines need from a TUN device. The native TunDevice implements it; tests may use a queue-backed fake.

/**
 * Called once per readiness event with a batch. Packet i sits at offset p_i + headroom, where
 * p_0 = 0 and p_{i+1} = p_i + headroom + lengths[i]. `scratch` is reused after the call returns.
 */
export type PacketBatchHandler = (scratch: Buffer, lengths: Int32Array, count: number) => void;

export interface PacketReadOptions {
  headroom?: number;
  maxBatch?: number;
  maxPacketBytes?: number;
  onError?: (err: Error) => void;
}

export interface PacketDevice {
  readonly name: string;
  startReading(onBatch: PacketBatchHandler, options?: PacketReadOptions): void;
  stopReading(): void;
  /** Writes the first `count` packets; returns how many the kernel took. */
  writePackets(packets: Uint8Array[], count?: number): number;
  close(): void;
}
