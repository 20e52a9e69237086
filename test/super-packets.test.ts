// Super-packets between our own peers (docs/protocol.md "Super-packets"), without root: our gateway
// and our client engine over real TCP on [::1] with queue-backed fake TUN devices, a wire tap that
// records every frame, and raw peers written from the protocol text. What it pins down: the
// capability exchange (105 only to a client that asked), whole regions both ways when both agree,
// cut segments toward a peer that did not, and a 106 frame without agreement closing that one
// connection (counted) while the gateway serves everyone else.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { TunnelState } from '../contract/tunnel-state';
import { type TunnelProfile, TunnelEngine, connectTcpOverIpv6, systemClock } from '../helper/tunnel-engine';
import { createLogger } from '../log/logger';
import { type ServerConfig, parseServerConfig } from '../protocol/config';
import { parseUuid } from '../protocol/crypto';
import { FrameReader, MAX_NEGOTIATED_FRAME_BYTES, MessageType, encodeFrame } from '../protocol/frame';
import { encodeIpRequestPayload } from '../protocol/ip-request';
import { HEARTBEAT_FRAME, IP_REQUEST_FRAME, encodeIpResponse } from '../protocol/messages';
import { Gateway } from '../server/gateway';
import { FakeTun, onesComplementSum, superPacketRegion, tcpPseudoSum } from './support/fake-tun';
import { waitFor } from './support/netns';
import { RawClient, type SeenFrame, WireTap } from './support/raw-peer';
import { testGatewayYaml } from './support/gateway-config';

const UUID = 'bbde0d1c-083b-4f20-9cce-799367ba1a5a';
const quiet = createLogger({ level: 'error' });
const cleanups: Array<() => Promise<unknown> | unknown> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});
const stateRoot = mkdtempSync(join(tmpdir(), '4o6-super-'));
cleanups.unshift(() => rmSync(stateRoot, { recursive: true, force: true }));

function serverConfig(pk: string | null): ServerConfig {
  const { config } = parseServerConfig(testGatewayYaml({ listen: '::1', key: pk, stateDir: mkdtempSync(join(stateRoot, 'gateway-')) }));
  config.port = 0; // let the kernel choose
  return config;
}

async function startGateway(superPackets: boolean, pk: string | null = null) {
  const tun = new FakeTun('srv0');
  const gateway = new Gateway({ config: serverConfig(pk), tun, log: quiet, superPackets });
  const { port } = await gateway.listen();
  cleanups.push(() => gateway.close());
  return { gateway, tun, port };
}

const noNet = {
  addAddress: async () => undefined, replaceAddress: async () => undefined, setSysctl: async () => undefined,
  setMtu: async () => undefined, setUp: async () => undefined, addDefaultRoute: async () => undefined,
  setDns: async () => undefined, undoTunnel: async () => undefined,
};

async function startClient(port: number, superPackets: boolean, key: string | null = null) {
  const tun = new FakeTun('cli0');
  const profile: TunnelProfile = {
    server: '::1', port, key: key ? parseUuid(key) : null, allowPlaintext: false, mtu: 1500, prefixLength: 24,
    defaultRoute: false, dns: false, tunName: 'cli0', autoReconnect: false,
  };
  const engine = new TunnelEngine(profile, {
    openTun: () => tun, net: noNet, resolveHost: async () => '::1', connectTcp: connectTcpOverIpv6,
    clock: systemClock, log: quiet, superPackets,
  }, { ipRequestIntervalMs: 300, tickMs: 100 });
  engine.connect();
  cleanups.push(() => engine.disconnect());
  const state = await engine.settled();
  assert.equal(state.kind, 'connected', JSON.stringify(state));
  return { engine, tun };
}

const typeOf = (f: SeenFrame) => f.inner ?? f.type;

/** The TCP payload of each segment, in order, after checking its IPv4 and TCP checksums. */
function segmentPayloads(segments: Buffer[]): Buffer {
  return Buffer.concat(segments.map((seg, i) => {
    assert.equal(seg.readUInt16BE(2), seg.length, `segment ${i}: IPv4 total length`);
    assert.equal(onesComplementSum(seg, 0, 20), 0xffff, `segment ${i}: IPv4 header checksum`);
    assert.equal(onesComplementSum(seg, 20, seg.length, tcpPseudoSum(seg)), 0xffff, `segment ${i}: TCP checksum`);
    return seg.subarray(40);
  }));
}

