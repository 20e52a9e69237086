// The gateway: accepts clients, leases addresses, forwards between client links and the TUN device,
// runs the heartbeat sweep. No process wiring here (see main.ts), so tests can drive it directly.
//
// Lifecycle of a connection (session.ts): accept (or refuse: admission limits) -> awaiting-request ->
// first valid IP request -> lease (or close: pool exhausted) -> IP response -> data both ways +
// heartbeats -> close (peer, malformed frame, heartbeat timeout, shutdown, ...) -> lease returned,
// reserved for its holder for lease_grace. Which address a request gets is lease-table.ts's decision;
// the table is written to <state_dir>/leases.json (lease-store.ts) and read back at start.
// A connection without a valid IP request within ip_request_timeout is closed: it never holds a lease.
import net from 'node:net';
import { join } from 'node:path';
import type { Logger } from '../log/logger';
import { RateLimitedLog } from '../log/logger';
import { FrameLink, type LinkCloseKind } from '../link/frame-link';
import { adoptWithSharedReads } from '../link/socket-read';
import { LinkBatch, PACKET_KIND_SUPER, TUN_HEADROOM_BYTES, TUN_READ_PACKET_BYTES, TunWrites, inboundProblem, ipv4Start, maxOrdinaryPacketBytes, tunnelTcpMss } from '../link/data-path';
import { ipv4Destination, ipv4Source, isIPv4Packet } from '../link/ipv4';
import type { PacketDevice } from '../link/packet-device';
import { intToIpv4, ipv4ToInt, type ServerConfig } from '../protocol/config';
import { frameAead } from '../protocol/aead-engine';
import { ENCRYPTION_OVERHEAD_BYTES, FrameCipher } from '../protocol/crypto';
import { FRAME_HEADER_BYTES, MessageType, encodeFrame } from '../protocol/frame';
import { HEARTBEAT_FRAME, UNSUPPORTED_FRAME, encodeIpResponse } from '../protocol/messages';
import { encodeCapabilitiesPayload } from '../protocol/capabilities';
import { type IpRequestExtension, parseIpRequestPayload } from '../protocol/ip-request';
import { CAP_SUPER_PACKETS } from '../protocol/super-packet';
import { type GrantKind, LeaseTable, identityOf } from './lease-table';
import { LEASE_FILE_NAME, LeaseFileError, LeaseFileWriter, encodeLeaseFile, maxLeaseFileBytes, readLeaseFile } from './lease-store';
import { type Refusal, type Source, UnleasedAdmission, sourceOf } from './admission';
import { CLOSE_CAUSES, type CloseCause, Session, type SessionId } from './session';

/** Packets per TUN readiness event: enough that client uploads cannot crowd out the downstream. */
const TUN_BATCH_PACKETS = 256;
/** Our answer to a client that offers super-packets, when this gateway's TUN device takes them. */
const SUPER_PACKETS_FRAME = encodeFrame(MessageType.Capabilities, encodeCapabilitiesPayload([CAP_SUPER_PACKETS]));
const UNSUPPORTED_ANSWER_INTERVAL_MS = 1000;
const SWEEP_INTERVAL_MS = 1000; // protocol.md "Session behaviour": a 1 s tick
/**
 * At most one IP response per connection per second: a legacy client asks every 3 s until answered,
 * ours every 3 s; a peer that asks more often gets the first answer and the rest are dropped, so
 * requests cannot make the gateway queue answers faster than a second's worth.
 */
export const IP_RESPONSE_INTERVAL_MS = 1000;
/**
 * A connection that leaves more IP requests than this unanswered within one interval is closed: a
 * client resends every 3 s, so only a flood gets here, and each request of a flood costs a decryption.
 */
export const MAX_UNANSWERED_IP_REQUESTS = 64;
/**
 * A client's queue may pass max_queue_bytes by one downstream batch (data goes out while the queue
 * is under the bound); control frames beyond that close the connection: the client is not reading.
 */
const CONTROL_HEADROOM_BYTES = TUN_BATCH_PACKETS * (TUN_READ_PACKET_BYTES + FRAME_HEADER_BYTES + ENCRYPTION_OVERHEAD_BYTES);
/** Log lines a peer can cause, per kind (accepted, refused, closed for a reason ...): this many a second, then counted. */
const PEER_LOG_BURST = 10;
/** And this many a second over all kinds, per level (info, warn): an attack that mixes kinds stays readable. */
const PEER_LOG_TOTAL = 20;

