// The tunnel side of the window: the status with the one big button, and, while connected, the
// connection's details, live traffic with its graph, and what the helper changed on this system.
import type { TunnelStatsSnapshot } from '../contract/helper-api';
import type { RateSample, TunnelSnapshot } from '../contract/ipc-schema';
import { formatBytes, formatRate } from '../contract/format';
import type { Profile } from '../contract/profile-schema';
import { isActive } from '../contract/tunnel-summary';
import { EncryptionBadge } from './badges';
import { AlertIcon, CheckIcon, LockIcon, PowerIcon, ShieldIcon, UnlockIcon } from './icons';
import { RateGraph } from './rate-graph';
import {
  type FailureView, type Pending, type Tone, buttonView, guardLine, killSwitchText, endpoint, formatAgo, formatDuration, plural, statusView,
} from './state-view';
import { useNow } from './use-now';

export interface TunnelPanelProps {
  snapshot: TunnelSnapshot;
  stateSinceMs: number;
  stats: TunnelStatsSnapshot | null;
  samples: readonly RateSample[];
  pending: Pending;
  /** The profile the button connects to (the selected one), or the tunnel's own while active. */
  target: Profile | null;
  onConnect: () => void;
  onDisconnect: () => void;
  onOpenSettings: () => void;
}

export function TunnelPanel(props: TunnelPanelProps) {
  const { snapshot, stats, samples, target } = props;
  const s = snapshot.state;
  const ticking = s.kind === 'connected' || s.kind === 'reconnecting';
  const now = useNow(ticking);
  const status = statusView(snapshot, props.pending, target?.name ?? null, props.stateSinceMs, now);
  const button = buttonView(s, props.pending, target !== null);
  // While a tunnel is up the details matter more than a big centred status: the hero shrinks to a row.
  const compact = s.kind === 'connected' || s.kind === 'reconnecting';
  const showTraffic = stats !== null && (s.kind === 'connected' || s.kind === 'reconnecting' || (s.kind === 'connecting' && samples.length > 0));

  return (
    <div className="tunnel">
      <section className={`hero tone-${status.tone}${compact ? ' compact' : ''}`} aria-labelledby="status-title"
        data-testid="status" data-tone={status.tone} data-state={s.kind}>
        <StatusOrb tone={status.tone} />
        <div className="hero-text">
          <h2 id="status-title" data-testid="status-title">{status.title}</h2>
          {status.detail ? <p className="hero-detail" data-testid="status-detail">{status.detail}</p> : null}
          {target && !isActive(s) && s.kind !== 'disconnecting' ? <ProfileLine profile={target} /> : null}
        </div>
        <ConnectButton view={button}
          onClick={button.action === 'connect' ? props.onConnect : button.action === 'disconnect' ? props.onDisconnect : undefined} />
        {status.failure ? <FailureBox failure={status.failure} /> : null}
        <GuardNote snapshot={snapshot} onOpenSettings={props.onOpenSettings} />
      </section>

      <div className="live" aria-live="off">
        {showTraffic && stats ? <TrafficCard stats={stats} samples={samples} /> : null}
        {s.kind === 'connected' ? <ConnectionCard snapshot={snapshot} stats={stats} now={now} target={target} /> : null}
        <ChangesCard changes={snapshot.changes} active={s.kind !== 'idle' && s.kind !== 'failed'} reconnecting={s.kind === 'reconnecting'} />
      </div>
    </div>
  );
}

function FailureBox({ failure }: { failure: FailureView }) {
  return (
    <div className="failure" role="alert" data-testid="failure">
      <AlertIcon size={18} />
      <div className="failure-body">
        <p className="failure-text" data-testid="failure-text">{failure.text}</p>
        <p className="failure-advice" data-testid="failure-advice">{failure.advice}</p>
        <details className="failure-details">
          <summary>Details</summary>
          <p className="failure-message mono" data-testid="failure-detail">{failure.message}</p>
        </details>
      </div>
    </div>
  );
}

function GuardNote({ snapshot, onOpenSettings }: { snapshot: TunnelSnapshot; onOpenSettings: () => void }) {
  const line = guardLine(snapshot);
  if (!line) return null;
  return (
    <p className="guard-line" role="status" data-testid="guard-line" data-blocking="true">
      <ShieldIcon size={16} /> {line.text}
      {line.settingsHint ? <button type="button" className="link" onClick={onOpenSettings}>Change in Settings</button> : null}
    </p>
  );
}

function StatusOrb({ tone }: { tone: Tone }) {
  const icon = tone === 'ok' ? <LockIcon size={30} /> : tone === 'error' ? <AlertIcon size={30} />
    : tone === 'idle' ? <UnlockIcon size={30} /> : <ShieldIcon size={30} />;
  return <div className={`orb orb-${tone}`} aria-hidden="true">{icon}</div>;
}

function ProfileLine({ profile }: { profile: Profile }) {
  return (
    <p className="hero-profile">
      <span className="mono">{endpoint(profile.server, profile.port)}</span>
      <EncryptionBadge on={profile.encryption} />
    </p>
  );
}

