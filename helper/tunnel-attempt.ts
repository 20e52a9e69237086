// One connection attempt and, once it has an address, the session it becomes: the name lookup,
// TCP over IPv6 (with a deadline), the framed link, the IP requests (every 3 s, 5 tries, carrying our
// extension: client id and the address held before), and what each frame from the gateway means.
// It decides nothing about the tunnel's state: it reports to its owner (the engine), which feeds
// the state machine. close() ends it at once (timers, socket), whatever it was doing.
import type net from 'node:net';
import ipaddr from 'ipaddr.js';
import type { FailureReason } from '../contract/tunnel-state';
import { FrameLink, type LinkCloseKind } from '../link/frame-link';
import type { FrameCipher } from '../protocol/crypto';
import { MessageType, encodeFrame } from '../protocol/frame';
import { parseCapabilitiesPayload } from '../protocol/capabilities';
import { encodeIpRequestPayload } from '../protocol/ip-request';
import { CAP_SUPER_PACKETS } from '../protocol/super-packet';
import { type IpLease, IpResponseError, UNSUPPORTED_FRAME, parseIpResponse } from '../protocol/messages';
import type { EngineEnvironment, EngineTiming, TunnelProfile } from './engine-environment';

const SOCKET_HIGH_WATER_BYTES = 4 * 1024 * 1024;

export interface AttemptReports {
  resolved(serverAddress: string): void;
  tcpConnected(localAddress: string | null): void;
  /** The gateway's first IP response (later ones, answers to resends, are ignored). */
  offered(lease: IpLease): void;
  /** A whole IPv4 packet (kind 0) or super-packet region (kind 1) from the gateway; valid until chunkEnd. */
  packetDown(packet: Buffer, kind: number): void;
  /** Every frame of one socket read was reported: flush batched TUN writes. */
  chunkEnd(): void;
  heartbeat(): void;
  decryptFailed(): void;
  /** Called at most once; the attempt is finished (close() it). */
  failed(reason: FailureReason, message: string): void;
}

export interface AttemptOptions {
  profile: TunnelProfile;
  env: EngineEnvironment;
  timing: EngineTiming;
  cipher: FrameCipher | null;
  /** The address to ask the gateway for again (a reconnect). */
  previousAddress: string | null;
  /** Offer super-packets (our TUN device reads and writes them); used once the gateway agrees. */
  offerSuperPackets?: boolean;
}

export class TunnelAttempt {
  link: FrameLink | null = null;
  private socket: net.Socket | null = null;
  private readonly timers = new Set<unknown>();
  private closed = false;
  private offeredOnce = false;
  private receivedValidFrame = false;
  private readonly ipRequestFrame: Buffer;

  constructor(private readonly opts: AttemptOptions, private readonly report: AttemptReports) {
    const payload = encodeIpRequestPayload({
      ...(opts.profile.clientId ? { clientId: opts.profile.clientId } : {}),
      ...(opts.previousAddress ? { previousAddress: opts.previousAddress } : {}),
      ...(opts.offerSuperPackets ? { caps: [CAP_SUPER_PACKETS] } : {}),
    });
    this.ipRequestFrame = encodeFrame(MessageType.IpRequest, payload);
  }

  /** Runs the attempt; serverAddress null: look the server's name up first. */
  async start(serverAddress: string | null): Promise<void> {
    const { server, port } = this.opts.profile;
    const { env, timing } = this.opts;
    let address = serverAddress;
    if (address === null) {
      if (ipaddr.IPv6.isValid(server)) {
        address = server;
      } else {
        try {
          address = await env.resolveHost(server);
        } catch (err) {
          this.fail('dns-failed', `cannot resolve ${server} to an IPv6 address: ${(err as Error).message}`);
          return;
        }
      }
      if (this.closed) return;
      this.report.resolved(address);
      if (this.closed) return;
    }

    const socket = env.connectTcp(address, port);
    this.socket = socket;
    const connectError = await new Promise<Error | null>((resolve) => {
      const timer = this.after(timing.connectTimeoutMs, () => resolve(new Error(`no answer within ${timing.connectTimeoutMs / 1000} s`)));
      socket.once('connect', () => { this.cancel(timer); resolve(null); });
      socket.once('error', (err) => { this.cancel(timer); resolve(err); });
    });
    if (this.closed) return;
    if (connectError) {
      this.fail('server-unreachable', `cannot connect to [${address}]:${port}: ${connectError.message}`);
      return;
    }
    this.link = new FrameLink(socket, {
      cipher: this.opts.cipher,
      encryptOutgoing: this.opts.cipher !== null,
      highWaterBytes: SOCKET_HIGH_WATER_BYTES,
    }, {
      onFrame: (type, payload, encrypted) => this.onFrame(type, payload, encrypted),
      onChunkEnd: () => this.report.chunkEnd(),
      onDecryptFailed: (err) => {
        this.report.decryptFailed();
        if (!this.receivedValidFrame) this.fail('wrong-key', `the server's frames do not decrypt with our key (${err.message})`);
      },
      onClose: (reason, _err, kind) => this.onLinkClosed(reason, kind),
    });
    this.report.tcpConnected(socket.localAddress ?? null);
    if (!this.closed) this.sendIpRequests();
  }

