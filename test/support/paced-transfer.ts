// A TCP transfer at a steady pace, for tests that disturb the network while it runs and measure how
// long traffic stopped. Run inside a namespace:
//   node paced-transfer.js sink <bindAddress> <port>
//       prints "listening"; "received <n> MiB" every MiB; at the end of each connection one line
//       "done <bytes> <sha256> maxgap=<ms> at=<ms>" (the longest pause between two reads, and when
//       it ended, in ms since the first byte), also sent back to the source
//   node paced-transfer.js source <host> <port> <bytes> <bytesPerSecond>
//       sends random bytes no faster than the pace, prints "sent <bytes> <sha256>" and "sink says <line>"
import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';

const [mode, host, portText, bytesText, rateText] = process.argv.slice(2);
const port = Number(portText);
const MIB = 1024 * 1024;
const CHUNK = 16 * 1024;

if (mode === 'sink') {
  const server = net.createServer((sock) => {
    const hash = createHash('sha256');
    let bytes = 0;
    let firstAt = 0;
    let lastAt = 0;
    let maxGap = 0;
    let maxGapEndedAt = 0;
    sock.on('data', (c) => {
      const now = performance.now();
      if (bytes === 0) firstAt = now;
      else if (now - lastAt > maxGap) {
        maxGap = now - lastAt;
        maxGapEndedAt = now - firstAt;
      }
      lastAt = now;
      const before = Math.floor(bytes / MIB);
      bytes += c.length;
      hash.update(c);
      for (let m = before + 1; m <= Math.floor(bytes / MIB); m++) process.stdout.write(`received ${m} MiB\n`);
    });
    sock.on('end', () => {
      const line = `done ${bytes} ${hash.digest('hex')} maxgap=${Math.round(maxGap)} at=${Math.round(maxGapEndedAt)}`;
      sock.end(line + '\n');
      process.stdout.write(line + '\n');
    });
    sock.on('error', (e) => process.stderr.write(`sink: ${e.message}\n`));
  });
  server.listen({ host, port }, () => process.stdout.write('listening\n'));
} else if (mode === 'source') {
  const total = Number(bytesText);
  const rate = Number(rateText);
  const hash = createHash('sha256');
  const sock = net.connect({ host, port }, () => {
    const started = performance.now();
    let sent = 0;
    const pump = (): void => {
      while (sent < total) {
        // Ahead of the pace: wait until the clock catches up.
        const dueMs = (sent / rate) * 1000 - (performance.now() - started);
        if (dueMs > 1) {
          setTimeout(pump, dueMs);
          return;
        }
        const chunk = randomBytes(Math.min(CHUNK, total - sent));
        hash.update(chunk);
        sent += chunk.length;
        if (!sock.write(chunk)) {
          sock.once('drain', pump);
          return;
        }
      }
      sock.end();
    };
    pump();
  });
  let reply = '';
  sock.on('data', (c) => (reply += c.toString()));
  sock.on('close', () => {
    process.stdout.write(`sent ${total} ${hash.digest('hex')}\n`);
    process.stdout.write(`sink says ${reply.trim()}\n`);
  });
  sock.on('error', (e) => {
    process.stderr.write(`source: ${e.message}\n`);
    process.exitCode = 1;
  });
} else {
  process.stderr.write('usage: paced-transfer sink <bind> <port> | paced-transfer source <host> <port> <bytes> <bytesPerSecond>\n');
  process.exit(2);
}
