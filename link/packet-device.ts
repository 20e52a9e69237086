// What the tunnel engines need from a TUN device. The native TunDevice implements it; tests may use a queue-backed fake.

/**
 * Called once per readiness event with a batch. Packet i sits at offset p_i + headroom, where
 * p_0 = 0 and p_{i+1} = p_i + headroom + lengths[i]. `scratch` is reused after the call returns.
 * `kinds` is null (or, from devices that know nothing of it, absent) unless the reader asked for
 * superPackets; then kinds[i] = 1 marks entry i as a super-packet region (native/tun.ts
 * PACKET_KIND), 0 an ordinary packet.
 */
export type PacketBatchHandler = (scratch: Buffer, lengths: Int32Array, count: number, kinds?: Uint8Array | null) => void;

export interface PacketReadOptions {
  headroom?: number;
  maxBatch?: number;
  maxPacketBytes?: number;
  onError?: (err: Error) => void;
  /** Deliver TSO reads whole as super-packet regions (devices that support it; see native/tun.ts). */
  superPackets?: boolean;
}

export interface PacketDevice {
  readonly name: string;
  startReading(onBatch: PacketBatchHandler, options?: PacketReadOptions): void;
  stopReading(): void;
  /**
   * Writes the first `count` packets; returns how many the kernel took. kinds[i] = 1: packets[i]
   * is a super-packet region, written as one GSO packet (devices that support it).
   */
  writePackets(packets: Uint8Array[], count?: number, kinds?: Uint8Array): number;
  close(): void;
}