for (const encrypted of [false, true]) {
  test(`${encrypted ? 'encrypted' : 'plain'}: both agree, so 64 KiB super-packets cross whole, one frame each way`, async () => {
    const key = encrypted ? UUID : null;
    const { gateway, tun: serverTun, port } = await startGateway(true, key);
    const tap = await WireTap.start(port, key ? parseUuid(key) : null);
    cleanups.push(() => tap.close());
    const { tun } = await startClient(tap.port, true, key);

    // The exchange: caps=gso in the request, a 105 right after the 101.
    const request = tap.up.find((f) => typeOf(f) === MessageType.IpRequest)!;
    assert.match((request.innerPayload ?? request.payload).toString('latin1'), /(^| )caps=gso( |$)/);
    const down = tap.down.map(typeOf);
    assert.equal(down[down.indexOf(MessageType.IpResponse) + 1], MessageType.Capabilities);
    assert.equal(gateway.metrics().superPacketSessions, 1);

    const upRegion = superPacketRegion('198.18.0.2', '198.18.0.1', 65495, 1448);
    tun.inject([upRegion], [1]);
    await serverTun.waitForWritten(1);
    assert.deepEqual(serverTun.writtenKinds, [1]);
    assert.ok(serverTun.written[0].equals(upRegion), 'the region reaches the gateway TUN bit for bit');
    const upFrames = tap.up.filter((f) => typeOf(f) === MessageType.SuperPacket);
    assert.equal(upFrames.length, 1);
    if (encrypted) assert.equal(upFrames[0].type, MessageType.Encrypted, 'sealed like every other frame');
    assert.equal(tap.up.filter((f) => typeOf(f) === MessageType.DataUp).length, 0);

    const downRegion = superPacketRegion('198.18.0.1', '198.18.0.2', 30001, 1400, 5);
    serverTun.inject([downRegion], [1]);
    await tun.waitForWritten(1);
    assert.deepEqual(tun.writtenKinds, [1]);
    assert.ok(tun.written[0].equals(downRegion), 'the region reaches the client TUN bit for bit');
    const m = gateway.metrics();
    assert.equal(m.packetsUp, 1);
    assert.equal(m.bytesUp, upRegion.length - 4, 'bytes counted are IPv4 bytes, not the region header');
  });
}

test('a client that does not offer super-packets gets segments cut from them, and never a 105 or 106', async () => {
  const { tun: serverTun, port } = await startGateway(true);
  const tap = await WireTap.start(port);
  cleanups.push(() => tap.close());
  const { tun } = await startClient(tap.port, false);
  const request = tap.up.find((f) => f.type === MessageType.IpRequest)!;
  assert.doesNotMatch(request.payload.toString('latin1'), /caps=/);

  const region = superPacketRegion('198.18.0.1', '198.18.0.2', 10_001, 1400, 9);
  serverTun.inject([region], [1]);
  const got = await tun.waitForWritten(8);
  assert.equal(got.length, 8, '10,001 bytes in segments of 1,400: 8 segments');
  assert.deepEqual(tun.writtenKinds, [0, 0, 0, 0, 0, 0, 0, 0]);
  assert.ok(segmentPayloads(got).equals(region.subarray(44)), 'the payload arrives whole, in order');
  assert.deepEqual(got.map((s) => s.readUInt32BE(24)), Array.from({ length: 8 }, (_, i) => 9 + i * 1400), 'sequence numbers');
  assert.equal(tap.down.filter((f) => f.type === MessageType.DataDown).length, 8);
  assert.ok(tap.down.every((f) => f.type !== MessageType.Capabilities && f.type !== MessageType.SuperPacket));
});