  sendFrame(frame: Buffer): void {
    this.link?.sendFrame(frame);
  }

  /** Stops everything at once; nothing is reported after this. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers) this.opts.env.clock.clearTimeout(t);
    this.timers.clear();
    if (this.link) this.link.close('disconnecting');
    else this.socket?.destroy();
  }

  private sendIpRequests(): void {
    const { ipRequestTries, ipRequestIntervalMs } = this.opts.timing;
    let tries = 0;
    const send = (): void => {
      if (this.closed || this.offeredOnce) return;
      if (tries >= ipRequestTries) {
        this.fail('no-ipv4-offered', `no answer to ${tries} IP requests over ${(tries * ipRequestIntervalMs) / 1000} s`);
        return;
      }
      tries++;
      this.link?.sendFrame(this.ipRequestFrame);
      this.after(ipRequestIntervalMs, send);
    };
    send();
  }

  private onFrame(type: number, payload: Buffer, encrypted: boolean): void {
    if (this.closed) return;
    if (encrypted) this.receivedValidFrame = true;
    switch (type) {
      case MessageType.DataDown:
        this.report.packetDown(payload, 0);
        return;
      case MessageType.SuperPacket:
        if (!this.link?.superPackets) {
          this.fail('protocol-error', 'the server sent a super-packet frame (type 106) without agreeing to super-packets first');
          return;
        }
        this.report.packetDown(payload, 1);
        return;
      case MessageType.Capabilities:
        this.onCapabilities(payload);
        return;
      case MessageType.Heartbeat:
        this.report.heartbeat();
        return;
      case MessageType.IpResponse:
        this.onIpResponse(payload);
        return;
      case MessageType.Unsupported:
        this.onUnsupported();
        return;
      case MessageType.Encrypted:
        // We have no key: say so, as legacy peers do.
        this.link?.sendPlainFrame(UNSUPPORTED_FRAME);
        return;
      default:
        return;
    }
  }

  private onIpResponse(payload: Buffer): void {
    if (this.offeredOnce) return; // a late resend's answer
    let lease: IpLease;
    try {
      lease = parseIpResponse(payload);
    } catch (err) {
      if (!(err instanceof IpResponseError)) throw err;
      this.fail('bad-ip-response', err.message);
      return;
    }
    this.offeredOnce = true;
    for (const t of this.timers) this.opts.env.clock.clearTimeout(t);
    this.timers.clear();
    this.report.offered(lease);
  }

  /** The gateway's answer to the capabilities we offered (type 105): only what both support is used. */
  private onCapabilities(payload: Buffer): void {
    const caps = parseCapabilitiesPayload(payload);
    if (this.opts.offerSuperPackets && caps.includes(CAP_SUPER_PACKETS) && this.link && !this.link.superPackets) {
      this.link.enableSuperPackets();
      this.opts.env.log.info('the gateway takes whole TCP super-packets: one frame per 64 KiB instead of one per packet');
    }
  }

  private onUnsupported(): void {
    if (!this.link?.encryptOutgoing) {
      // A 199 to our plaintext before any address: our gateway's way of saying it requires encryption
      // (a legacy server sends 199 only in answer to encrypted frames).
      if (!this.offeredOnce) this.fail('plaintext-refused', 'the server requires encryption: it answered our plaintext with 199 (the profile has no key)');
      return;
    }
    if (!this.opts.cipher) return;
    if (this.opts.profile.allowPlaintext) {
      this.opts.env.log.warn('the server cannot decrypt our frames; continuing WITHOUT encryption (profile allows plaintext)');
      this.link.encryptOutgoing = false;
      if (!this.offeredOnce) this.link.sendFrame(this.ipRequestFrame);
      return;
    }
    this.fail('wrong-key', 'the server answered 199: it has no key or a different key');
  }

  private onLinkClosed(reason: string, kind: LinkCloseKind): void {
    if (this.closed) return;
    if (kind === 'malformed') {
      this.fail('protocol-error', reason);
    } else if (!this.offeredOnce && !this.receivedValidFrame) {
      // Closed before any answer: our server does this when it requires encryption and we sent
      // plaintext (unless it took our plaintext before: a reconnect).
      const refused = this.opts.cipher === null && this.opts.previousAddress === null;
      this.fail(refused ? 'plaintext-refused' : 'connection-lost', `the server closed the connection before offering an address (${reason})`);
    } else {
      this.fail('connection-lost', reason);
    }
  }

  private fail(reason: FailureReason, message: string): void {
    if (this.closed) return;
    this.report.failed(reason, message);
  }

  private after(ms: number, fn: () => void): unknown {
    const handle = this.opts.env.clock.setTimeout(() => {
      this.timers.delete(handle);
      fn();
    }, ms);
    this.timers.add(handle);
    return handle;
  }

  private cancel(handle: unknown): void {
    this.opts.env.clock.clearTimeout(handle);
    this.timers.delete(handle);
  }
}

