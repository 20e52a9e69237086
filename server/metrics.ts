// The metrics endpoint: GET /metrics (Prometheus text) and /metrics.json, on "host:port" or a Unix socket path.
import http from 'node:http';
import type { GatewayMetrics } from './gateway';

export function metricsToPrometheus(m: GatewayMetrics): string {
  const lines: string[] = [];
  const metric = (name: string, type: 'gauge' | 'counter', help: string, value: number, labels = '') => {
    if (!lines.some((l) => l.startsWith(`# TYPE fourover6_${name} `))) {
      lines.push(`# HELP fourover6_${name} ${help}`, `# TYPE fourover6_${name} ${type}`);
    }
    lines.push(`fourover6_${name}${labels} ${value}`);
  };
  metric('sessions', 'gauge', 'Open client sessions.', m.sessions);
  metric('leases_free', 'gauge', 'Addresses left in the pool.', m.leasesFree);
  metric('accepted_total', 'counter', 'Client connections accepted.', m.accepted);
  metric('bytes_total', 'counter', 'IPv4 bytes forwarded.', m.bytesUp, '{direction="up"}');
  metric('bytes_total', 'counter', 'IPv4 bytes forwarded.', m.bytesDown, '{direction="down"}');
  metric('packets_total', 'counter', 'IPv4 packets forwarded.', m.packetsUp, '{direction="up"}');
  metric('packets_total', 'counter', 'IPv4 packets forwarded.', m.packetsDown, '{direction="down"}');
  metric('malformed_frames_total', 'counter', 'Connections closed for a malformed frame.', m.malformedFrames);
  metric('decrypt_failures_total', 'counter', 'Frames that failed authentication.', m.decryptFailures);
  metric('pool_exhausted_total', 'counter', 'Connections refused for lack of addresses.', m.poolExhausted);
  metric('heartbeat_evictions_total', 'counter', 'Sessions closed for heartbeat silence.', m.heartbeatEvictions);
  for (const [reason, value] of Object.entries(m.drops)) {
    metric('dropped_packets_total', 'counter', 'Packets dropped, by reason.', value, `{reason="${reason}"}`);
  }
  return lines.join('\n') + '\n';
}

/** Serves metrics until closed. `listen` is "host:port" (e.g. "127.0.0.1:9605") or an absolute socket path. */
export async function serveMetrics(listen: string, read: () => GatewayMetrics): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    if (req.url === '/metrics.json') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(read()));
    } else if (req.url === '/metrics') {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(metricsToPrometheus(read()));
    } else {
      res.writeHead(404).end('try /metrics or /metrics.json\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    if (listen.startsWith('/')) {
      server.listen(listen, resolve);
    } else {
      const colon = listen.lastIndexOf(':');
      const host = listen.slice(0, colon).replace(/^\[|\]$/g, '');
      const port = Number(listen.slice(colon + 1));
      if (colon < 0 || !Number.isInteger(port) || port < 0 || port > 65535) {
        reject(new Error(`metrics_listen: expected "host:port" or an absolute socket path, got "${listen}"`));
        return;
      }
      server.listen({ host, port }, resolve);
    }
  });
  return server;
}