test('a gateway that does not take super-packets: the client cuts them and sends packet frames', async () => {
  const { tun: serverTun, port, gateway } = await startGateway(false);
  const tap = await WireTap.start(port);
  cleanups.push(() => tap.close());
  const { tun } = await startClient(tap.port, true);
  assert.match(tap.up.find((f) => f.type === MessageType.IpRequest)!.payload.toString('latin1'), /caps=gso/);
  const region = superPacketRegion('198.18.0.2', '198.18.0.1', 4000, 1448, 100);
  tun.inject([region], [1]);
  const got = await serverTun.waitForWritten(3);
  assert.deepEqual(serverTun.writtenKinds, [0, 0, 0]);
  assert.ok(segmentPayloads(got).equals(region.subarray(44)));
  assert.ok(tap.down.every((f) => f.type !== MessageType.Capabilities));
  assert.equal(tap.up.filter((f) => f.type === MessageType.SuperPacket).length, 0);
  assert.equal(gateway.metrics().superPacketSessions, 0);
});

/** A raw client that asks for an address (optionally offering capabilities) and waits for the answer. */
async function leasedRawClient(port: number, caps: string[]) {
  const raw = await RawClient.connect(port);
  cleanups.push(() => raw.close());
  raw.send(caps.length ? encodeFrame(MessageType.IpRequest, encodeIpRequestPayload({ caps })) : IP_REQUEST_FRAME);
  await raw.waitForFrames((f) => f.type === MessageType.IpResponse, 1, 'the IP response');
  return raw;
}

test('a legacy-style client (empty IP request) never receives a 105, even from a gateway that offers them', async () => {
  const { port } = await startGateway(true);
  const raw = await leasedRawClient(port, []);
  // Answers come at most once a second; a second 101 proves everything sent after the first arrived.
  await new Promise((r) => setTimeout(r, 1100));
  raw.send(IP_REQUEST_FRAME);
  await raw.waitForFrames((f) => f.type === MessageType.IpResponse, 2, 'the second IP response');
  assert.deepEqual(raw.frames.map((f) => f.type).filter((t) => t !== MessageType.Heartbeat), [MessageType.IpResponse, MessageType.IpResponse]);
});

test('a 106 frame without agreement closes that connection, counted; the gateway serves the others on', async () => {
  for (const [superPackets, caps] of [[true, []], [false, ['gso']]] as const) {
    const { gateway, tun: serverTun, port } = await startGateway(superPackets);
    const bystander = await leasedRawClient(port, []);
    const rogue = await leasedRawClient(port, [...caps]);
    assert.equal(rogue.count((f) => f.type === MessageType.Capabilities), 0);
    // 1,544 bytes: within the legacy frame limit, so it is the type that is refused, not the length.
    rogue.send(encodeFrame(MessageType.SuperPacket, superPacketRegion('198.18.0.3', '198.18.0.1', 1500, 1000)));
    await waitFor(() => rogue.closed, { timeoutMs: 5000, what: 'the rogue connection to be closed' });
    assert.equal(gateway.metrics().closedBy.unnegotiatedSuperPacket, 1);
    assert.equal(serverTun.written.length, 0, 'nothing of it reached the TUN device');
    // The bystander (198.18.0.2) still has its session: a packet to it is delivered.
    bystander.send(HEARTBEAT_FRAME);
    serverTun.inject([superPacketRegion('198.18.0.1', '198.18.0.2', 100, 1000).subarray(4)]);
    await bystander.waitForFrames((f) => f.type === MessageType.DataDown, 1, 'a packet for the bystander');
    assert.equal(bystander.closed, false);
  }
});

test('from a client that agreed: a broken region is dropped and counted, a spoofed one too, the session stays', async () => {
  const { gateway, tun: serverTun, port } = await startGateway(true);
  const raw = await leasedRawClient(port, ['gso']);
  await raw.waitForFrames((f) => f.type === MessageType.Capabilities, 1, 'the 105');
  const good = superPacketRegion('198.18.0.2', '198.18.0.1', 3000, 1000);
  const reserved = Buffer.from(good);
  reserved[3] = 1; // the reserved byte must be 0
  const spoofed = superPacketRegion('198.18.0.77', '198.18.0.1', 3000, 1000);
  for (const region of [reserved, spoofed, good]) raw.send(encodeFrame(MessageType.SuperPacket, region, MAX_NEGOTIATED_FRAME_BYTES));
  await serverTun.waitForWritten(1);
  assert.deepEqual(serverTun.writtenKinds, [1]);
  assert.ok(serverTun.written[0].equals(good));
  const m = gateway.metrics();
  assert.equal(m.drops.badSuperPacket, 1);
  assert.equal(m.drops.spoofedSource, 1);
  assert.equal(raw.closed, false);
});

