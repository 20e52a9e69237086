// TCP transfer endpoints for tunnel tests, run inside a namespace:
//   node transfer.js sink <bindAddress> <port>          prints "listening", then "<bytes> <sha256>" per connection
//   node transfer.js source <host> <port> <bytes>       sends random bytes, prints "<bytes> <sha256>"
//   node transfer.js source <host> <port> stream        sends until its stdin closes; prints "flowing"
//                                                       after the first 4 MiB, then "<bytes> <sha256>"
import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';

const [mode, host, portText, bytesText] = process.argv.slice(2);
const port = Number(portText);

if (mode === 'sink') {
  const server = net.createServer((sock) => {
    const hash = createHash('sha256');
    let bytes = 0;
    sock.on('data', (c) => {
      bytes += c.length;
      hash.update(c);
    });
    sock.on('end', () => {
      const line = `${bytes} ${hash.digest('hex')}`;
      sock.end(line + '\n');
      process.stdout.write(line + '\n');
    });
    sock.on('error', (e) => process.stderr.write(`sink: ${e.message}\n`));
  });
  server.listen({ host, port }, () => process.stdout.write('listening\n'));
} else if (mode === 'source') {
  const streaming = bytesText === 'stream';
  let total = streaming ? Infinity : Number(bytesText);
  const hash = createHash('sha256');
  let sent = 0;
  let waitingForDrain = false;
  const FLOWING_BYTES = 4 * 1024 * 1024;
  const sock = net.connect({ host, port }, () => {
    const pump = () => {
      waitingForDrain = false;
      while (sent < total) {
        const chunk = randomBytes(Math.min(64 * 1024, total - sent));
        hash.update(chunk);
        if (sent < FLOWING_BYTES && sent + chunk.length >= FLOWING_BYTES && streaming) process.stdout.write('flowing\n');
        sent += chunk.length;
        if (!sock.write(chunk)) {
          waitingForDrain = true;
          sock.once('drain', pump);
          return;
        }
      }
      sock.end();
    };
    if (streaming) {
      process.stdin.resume();
      process.stdin.on('end', () => {
        total = sent; // stop here
        if (!waitingForDrain) sock.end();
      });
    }
    pump();
  });
  let reply = '';
  sock.on('data', (c) => (reply += c.toString()));
  sock.on('close', () => {
    process.stdout.write(`${sent} ${hash.digest('hex')}\n`);
    process.stdout.write(`sink says ${reply.trim()}\n`);
  });
  sock.on('error', (e) => {
    process.stderr.write(`source: ${e.message}\n`);
    process.exitCode = 1;
  });
} else {
  process.stderr.write('usage: transfer sink <bind> <port> | transfer source <host> <port> <bytes>\n');
  process.exit(2);
}
