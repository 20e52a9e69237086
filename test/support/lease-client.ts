#!/usr/bin/env node
// A minimal protocol client for lease tests, from raw bytes: one connection, one IP request (with our
// extension when --id or --addr is given), then a heartbeat every second until the gateway closes
// the connection or the process is killed. Run it inside a namespace as its own process.
//
//   lease-client.js <host> <port> [--from <ipv6>] [--id <32 hex>] [--addr <dotted quad>] [--pk <uuid>]
//
// stdout, one JSON object per line: {"event":"lease","address":...} when the IP response arrives,
// {"event":"data","frames":n} as type-103 frames arrive (coalesced), {"event":"closed","leased":bool}
// when the gateway closes the connection (then it exits 0).
import net from 'node:net';
import { FrameCipher, parseUuid } from '../../protocol/crypto';
import { FrameReader, MessageType, encodeFrame } from '../../protocol/frame';
import { encodeIpRequestPayload } from '../../protocol/ip-request';
import { HEARTBEAT_FRAME, parseIpResponse } from '../../protocol/messages';

const [host, port, ...rest] = process.argv.slice(2);
const opts: Record<string, string> = {};
for (let i = 0; i < rest.length; i += 2) opts[rest[i].replace(/^--/, '')] = rest[i + 1];
const say = (event: string, fields: Record<string, unknown> = {}) => process.stdout.write(JSON.stringify({ event, ...fields }) + '\n');

const cipher = opts.pk ? new FrameCipher(parseUuid(opts.pk)) : null;
const seal = (frame: Buffer) => (cipher ? cipher.seal(frame) : frame);
const payload = encodeIpRequestPayload({
  ...(opts.id ? { clientId: opts.id } : {}),
  ...(opts.addr ? { previousAddress: opts.addr } : {}),
});

const socket = net.connect({ host, port: Number(port), localAddress: opts.from });
const reader = new FrameReader();
let leased = false;
let dataFrames = 0;
let dataReport: NodeJS.Timeout | null = null;

function onFrame(type: number, body: Buffer): void {
  if (type === MessageType.Encrypted && cipher) {
    const inner = cipher.open(body);
    onFrame(inner[4], inner.subarray(5));
    return;
  }
  if (type === MessageType.IpResponse && !leased) {
    leased = true;
    say('lease', { address: parseIpResponse(body).address });
  } else if (type === MessageType.DataDown) {
    dataFrames++;
    dataReport ??= setTimeout(() => {
      dataReport = null;
      say('data', { frames: dataFrames });
    }, 50);
  }
}

socket.on('data', (chunk) => {
  for (const f of reader.push(chunk)) onFrame(f.type, Buffer.from(f.payload));
});
socket.once('connect', () => {
  socket.write(seal(encodeFrame(MessageType.IpRequest, payload)));
  setInterval(() => socket.write(seal(HEARTBEAT_FRAME)), 1000).unref();
});
socket.on('error', (err) => say('error', { message: err.message }));
socket.once('close', () => {
  say('closed', { leased });
  process.exit(0);
});
