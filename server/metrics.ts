// The metrics endpoint: GET /metrics (Prometheus text) and /metrics.json, on "host:port" or a Unix socket path.
import http from 'node:http';
import type { GatewayMetrics } from './gateway';
import type { ProcessMetrics } from './process-metrics';

export function metricsToPrometheus(m: GatewayMetrics, p?: ProcessMetrics): string {
  const lines: string[] = [];
  const metric = (name: string, type: 'gauge' | 'counter', help: string, value: number, labels = '') => {
    if (!lines.some((l) => l.startsWith(`# TYPE fourover6_${name} `))) {
      lines.push(`# HELP fourover6_${name} ${help}`, `# TYPE fourover6_${name} ${type}`);
    }
    lines.push(`fourover6_${name}${labels} ${value}`);
  };
  metric('sessions', 'gauge', 'Client sessions holding a lease.', m.sessions);
  metric('unleased_connections', 'gauge', 'Connections that have not sent a valid IP request yet.', m.unleased);
  metric('leases_free', 'gauge', 'Addresses nobody holds or has reserved.', m.leasesFree);
  metric('leases_reserved', 'gauge', 'Addresses kept for clients that left less than lease_grace ago.', m.leasesReserved);
  metric('leases_in_use', 'gauge', 'Addresses held by sessions.', m.leasesInUse);
  for (const [kind, value] of Object.entries(m.leaseGrants)) {
    metric('lease_grants_total', 'counter', 'Addresses handed out, by how they were chosen.', value, `{kind="${kind}"}`);
  }
  metric('accepted_total', 'counter', 'Client connections accepted.', m.accepted);
  for (const [reason, value] of Object.entries(m.refused)) {
    metric('refused_total', 'counter', 'Connections refused at accept, by the limit they would pass.', value, `{reason="${reason}"}`);
  }
  for (const [reason, value] of Object.entries(m.closedBy)) {
    metric('closed_total', 'counter', 'Connections closed, by cause.', value, `{reason="${reason}"}`);
  }
  metric('ip_request_timeouts_total', 'counter', 'Connections closed for no valid IP request within ip_request_timeout.', m.ipRequestTimeouts);
  metric('ip_responses_dropped_total', 'counter', 'IP requests left unanswered (more than one per second per connection).', m.ipResponsesDropped);
  metric('log_lines_suppressed_total', 'counter', 'Peer-caused log lines counted instead of written (rate limit).', m.logLinesSuppressed);
  metric('bytes_total', 'counter', 'IPv4 bytes forwarded.', m.bytesUp, '{direction="up"}');
  metric('bytes_total', 'counter', 'IPv4 bytes forwarded.', m.bytesDown, '{direction="down"}');
  metric('packets_total', 'counter', 'IPv4 packets forwarded.', m.packetsUp, '{direction="up"}');
  metric('packets_total', 'counter', 'IPv4 packets forwarded.', m.packetsDown, '{direction="down"}');
  metric('malformed_frames_total', 'counter', 'Connections closed for a malformed frame.', m.malformedFrames);
  metric('decrypt_failures_total', 'counter', 'Frames that failed authentication.', m.decryptFailures);
  metric('pool_exhausted_total', 'counter', 'Connections refused for lack of addresses.', m.poolExhausted);
  metric('super_packet_sessions_total', 'counter', 'Connections that agreed on super-packets (type 106 frames).', m.superPacketSessions);
  metric('heartbeat_evictions_total', 'counter', 'Sessions closed for heartbeat silence.', m.heartbeatEvictions);
  for (const [reason, value] of Object.entries(m.drops)) {
    metric('dropped_packets_total', 'counter', 'Packets dropped, by reason.', value, `{reason="${reason}"}`);
  }
  if (p) {
    // Prometheus's conventional process_* names, so stock dashboards find them.
    lines.push('# HELP process_resident_memory_bytes Resident memory size in bytes.', '# TYPE process_resident_memory_bytes gauge',
      `process_resident_memory_bytes ${p.rssBytes}`);
    lines.push('# HELP process_open_fds Number of open file descriptors.', '# TYPE process_open_fds gauge', `process_open_fds ${p.openFds}`);
    for (const [quantile, value] of [['0.5', p.eventLoopDelayMs.p50], ['0.99', p.eventLoopDelayMs.p99], ['1', p.eventLoopDelayMs.max]] as const) {
      metric('event_loop_delay_seconds', 'gauge', 'Event-loop delay over the last 10 s window, by quantile.', value / 1000, `{quantile="${quantile}"}`);
    }
  }
  return lines.join('\n') + '\n';
}

/** Serves metrics until closed. `listen` is "host:port" (e.g. "127.0.0.1:9605") or an absolute socket path. */
export async function serveMetrics(listen: string, read: () => GatewayMetrics, readProcess?: () => ProcessMetrics): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    if (req.url === '/metrics.json') {
      const body = readProcess ? { ...read(), process: readProcess() } : read();
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    } else if (req.url === '/metrics') {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(metricsToPrometheus(read(), readProcess?.()));
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