const MISBEHAVIOURS: Record<string, Buffer> = {
  'a 106 it never agreed to': encodeFrame(MessageType.SuperPacket, superPacketRegion('198.18.0.1', '198.18.0.2', 100, 1000)),
  // A length field past 2,053: legal only after super-packets were agreed, and they were not.
  'a frame longer than the legacy limit': Buffer.from([0xff, 0x08, 0x00, 0x00, MessageType.DataDown]),
};

for (const [what, bytes] of Object.entries(MISBEHAVIOURS)) {
  test(`our client fails with a protocol error when a gateway sends ${what}`, async () => {
    const server = net.createServer((socket) => {
      const reader = new FrameReader();
      socket.on('data', (chunk: Buffer) => {
        for (const f of reader.push(chunk)) {
          if (f.type !== MessageType.IpRequest) continue;
          socket.write(encodeIpResponse({ address: '198.18.0.2', route: '0.0.0.0', dns: ['198.18.0.1'] }));
          // No 105: whatever the client offered, nothing was agreed.
          setTimeout(() => socket.write(bytes), 200);
        }
      });
      socket.on('error', () => undefined);
    });
    await new Promise<void>((r) => server.listen({ host: '::1', port: 0 }, r));
    cleanups.push(() => new Promise((r) => server.close(r)));
    const tun = new FakeTun('cli0');
    const engine = new TunnelEngine({
      server: '::1', port: (server.address() as net.AddressInfo).port, key: null, allowPlaintext: false, mtu: 1500,
      prefixLength: 24, defaultRoute: false, dns: false, tunName: 'cli0', autoReconnect: false,
    }, {
      openTun: () => tun, net: noNet, resolveHost: async () => '::1', connectTcp: connectTcpOverIpv6, clock: systemClock,
      log: quiet, superPackets: true,
    }, { ipRequestIntervalMs: 300, tickMs: 100 });
    cleanups.push(() => engine.disconnect());
    const states: TunnelState[] = [];
    engine.on('state', (s) => states.push(s));
    engine.connect();
    await waitFor(() => states.some((s) => s.kind === 'failed'), { timeoutMs: 5000, what: 'the client to fail' });
    const failed = states.find((s) => s.kind === 'failed')!;
    assert.equal(failed.kind === 'failed' && failed.failure.reason, 'protocol-error');
    assert.equal(tun.written.length, 0, 'nothing reached the TUN device');
  });
}

test('property: whatever a 106 frame holds, on a connection that did not agree it closes that connection, counted, and nothing reaches the TUN', async () => {
  const { gateway, tun: serverTun, port } = await startGateway(true);
  let closed = 0;
  await fc.assert(fc.asyncProperty(
    fc.oneof(
      fc.uint8Array({ minLength: 0, maxLength: 2048 }).map((b) => Buffer.from(b)),
      fc.record({ payload: fc.integer({ min: 1, max: 1900 }), segment: fc.integer({ min: 1, max: 1500 }) })
        .map(({ payload, segment }) => superPacketRegion('198.18.0.2', '198.18.0.1', payload, segment)),
    ),
    fc.constantFrom<string[]>([], ['ok'], ['other', 'names']),
    async (payload, caps) => {
      const raw = await leasedRawClient(port, caps);
      raw.send(encodeFrame(MessageType.SuperPacket, payload));
      await waitFor(() => raw.closed, { timeoutMs: 5000, what: 'the connection to be closed' });
      closed++;
      assert.equal(gateway.metrics().closedBy.unnegotiatedSuperPacket, closed);
      assert.equal(serverTun.written.length, 0);
    },
  ), { numRuns: 25 });
});
