// Problems that are not about one action: the helper link, the window's link to the app, a profiles
// file that was repaired at startup or broke since, an import that was refused. Each says what to do.
import { type ProblemInfo, type StoreStatus, type VpnError, formatProblem } from '../contract/ipc-schema';
import type { ReactNode } from 'react';
import { AlertIcon, CloseIcon } from './icons';
import type { HelperProblem } from './state-view';
import type { ImportFailure } from './use-transfer';

function Banner({ tone, title, children, onClose, testId, action }: {
  tone: 'error' | 'warn'; title: string; children?: ReactNode; onClose?: () => void; testId?: string;
  action?: { label: string; onClick: () => void };
}) {
  return (
    <section className={`banner banner-${tone}`} role="alert" data-testid={testId}>
      <AlertIcon size={20} />
      <div className="banner-body">
        <h2 className="banner-title">{title}</h2>
        {children}
        {action ? <button type="button" className="btn btn-small" onClick={action.onClick}>{action.label}</button> : null}
      </div>
      {onClose ? <button type="button" className="icon-btn" aria-label={`Dismiss: ${title}`} onClick={onClose}><CloseIcon /></button> : null}
    </section>
  );
}

function Problems({ problems }: { problems: readonly ProblemInfo[] }) {
  return (
    <ul className="problems">
      {problems.map((p, i) => <li key={i} className="mono">{formatProblem(p)}</li>)}
    </ul>
  );
}

/** Text with `command` spans set as code. */
function WithCode({ text }: { text: string }) {
  return <>{text.split('`').map((part, i) => (i % 2 === 1 ? <code key={i}>{part}</code> : part))}</>;
}

export function HelperBanner({ problem }: { problem: HelperProblem }) {
  return (
    <Banner tone="error" title={problem.title} testId="helper-banner">
      <p className="banner-message">{problem.message}</p>
      <p><WithCode text={problem.advice} /></p>
    </Banner>
  );
}

export function LinkLostBanner() {
  return (
    <Banner tone="error" title="This window lost its connection to the app" testId="link-banner"
      action={{ label: 'Reload', onClick: () => window.location.reload() }}>
      <p>The tunnel keeps running as it was. Reload to see its state again.</p>
    </Banner>
  );
}

export function RecoveryBanner({ recovery, onClose }: { recovery: NonNullable<StoreStatus['recovery']>; onClose: () => void }) {
  return (
    <Banner tone="warn" title="Your profiles file was damaged and has been repaired" onClose={onClose} testId="recovery-banner">
      <p>
        {recovery.kept} valid profile{recovery.kept === 1 ? ' was' : 's were'} kept. The damaged file was saved as{' '}
        <span className="mono">{recovery.backupPath}</span>; these entries could not be read:
      </p>
      <Problems problems={recovery.problems} />
    </Banner>
  );
}

export function StoreErrorBanner({ error, onRetry }: { error: VpnError; onRetry: () => void }) {
  return (
    <Banner tone="error" title="Your profiles cannot be read" testId="store-banner" action={{ label: 'Try again', onClick: onRetry }}>
      <p>{error.message}</p>
      {error.problems.length > 0 ? <Problems problems={error.problems} /> : null}
    </Banner>
  );
}

export function ImportFailureBanner({ failure, onClose }: { failure: ImportFailure; onClose: () => void }) {
  const n = failure.problems.length;
  return (
    <Banner tone="error" onClose={onClose} testId="import-errors"
      title={`Nothing was imported${failure.fileName ? ` from ${failure.fileName}` : ''}${n > 0 ? `: ${n} problem${n === 1 ? '' : 's'} to fix` : ''}`}>
      {n > 0 ? <Problems problems={failure.problems} /> : <p>{failure.message}</p>}
      <p className="muted small">Fix the file and import it again; your profiles are unchanged.</p>
    </Banner>
  );
}
