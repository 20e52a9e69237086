// A transparent TCP relay that reports every 4over6 frame it forwards, for the legacy interop run
// (legacy-interop.ts). Run inside a test namespace:
//
//   node wire-tap.js <listenHost> <listenPort> <targetHost> <targetPort> [uuid]
//
// Prints "listening", then one JSON line per frame:
//   {"conn":1,"dir":"c2s","t":1234.5,"type":104,"len":5}
//   {"conn":1,"dir":"s2c","t":1290.1,"type":200,"len":50,"inner":104,"innerLen":5,"innerLenField":5}
//   {"conn":1,"dir":"s2c","t":1290.1,"type":200,"len":50,"auth":"failed"}
// and {"conn":1,"event":"open"|"close", ...}. t is milliseconds since the tap started.
// Bytes are forwarded unchanged as they arrive; the parsing works on a copy. With a uuid, type-200
// frames are opened here with libsodium directly (not with our protocol/ code), so the report is an
// independent reading of what each side put on the wire.
import net from 'node:net';
import sodium from 'sodium-native';

const [listenHost, listenPortText, targetHost, targetPortText, uuidText] = process.argv.slice(2);
if (!listenHost || !listenPortText || !targetHost || !targetPortText) {
  process.stderr.write('usage: wire-tap <listenHost> <listenPort> <targetHost> <targetPort> [uuid]\n');
  process.exit(2);
}
const uuid = uuidText ? Buffer.from(uuidText.replace(/[{}-]/g, ''), 'hex') : null;
if (uuid && uuid.length !== 16) {
  process.stderr.write(`wire-tap: "${uuidText}" is not a UUID\n`);
  process.exit(2);
}
const AD = Buffer.from('19260817\0', 'latin1');
const started = performance.now();
const emit = (o: Record<string, unknown>) => process.stdout.write(JSON.stringify({ ...o, t: Math.round((performance.now() - started) * 10) / 10 }) + '\n');

/** Splits one direction of a connection into frames and reports each. */
function frameParser(conn: number, dir: 'c2s' | 's2c'): (chunk: Buffer) => void {
  let pending = Buffer.alloc(0);
  let broken = false;
  return (chunk) => {
    if (broken) return;
    pending = pending.length ? Buffer.concat([pending, chunk]) : Buffer.from(chunk);
    while (pending.length >= 5) {
      const len = pending.readUInt32LE(0);
      if (len < 5 || len > 2053) {
        emit({ conn, dir, malformed: true, len, head: pending.subarray(0, 16).toString('hex') });
        broken = true; // cannot resynchronise; keep relaying, stop parsing
        return;
      }
      if (pending.length < len) return;
      const frame = pending.subarray(0, len);
      pending = pending.subarray(len);
      const report: Record<string, unknown> = { conn, dir, type: frame[4], len };
      if (frame[4] === 200 && uuid) Object.assign(report, open(frame));
      emit(report);
    }
  };
}

function open(frame: Buffer): Record<string, unknown> {
  if (frame.length < 5 + 24 + 16) return { auth: 'short' };
  const nonce = frame.subarray(5, 29);
  const key = Buffer.concat([uuid as Buffer, nonce.subarray(0, 16)]);
  const cipher = frame.subarray(29);
  const plain = Buffer.alloc(cipher.length - 16);
  try {
    sodium.crypto_aead_xchacha20poly1305_ietf_decrypt(plain, null, cipher, AD, nonce, key);
  } catch {
    return { auth: 'failed' };
  }
  if (plain.length < 5) return { auth: 'ok', innerLen: plain.length };
  return { auth: 'ok', inner: plain[4], innerLen: plain.length, innerLenField: plain.readUInt32LE(0) };
}

let nextConn = 1;
const server = net.createServer((client) => {
  const conn = nextConn++;
  const upstream = net.connect({ host: targetHost, port: Number(targetPortText) });
  emit({ conn, event: 'open', from: `${client.remoteAddress}:${client.remotePort}` });
  const c2s = frameParser(conn, 'c2s');
  const s2c = frameParser(conn, 's2c');
  client.on('data', (d: Buffer) => {
    c2s(d);
    if (!upstream.write(d)) client.pause();
  });
  upstream.on('drain', () => client.resume());
  upstream.on('data', (d: Buffer) => {
    s2c(d);
    if (!client.write(d)) upstream.pause();
  });
  client.on('drain', () => upstream.resume());
  let closed = false;
  const close = (who: string) => {
    if (closed) return;
    closed = true;
    emit({ conn, event: 'close', by: who });
    client.destroy();
    upstream.destroy();
  };
  client.on('close', () => close('client'));
  upstream.on('close', () => close('server'));
  client.on('error', () => close('client'));
  upstream.on('error', () => close('server'));
});
server.listen({ host: listenHost, port: Number(listenPortText) }, () => process.stdout.write('listening\n'));
process.on('SIGTERM', () => process.exit(0));