export interface GatewayMetrics {
  /** Connections holding a lease. */
  sessions: number;
  /** Connections accepted that have not sent a valid IP request yet. */
  unleased: number;
  /** Addresses nobody holds or has reserved. */
  leasesFree: number;
  /** Addresses kept for clients that left less than lease_grace ago. */
  leasesReserved: number;
  leasesInUse: number;
  /** Addresses handed out, by how the lease table chose them. */
  leaseGrants: Record<GrantKind, number>;
  /** Connections accepted (leased or not). */
  accepted: number;
  /** Connections closed (leased or not); by cause in closedBy. */
  closed: number;
  /** Connections refused at accept, by the admission limit they would have passed. */
  refused: Record<Refusal, number>;
  closedBy: Record<CloseCause, number>;
  bytesUp: number;
  packetsUp: number;
  bytesDown: number;
  packetsDown: number;
  malformedFrames: number;
  decryptFailures: number;
  poolExhausted: number;
  plaintextRefused: number;
  heartbeatEvictions: number;
  /** Connections closed for sending no valid IP request within ip_request_timeout. */
  ipRequestTimeouts: number;
  /** IP requests not answered: a second one within IP_RESPONSE_INTERVAL_MS of an answer. */
  ipResponsesDropped: number;
  /** Log lines a peer caused that were counted instead of written. */
  logLinesSuppressed: number;
  /** Connections that agreed on super-packets (docs/protocol.md "Super-packets"). */
  superPacketSessions: number;
  drops: {
    spoofedSource: number;
    notIpv4: number;
    /** The packet's length differs from its IPv4 header's: e.g. cut short by a legacy client. */
    badLength: number;
    /** Data from a connection that has no lease yet. */
    notLeased: number;
    noSession: number;
    peerTooSlow: number;
    tunWriteFailed: number;
    tooLargeToEncrypt: number;
    /** Super-packet frames whose region does not hold together (header, IPv4, segment count). */
    badSuperPacket: number;
  };
}

export interface GatewayOptions {
  config: ServerConfig;
  tun: PacketDevice;
  log: Logger;
  /** Monotonic milliseconds for timers (heartbeats, rate limits). */
  now?: () => number;
  /** Wall-clock milliseconds for reservations, which outlive the process in the lease file. */
  wallNow?: () => number;
  /**
   * The TUN device reads and writes whole TCP super-packets (vnet, TSO): offer them to clients that
   * ask (docs/protocol.md "Super-packets"). Default off.
   */
  superPackets?: boolean;
}

export class Gateway {
  private readonly server: net.Server;
  private readonly leases: LeaseTable;
  private readonly leaseFile: LeaseFileWriter;
  private readonly poolSize: number;
  private readonly admission: UnleasedAdmission;
  private readonly cipher: FrameCipher | null;
  /** SYNs both ways get at most this MSS, so TCP packets fit our MTU and legacy clients' buffers. */
  private readonly tcpMss: number;
  private readonly byLease = new Map<number, Session>();
  /** Every open connection, leased or not. */
  private readonly sessions = new Set<Session>();
  private readonly now: () => number;
  private readonly wallNow: () => number;
  private readonly log: Logger;
  /** Lines a peer can cause, rate-limited per kind (with counts of what was left out). */
  private readonly peerInfo: RateLimitedLog;
  private readonly peerWarn: RateLimitedLog;
  private nextId = 1;
  private sweepTimer: NodeJS.Timeout | null = null;
  private readonly touched: Session[] = [];
  private readonly tunWrites: TunWrites;
  private stopped = false;
  private readonly m = {
    accepted: 0, closed: 0, bytesUp: 0, packetsUp: 0, bytesDown: 0, packetsDown: 0, malformedFrames: 0,
    decryptFailures: 0, poolExhausted: 0, plaintextRefused: 0, heartbeatEvictions: 0,
    ipRequestTimeouts: 0, ipResponsesDropped: 0,
    spoofedSource: 0, notIpv4: 0, badLength: 0, notLeased: 0, noSession: 0, tunWriteFailed: 0, tooLargeToEncrypt: 0,
    badSuperPacket: 0, superPacketSessions: 0,
    /** Drops toward sessions already closed (live ones are read from their links). */
    closedPeerTooSlow: 0,
  };
  private readonly refused: Record<Refusal, number> = { perAddress: 0, perPrefix: 0, total: 0 };
  private readonly closedBy = Object.fromEntries(CLOSE_CAUSES.map((c) => [c, 0])) as Record<CloseCause, number>;
  private readonly grants: Record<GrantKind, number> = { takeover: 0, requested: 0, reserved: 0, free: 0, reclaimed: 0 };

