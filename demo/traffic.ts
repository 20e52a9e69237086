// Demo traffic: `sink <bind> <port>` accepts and echoes half back; `source <host> <port>` keeps one TCP stream
// going at a slowly varying rate (a few Mbit/s up to ~40), retrying every second while the tunnel is down.
// A stream whose echo stops for a few seconds is dropped and a new one started: after a disconnect
// the old connection may sit ESTABLISHED for minutes (TCP backs off), and the graph would stay at 0.
import net from 'node:net';

const [mode, host, portText] = process.argv.slice(2);
const port = Number(portText);
/** No echo for this long on a stream that had been flowing: it is dead, start another. */
const STALL_MS = 3000;

if (mode === 'sink') {
  // Sends back half of what it gets, so the graph shows traffic both ways.
  net.createServer((s) => {
    s.on('data', (c: Buffer) => {
      if (s.writableLength < 1 << 20) s.write(c.subarray(0, c.length >> 1));
    });
    s.on('error', () => undefined);
  }).listen({ host, port });
} else if (mode === 'source') {
  const chunk = Buffer.alloc(16 * 1024, 0x34);
  const run = () => {
    const s = net.connect({ host, port });
    let lastEchoAt = Date.now();
    s.on('data', () => (lastEchoAt = Date.now())); // reads (and drops) the echo
    let sender: NodeJS.Timeout | null = null;
    // Covers a connect that hangs (SYNs into a tunnel that is not passing) and a stream gone silent.
    const watchdog = setInterval(() => {
      if (Date.now() - lastEchoAt > STALL_MS) retry();
    }, 500);
    s.on('connect', () => {
      const started = Date.now();
      lastEchoAt = started;
      sender = setInterval(() => {
        // 10 ms ticks; rate follows a 30 s sine between ~2 and ~40 Mbit/s.
        const mbit = 21 + 19 * Math.sin(((Date.now() - started) / 30_000) * 2 * Math.PI);
        let bytes = (mbit * 1e6) / 8 / 100;
        while (bytes > 0 && s.writableLength < 1 << 20) {
          s.write(chunk.subarray(0, Math.min(chunk.length, Math.ceil(bytes))));
          bytes -= chunk.length;
        }
      }, 10);
    });
    let retried = false;
    const retry = () => {
      if (retried) return; // 'error' and 'close' both come
      retried = true;
      clearInterval(watchdog);
      if (sender) clearInterval(sender);
      s.destroy();
      setTimeout(run, 1000);
    };
    s.on('error', retry);
    s.on('close', retry);
  };
  run();
} else {
  process.stderr.write('usage: traffic sink <bind> <port> | traffic source <host> <port>\n');
  process.exit(2);
}