function ConnectButton({ view, onClick }: { view: ReturnType<typeof buttonView>; onClick?: () => void }) {
  return (
    <button type="button" className={`connect connect-${view.tone}`} data-testid="connect-button"
      data-action={view.action} data-tone={view.tone} aria-disabled={onClick ? undefined : true}
      onClick={onClick}>
      <span className="connect-icon" aria-hidden="true">
        {view.tone === 'busy' || view.tone === 'warn' ? <span className="spinner" /> : view.tone === 'ok' ? <CheckIcon size={22} /> : <PowerIcon size={22} />}
      </span>
      <span className="connect-text">
        <span className="connect-label">{view.label}</span>
        <span className="connect-hint">{view.hint}</span>
      </span>
    </button>
  );
}

function ConnectionCard({ snapshot, stats, now, target }: { snapshot: TunnelSnapshot; stats: TunnelStatsSnapshot | null; now: number; target: Profile | null }) {
  const s = snapshot.state;
  if (s.kind !== 'connected') return null;
  const port = target && snapshot.profileId === target.id ? target.port : null;
  return (
    <section className="card" aria-labelledby="conn-title">
      <h3 id="conn-title" className="card-title">Connection</h3>
      <dl className="facts">
        <Fact label="Address" testId="assigned-address" mono>{`${s.lease.address}/${s.lease.prefixLength}`}</Fact>
        <Fact label="Route">{routeText(s.lease.route)}</Fact>
        <Fact label="DNS servers" mono>{s.lease.dns.length > 0 ? s.lease.dns.join(', ') : 'not changed'}</Fact>
        <Fact label="Server" mono>{port ? endpoint(s.serverAddress, port) : s.serverAddress}</Fact>
        <Fact label="Connected for" testId="connected-for">{formatDuration(now - s.sinceMs)}</Fact>
        <Fact label="Last heartbeat" testId="last-heartbeat">{formatAgo(stats?.lastHeartbeatAgoMs ?? null)}</Fact>
        <Fact label="Reconnects" testId="reconnects">{String(stats?.reconnects ?? 0)}</Fact>
        <Fact label="Device" mono>{`${s.lease.tunName}, MTU ${s.lease.mtu}`}</Fact>
        <Fact label="Kill switch" testId="kill-switch">{killSwitchText(snapshot)}</Fact>
        {snapshot.startedBy ? (
          <Fact label="Started by" testId="started-by">{`${snapshot.startedBy.user ?? 'a user'} (uid ${snapshot.startedBy.uid})`}</Fact>
        ) : null}
      </dl>
    </section>
  );
}

function RateFigure(props: { direction: 'up' | 'down'; label: string; rate: number; bytes: number; packets: number; verb: string }) {
  const { direction, label, rate, bytes, packets, verb } = props;
  return (
    <div className={`rate rate-${direction}`}>
      <span className="rate-label">{label}</span>
      <span className="rate-value" data-testid={`rate-${direction}`}>{formatRate(rate)}</span>
      <span className="rate-total">
        <span data-testid={`total-${direction}`}>{formatBytes(bytes)}</span> {verb} · {plural(packets, 'packet')}
      </span>
    </div>
  );
}

function TrafficCard({ stats, samples }: { stats: TunnelStatsSnapshot; samples: readonly RateSample[] }) {
  return (
    <section className="card" aria-labelledby="traffic-title">
      <h3 id="traffic-title" className="card-title">Traffic</h3>
      <div className="rates">
        <RateFigure direction="up" label="Upload" rate={stats.rateUp} bytes={stats.bytesUp} packets={stats.packetsUp} verb="sent" />
        <RateFigure direction="down" label="Download" rate={stats.rateDown} bytes={stats.bytesDown} packets={stats.packetsDown} verb="received" />
      </div>
      <RateGraph samples={samples} />
      {stats.dropped > 0 ? <p className="muted small">{plural(stats.dropped, 'packet')} not forwarded (not IPv4, too large, or the link was full)</p> : null}
    </section>
  );
}

function ChangesCard({ changes, active, reconnecting }: { changes: readonly string[]; active: boolean; reconnecting: boolean }) {
  return (
    <section className="card" aria-labelledby="changes-title" data-testid="changes">
      <h3 id="changes-title" className="card-title">What the helper changed on this computer</h3>
      {changes.length > 0 ? (
        <>
          {reconnecting ? <p className="muted small changes-note" data-testid="changes-note">Still in place while reconnecting, so connections carry on when the tunnel is back:</p> : null}
          <ul className="changes">
            {changes.map((c, i) => <li key={`${i}-${c}`} className="mono">{c}</li>)}
          </ul>
          <p className="muted small">Each change is journaled before it is made and undone on disconnect, even after a crash.</p>
        </>
      ) : (
        <p className="muted small">{active ? 'Nothing yet.' : 'Nothing: addresses, routes and DNS are as your system set them.'}</p>
      )}
    </section>
  );
}

/** The offer's route: 0.0.0.0 is the default route (protocol.md: what legacy servers always send). */
function routeText(route: string): string {
  return route === '0.0.0.0' ? 'All IPv4 (default route)' : route;
}

function Fact({ label, children, mono, testId }: { label: string; children: string; mono?: boolean; testId?: string }) {
  return (
    <div className="fact">
      <dt>{label}</dt>
      <dd className={mono ? 'mono' : undefined} data-testid={testId}>{children}</dd>
    </div>
  );
}