  constructor(private readonly opts: GatewayOptions) {
    const { config } = opts;
    this.now = opts.now ?? (() => performance.now());
    this.wallNow = opts.wallNow ?? Date.now;
    this.log = opts.log;
    this.peerInfo = new RateLimitedLog((msg) => this.log.info(msg), 1000, this.now, PEER_LOG_BURST, PEER_LOG_TOTAL);
    this.peerWarn = new RateLimitedLog((msg) => this.log.warn(msg), 1000, this.now, PEER_LOG_BURST, PEER_LOG_TOTAL);
    this.leases = new LeaseTable(config.poolFirst, config.poolLast, [ipv4ToInt(config.gateway)], config.leaseGraceS * 1000);
    this.poolSize = this.leases.freeCount;
    this.leaseFile = new LeaseFileWriter(join(config.stateDir, LEASE_FILE_NAME),
      () => encodeLeaseFile(this.leases.records(), this.wallNow()),
      (err) => this.log.error(`cannot write the lease file ${this.leaseFile.path}: ${err.message}`));
    this.admission = new UnleasedAdmission({
      perAddress: config.maxUnleasedPerAddress, perPrefix: config.maxUnleasedPerPrefix, total: config.maxUnleased,
    });
    this.cipher = config.key ? new FrameCipher(config.key) : null;
    this.tcpMss = tunnelTcpMss(config.mtu);
    this.tunWrites = new TunWrites(this.tcpMss);
    this.server = net.createServer({ noDelay: true, pauseOnConnect: true }, (socket) => this.accept(socket));
  }

