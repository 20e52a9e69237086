import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { GatewayMetrics } from './gateway';
import { metricsToPrometheus } from './metrics';
import { CLOSE_CAUSES } from './session';

function sample(): GatewayMetrics {
  return {
    sessions: 3, unleased: 7, leasesFree: 100, leasesReserved: 4, leasesInUse: 3,
    leaseGrants: { takeover: 1, requested: 2, reserved: 3, free: 4, reclaimed: 5 },
    accepted: 50, closed: 40,
    refused: { perAddress: 11, perPrefix: 12, total: 13 },
    closedBy: Object.fromEntries(CLOSE_CAUSES.map((c, i) => [c, i + 100])) as GatewayMetrics['closedBy'],
    bytesUp: 1, packetsUp: 2, bytesDown: 3, packetsDown: 4, malformedFrames: 5, decryptFailures: 6, poolExhausted: 8,
    plaintextRefused: 9, heartbeatEvictions: 10, ipRequestTimeouts: 21, ipResponsesDropped: 22, logLinesSuppressed: 23, superPacketSessions: 24,
    drops: { spoofedSource: 0, notIpv4: 0, badLength: 0, notLeased: 31, noSession: 0, peerTooSlow: 0, tunWriteFailed: 0, tooLargeToEncrypt: 0, badSuperPacket: 32 },
  };
}

test('Prometheus text: unleased, refusals and closes per reason, IP-request timeouts, dropped responses, lease states', () => {
  const text = metricsToPrometheus(sample());
  for (const line of [
    'fourover6_sessions 3',
    'fourover6_unleased_connections 7',
    'fourover6_leases_free 100',
    'fourover6_leases_reserved 4',
    'fourover6_leases_in_use 3',
    'fourover6_lease_grants_total{kind="reclaimed"} 5',
    'fourover6_refused_total{reason="perAddress"} 11',
    'fourover6_refused_total{reason="perPrefix"} 12',
    'fourover6_refused_total{reason="total"} 13',
    'fourover6_closed_total{reason="peer"} 100',
    `fourover6_closed_total{reason="ipRequestTimeout"} ${100 + CLOSE_CAUSES.indexOf('ipRequestTimeout')}`,
    `fourover6_closed_total{reason="queueFull"} ${100 + CLOSE_CAUSES.indexOf('queueFull')}`,
    `fourover6_closed_total{reason="replaced"} ${100 + CLOSE_CAUSES.indexOf('replaced')}`,
    'fourover6_ip_request_timeouts_total 21',
    'fourover6_ip_responses_dropped_total 22',
    'fourover6_log_lines_suppressed_total 23',
    'fourover6_dropped_packets_total{reason="notLeased"} 31',
    'fourover6_dropped_packets_total{reason="badSuperPacket"} 32',
    'fourover6_super_packet_sessions_total 24',
    `fourover6_closed_total{reason="unnegotiatedSuperPacket"} ${100 + CLOSE_CAUSES.indexOf('unnegotiatedSuperPacket')}`,
  ]) {
    assert.ok(text.split('\n').includes(line), `missing: ${line}`);
  }
  // One HELP/TYPE pair per metric name, however many labels it has.
  assert.equal(text.match(/^# TYPE fourover6_closed_total counter$/gm)?.length, 1);
  assert.equal(text.match(/^fourover6_closed_total\{/gm)?.length, CLOSE_CAUSES.length);
  assert.match(text, /^# TYPE fourover6_unleased_connections gauge$/m);
});