  async listen(): Promise<net.AddressInfo> {
    const { listenAddress, port } = this.opts.config;
    this.restoreLeases();
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen({ host: listenAddress, port, ipv6Only: listenAddress === '::' ? false : undefined }, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    this.opts.tun.startReading(this.onTunBatch, {
      headroom: TUN_HEADROOM_BYTES,
      superPackets: this.opts.superPackets === true,
      maxBatch: TUN_BATCH_PACKETS,
      maxPacketBytes: TUN_READ_PACKET_BYTES,
      onError: (err) => this.log.error(`TUN read failed: ${err.message}`),
    });
    this.sweepTimer = setInterval(() => this.sweep(), SWEEP_INTERVAL_MS);
    const address = this.server.address() as net.AddressInfo;
    this.log.info(`listening on [${address.address}]:${address.port}, TUN ${this.opts.tun.name}, pool of ${this.poolSize}${this.leases.reservedCount ? ` (${this.leases.reservedCount} reserved)` : ''}, encryption ${this.cipher ? `${this.opts.config.requireEncryption ? 'required' : 'optional'} (${this.cipher.library})` : 'off'}`);
    const fallback = frameAead().fallbackReason;
    if (this.cipher && fallback) this.log.warn(`sealing with libsodium, which is slower: OpenSSL's libcrypto is not used (${fallback})`);
    return address;
  }

  /** Closes every session and stops listening. The TUN device belongs to the caller. */
  async close(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.opts.tun.stopReading();
    for (const s of [...this.sessions]) this.closeSession(s, 'shutdown', 'server shutting down');
    this.peerInfo.flush();
    this.peerWarn.flush();
    // Their addresses are reservations now: on disk, for the clients that come back after a restart.
    await this.leaseFile.flush();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Reads the lease file of an earlier run: its addresses are reserved for their holders. */
  private restoreLeases(): void {
    const path = this.leaseFile.path;
    let read;
    try {
      read = readLeaseFile(path, maxLeaseFileBytes(this.poolSize));
    } catch (err) {
      if (!(err instanceof LeaseFileError)) throw err;
      this.log.warn(`ignored the lease file ${path}: ${err.message}; every address starts free`);
      return;
    }
    if (read === null) return;
    const restored = this.leases.restore(read.records, this.wallNow());
    const dropped = read.records.length - restored + read.skipped;
    this.log.info(`lease file ${path}: ${restored} address(es) reserved for their clients for up to ${this.opts.config.leaseGraceS} s` +
      (dropped > 0 ? `; ${dropped} entr${dropped === 1 ? 'y' : 'ies'} dropped (expired, outside the pool, or malformed)` : ''));
    if (dropped > 0) this.leaseFile.schedule();
  }

  metrics(): GatewayMetrics {
    const m = this.m;
    let peerTooSlow = 0;
    for (const s of this.sessions) peerTooSlow += s.link.stats.packetsDroppedQueueFull;
    return {
      sessions: this.byLease.size,
      unleased: this.admission.unleased,
      leasesFree: this.leases.freeCount,
      leasesReserved: this.leases.reservedCount,
      leasesInUse: this.leases.inUseCount,
      leaseGrants: { ...this.grants },
      accepted: m.accepted, closed: m.closed,
      refused: { ...this.refused },
      closedBy: { ...this.closedBy },
      bytesUp: m.bytesUp, packetsUp: m.packetsUp, bytesDown: m.bytesDown, packetsDown: m.packetsDown,
      malformedFrames: m.malformedFrames, decryptFailures: m.decryptFailures, poolExhausted: m.poolExhausted,
      plaintextRefused: m.plaintextRefused, heartbeatEvictions: m.heartbeatEvictions,
      ipRequestTimeouts: m.ipRequestTimeouts, ipResponsesDropped: m.ipResponsesDropped,
      superPacketSessions: m.superPacketSessions,
      logLinesSuppressed: this.peerInfo.suppressedTotal + this.peerWarn.suppressedTotal,
      drops: {
        spoofedSource: m.spoofedSource, notIpv4: m.notIpv4, badLength: m.badLength, notLeased: m.notLeased, noSession: m.noSession,
        peerTooSlow: peerTooSlow + m.closedPeerTooSlow, tunWriteFailed: m.tunWriteFailed, tooLargeToEncrypt: m.tooLargeToEncrypt,
        badSuperPacket: m.badSuperPacket,
      },
    };
  }

  // ---- accept and per-session input ------------------------------------------------------------

  private accept(accepted: net.Socket): void {
    if (this.stopped) {
      accepted.destroy();
      return;
    }
    const source = sourceOf(accepted.remoteAddress);
    if (source === null) {
      accepted.destroy(); // already gone: no address to speak of
      return;
    }
    const peer = `[${source.address}]:${accepted.remotePort ?? '?'}`;
    const refusal = this.admission.admit(source);
    if (refusal !== null) {
      this.refused[refusal]++;
      this.peerWarn.event(`refused:${refusal}`, `refused ${peer}: ${this.refusalText(refusal, source)}`);
      accepted.destroy();
      return;
    }
    const socket = adoptWithSharedReads(accepted);
    this.m.accepted++;
    const id = this.nextId++ as SessionId;
    // The link is created before the session object it reports to; handlers look the session up lazily.
    let session!: Session;
    const link = new FrameLink(socket, {
      cipher: this.cipher,
      encryptOutgoing: false,
      highWaterBytes: this.opts.config.maxQueueBytes,
      controlHeadroomBytes: CONTROL_HEADROOM_BYTES,
    }, {
      onFrame: (type, payload, encrypted) => this.onFrame(session, type, payload, encrypted),
      onChunkEnd: () => this.flushTunWrites(),
      onDecryptFailed: (err) => this.onDecryptFailed(session, err),
      onClose: (reason, _err, kind) => this.onSessionClosed(session, reason, kind),
    });
    session = new Session(id, peer, source, link, this.now(), new LinkBatch(MessageType.DataDown, this.tcpMss));
    this.sessions.add(session);
    this.peerInfo.event('accepted', `accepted ${session.label}`);
  }

  private refusalText(refusal: Refusal, source: Source): string {
    const c = this.opts.config;
    switch (refusal) {
      case 'perAddress':
        return `${c.maxUnleasedPerAddress} connections from this address have not asked for an address yet (max_unleased_per_address)`;
      case 'perPrefix':
        return `${c.maxUnleasedPerPrefix} connections from ${source.prefix} have not asked for an address yet (max_unleased_per_prefix)`;
      case 'total':
        return `${c.maxUnleased} connections have not asked for an address yet (max_unleased)`;
    }
  }

  private onFrame(s: Session, type: number, payload: Buffer, encrypted: boolean): void {
    if (encrypted && !s.encrypting) {
      s.encrypting = true;
      s.link.encryptOutgoing = true;
      this.peerInfo.event('encryption', `${s.label}: encryption on`);
    }
    if (type === MessageType.Encrypted) {
      // Only reached without a key: tell the client we cannot decrypt (at most once per second).
      this.answerUnsupported(s);
      return;
    }
    if (!encrypted && this.cipher && this.opts.config.requireEncryption && isClientMessage(type)) {
      this.m.plaintextRefused++;
      // A plain 199 first says why (our extension, docs/protocol.md): our client reports "requires encryption".
      s.closeCause = 'plaintextRefused';
      s.link.closeAfterPlainFrame(UNSUPPORTED_FRAME, 'client sent plaintext but this server requires encryption (require_encryption: true)');
      return;
    }
    switch (type) {
      case MessageType.DataUp:
        if (s.phase === 'leased') this.onDataUp(s, payload, 0);
        else this.m.notLeased++;
        return;
      case MessageType.SuperPacket:
        if (!s.link.superPackets) {
          // Never offered (or not by this gateway): whatever the client thinks it is, we cannot take it.
          this.closeSession(s, 'unnegotiatedSuperPacket', 'client sent a super-packet frame (type 106) without agreeing to super-packets first');
          return;
        }
        this.onDataUp(s, payload, PACKET_KIND_SUPER);
        return;
      case MessageType.Heartbeat:
        s.lastHeartbeatReceivedMs = this.now();
        return;
      case MessageType.IpRequest:
        this.onIpRequest(s, payload);
        return;
      case MessageType.Unsupported:
        // The client cannot decrypt: legacy servers stop encrypting; we only do so when allowed.
        if (s.encrypting && this.opts.config.requireEncryption) {
          this.closeSession(s, 'encryptionRefused', 'client answered 199 (cannot decrypt) and this server requires encryption');
        } else if (s.encrypting) {
          s.encrypting = false;
          s.link.encryptOutgoing = false;
        }
        return;
      default:
        return; // unknown types are ignored, as legacy peers do
    }
  }

  /** A valid IP request (decrypted, or plaintext where allowed): lease on the first, answer at most once a second. */
  private onIpRequest(s: Session, payload: Buffer): void {
    const t = this.now();
    const ext = parseIpRequestPayload(payload);
    if (s.phase === 'awaiting-request' && !this.lease(s, ext)) return;
    if (t - s.lastIpResponseMs < IP_RESPONSE_INTERVAL_MS) {
      this.m.ipResponsesDropped++;
      if (++s.ipRequestsDropped > MAX_UNANSWERED_IP_REQUESTS) {
        this.closeSession(s, 'ipRequestFlood', `more than ${MAX_UNANSWERED_IP_REQUESTS} IP requests within ${IP_RESPONSE_INTERVAL_MS} ms`);
      }
      return;
    }
    s.lastIpResponseMs = t;
    s.ipRequestsDropped = 0;
    s.link.sendFrame(encodeIpResponse({ address: s.leaseText, route: '0.0.0.0', dns: this.opts.config.dns }));
    // Only a client that asked hears of capabilities: a legacy client never receives a type 105.
    if (this.opts.superPackets && ext?.caps.includes(CAP_SUPER_PACKETS) && !s.link.superPackets && s.link.sendFrame(SUPER_PACKETS_FRAME)) {
      s.link.enableSuperPackets();
      this.m.superPacketSessions++;
    }
  }

  /**
   * Gives the session an address, the one its request names or its reservation when the lease
   * table allows; false (and the session closed) when none is left.
   */
  private lease(s: Session, ext: IpRequestExtension | null): boolean {
    const identity = identityOf(ext?.clientId, s.source.address);
    const requested = ext?.previousAddress !== undefined ? ipv4ToInt(ext.previousAddress) : null;
    const grant = this.leases.acquire(identity, requested, this.wallNow());
    if (grant === null) {
      this.m.poolExhausted++;
      this.closeSession(s, 'poolExhausted', `address pool exhausted (${this.leases.inUseCount} in use, none reserved)`);
      return false;
    }
    this.grants[grant.kind]++;
    if (grant.kind === 'takeover') {
      // The same client again (its id): the old connection has not timed out yet, the new one gets the address.
      const old = this.byLease.get(grant.address);
      if (old !== undefined) {
        this.byLease.delete(grant.address);
        old.lease = null; // moved, not returned: the table keeps it in use for the new session
        this.closeSession(old, 'replaced', `replaced by session ${s.id} of the same client, which keeps ${intToIpv4(grant.address)}`);
      }
    }
    this.admission.release(s.source);
    s.phase = 'leased';
    s.lease = grant.address;
    s.leaseText = intToIpv4(grant.address);
    s.identity = identity;
    s.lastHeartbeatReceivedMs = this.now(); // the heartbeat timeout runs from the lease
    this.byLease.set(grant.address, s);
    this.leaseFile.schedule();
    this.peerInfo.event('leased', `${s.label}: leased ${s.leaseText}${GRANT_TEXT[grant.kind]}${requested !== null && requested !== grant.address ? ` (asked for ${ext?.previousAddress})` : ''}`);
    return true;
  }

  /** A packet (kind 0) or super-packet region (kind 1) from a leased client, bound for the TUN device. */
  private onDataUp(s: Session, packet: Buffer, kind: number): void {
    const problem = inboundProblem(packet, kind);
    if (problem !== null) {
      this.m[problem]++;
      return;
    }
    const source = ipv4Source(packet, ipv4Start(kind));
    if (source !== s.lease) {
      this.m.spoofedSource++;
      s.counters.droppedSpoofed++;
      this.peerWarn.event('spoof', `${s.label}: dropped packet from ${intToIpv4(source)}, not its lease`);
      return;
    }
    s.counters.packetsUp++;
    s.counters.bytesUp += packet.length - ipv4Start(kind);
    this.tunWrites.push(packet, kind);
  }

  private flushTunWrites(): void {
    const t = this.tunWrites.flush(this.opts.tun);
    this.m.bytesUp += t.bytes;
    this.m.packetsUp += t.written;
    this.m.tunWriteFailed += t.failed;
  }

  private onDecryptFailed(s: Session, err: Error): void {
    this.m.decryptFailures++;
    // One key for all connections: many short-lived wrong-key connections must not each get lines of their own.
    this.peerWarn.event('decrypt', `${s.label}: dropped a frame that failed decryption (${err.message})`);
    this.answerUnsupported(s);
  }

  private answerUnsupported(s: Session): void {
    const t = this.now();
    if (t - s.lastUnsupportedSentMs < UNSUPPORTED_ANSWER_INTERVAL_MS) return;
    s.lastUnsupportedSentMs = t;
    s.link.sendPlainFrame(UNSUPPORTED_FRAME);
  }

  /** Closes a session for a reason of the gateway's own (the link reports back through onSessionClosed). */
  private closeSession(s: Session, cause: CloseCause, reason: string): void {
    if (s.phase === 'closed') return;
    s.closeCause = cause;
    s.link.close(reason);
  }

  private onSessionClosed(s: Session, reason: string, kind: LinkCloseKind): void {
    if (!this.sessions.delete(s)) return;
    const cause = s.closeCause ?? LINK_CLOSE_CAUSE[kind];
    const wasLeased = s.phase === 'leased';
    const returned = s.lease;
    if (s.phase === 'awaiting-request') this.admission.release(s.source);
    if (returned !== null) {
      this.byLease.delete(returned);
      this.leases.release(returned, this.wallNow());
      this.leaseFile.schedule();
    }
    s.phase = 'closed';
    this.m.closed++;
    this.closedBy[cause]++;
    this.m.closedPeerTooSlow += s.link.stats.packetsDroppedQueueFull;
    if (cause === 'malformed') this.m.malformedFrames++;
    const c = s.counters;
    const grace = this.opts.config.leaseGraceS;
    const what = !wasLeased ? ''
      : ` (up ${c.packetsUp} pkts/${c.bytesUp} B, down ${c.packetsDown} pkts/${c.bytesDown} B); ` +
        (returned === null ? 'its address went with the client' : `lease returned${grace > 0 ? `, reserved for this client for ${grace} s` : ''}`);
    const line = `closed ${s.label}: ${reason}${what}`;
    if (cause === 'malformed' || cause === 'poolExhausted' || cause === 'queueFull' || cause === 'unnegotiatedSuperPacket') this.peerWarn.event(`closed:${cause}`, line);
    else this.peerInfo.event(`closed:${cause}`, line);
  }

  // ---- TUN -> clients ----------------------------------------------------------------------------

  /** A TUN batch (link/data-path.ts layout): each packet to the session that holds its destination. */
  private readonly onTunBatch = (scratch: Buffer, lengths: Int32Array, count: number, kinds?: Uint8Array | null): void => {
    let p = 0;
    const touched = this.touched;
    for (let i = 0; i < count; i++) {
      const len = lengths[i];
      const start = p + TUN_HEADROOM_BYTES;
      p = start + len;
      const kind = kinds ? kinds[i] : 0;
      if (kind !== PACKET_KIND_SUPER && !isIPv4Packet(scratch, start, len)) {
        this.m.notIpv4++;
        continue;
      }
      const s = this.byLease.get(ipv4Destination(scratch, start + ipv4Start(kind)));
      if (s === undefined) {
        this.m.noSession++;
        continue;
      }
      // IPv4 was checked above (the destination is read from it): only the size is left to check.
      if (kind !== PACKET_KIND_SUPER && len > maxOrdinaryPacketBytes(s.link.encryptOutgoing && this.cipher !== null)) {
        this.m.tooLargeToEncrypt++;
        continue;
      }
      if (!s.inTunBatch) {
        s.inTunBatch = true;
        touched.push(s);
      }
      s.tunBatch.add(scratch, start, len, kind, s.link);
    }
    for (const s of touched) {
      s.inTunBatch = false;
      const t = s.tunBatch.finish(scratch, s.link);
      s.counters.packetsDown += t.packets;
      s.counters.bytesDown += t.bytes;
      this.m.packetsDown += t.packets;
      this.m.bytesDown += t.bytes;
    }
    touched.length = 0;
  };

  // ---- heartbeats ----------------------------------------------------------------------------------

  private sweep(): void {
    const t = this.now();
    const { heartbeatIntervalS, heartbeatTimeoutS, ipRequestTimeoutS } = this.opts.config;
    const intervalMs = heartbeatIntervalS * 1000;
    const timeoutMs = heartbeatTimeoutS * 1000;
    const requestTimeoutMs = ipRequestTimeoutS * 1000;
    for (const s of [...this.sessions]) {
      if (s.phase === 'awaiting-request') {
        if (t - s.acceptedAtMs >= requestTimeoutMs) {
          this.m.ipRequestTimeouts++;
          this.closeSession(s, 'ipRequestTimeout', `no valid IP request within ${ipRequestTimeoutS} s (ip_request_timeout)`);
        }
        continue;
      }
      if (t - s.lastHeartbeatReceivedMs > timeoutMs) {
        this.m.heartbeatEvictions++;
        this.closeSession(s, 'heartbeatTimeout', `no heartbeat for ${Math.round((t - s.lastHeartbeatReceivedMs) / 1000)} s (timeout ${heartbeatTimeoutS} s)`);
        continue;
      }
      if (t - s.lastHeartbeatSentMs >= intervalMs) {
        s.lastHeartbeatSentMs = t;
        s.link.sendFrame(HEARTBEAT_FRAME);
      }
    }
    if (this.leases.expire(this.wallNow()) > 0) this.leaseFile.schedule();
    this.peerInfo.flush();
    this.peerWarn.flush();
  }
}

const GRANT_TEXT: Record<GrantKind, string> = {
  takeover: ' (its own, taken over from its previous connection)',
  requested: ' (as it asked)',
  reserved: ' (reserved for it)',
  free: '',
  reclaimed: ' (reserved for another client, none other free)',
};

/** The cause of a close the link decided. `local` closes come with their own closeCause set first. */
const LINK_CLOSE_CAUSE: Record<LinkCloseKind, CloseCause> = {
  peer: 'peer',
  socketError: 'socketError',
  malformed: 'malformed',
  queueFull: 'queueFull',
  local: 'shutdown',
};

function isClientMessage(type: number): boolean {
  return type === MessageType.IpRequest || type === MessageType.DataUp || type === MessageType.Heartbeat || type === MessageType.SuperPacket;
}
