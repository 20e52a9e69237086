// The window: profiles on the left, the tunnel on the right. State comes from main (useVpn); this file
// only decides what to show and turns clicks into calls. Every call is async and nothing waits on it:
// the helper's answer arrives as a state push.
import { useCallback, useEffect, useMemo, useState } from 'react';
import { type VpnApi, VpnError } from '../contract/ipc-schema';
import type { Profile, ProfileDraft } from '../contract/profile-schema';
import { isActive } from '../contract/tunnel-summary';
import { AboutView } from './about-view';
import { LogsView } from './logs-view';
import { SettingsView } from './settings-view';
import { HelperBanner, ImportFailureBanner, LinkLostBanner, RecoveryBanner, StoreErrorBanner } from './banners';
import { ExportIcon, ImportIcon, PlusIcon, ShieldIcon } from './icons';
import { Notices, useNotices } from './notices';
import { ProfileEditor } from './profile-editor';
import { type ProfileFormValues, emptyForm, formFromProfile } from './profile-form';
import { ProfileList } from './profile-list';
import { type HelperProblem, type Pending, helperProblem, snapshotForProfile } from './state-view';
import { TunnelPanel } from './tunnel-panel';
import { useTransfer } from './use-transfer';
import { useVpn } from './use-vpn';
import { ConfirmDialog } from './modal';

const SELECTED_KEY = '4over6.selectedProfile';

type EditorState = { mode: 'create'; initial: ProfileFormValues } | { mode: 'edit'; profile: Profile };

/** What the main panel shows. */
type View = 'connection' | 'settings' | 'logs' | 'about';
const VIEWS: readonly { view: View; label: string }[] = [
  { view: 'connection', label: 'Connection' },
  { view: 'settings', label: 'Settings' },
  { view: 'logs', label: 'Logs' },
  { view: 'about', label: 'About' },
];

function loadSelected(): string | null {
  try {
    return localStorage.getItem(SELECTED_KEY);
  } catch {
    return null;
  }
}

export function App({ api, desktop }: { api: VpnApi; desktop: boolean }) {
  const model = useVpn(api);
  const { notices, notify, dismiss } = useNotices();
  const [selectedId, setSelectedId] = useState<string | null>(loadSelected);
  const [pending, setPending] = useState<Pending>(null);
  const [editor, setEditor] = useState<EditorState | null>(null);
  const [deleting, setDeleting] = useState<Profile | null>(null);
  const [recoveryDismissed, setRecoveryDismissed] = useState(false);
  const [view, setView] = useState<View>('connection');
  const [profilesOverride, setProfilesOverride] = useState<{ list: Profile[] | null; error: VpnError | null } | null>(null);

  const profiles = profilesOverride?.list ?? model.profiles ?? [];
  const profilesError = profilesOverride ? profilesOverride.error : model.profilesError;
  const snapshot = model.snapshot;
  const state = snapshot?.state ?? { kind: 'idle' as const };
  const active = isActive(state) || state.kind === 'disconnecting';

  // A newer push replaces a list we re-read by hand.
  useEffect(() => setProfilesOverride(null), [model.profiles]);

  const select = useCallback((id: string | null) => {
    setSelectedId(id);
    try {
      if (id) localStorage.setItem(SELECTED_KEY, id);
    } catch {
      // storage may be unavailable; selection then lasts until a reload
    }
  }, []);

  // The tunnel's profile is the selected one while it runs (e.g. started from the tray).
  useEffect(() => {
    if (snapshot?.profileId && isActive(snapshot.state)) select(snapshot.profileId);
  }, [snapshot?.profileId, snapshot?.state.kind, select]);

  const selected = useMemo(() => {
    return profiles.find((p) => p.id === selectedId)
      ?? profiles.find((p) => p.id === snapshot?.profileId)
      ?? profiles[0] ?? null;
  }, [profiles, selectedId, snapshot?.profileId]);

  // While a tunnel runs, the panel is about its profile, whatever is selected.
  const target = active ? profiles.find((p) => p.id === snapshot?.profileId) ?? null : selected;

  const transfer = useTransfer(api, desktop, notify, (r) => {
    if (r.imported[0]) select(r.imported[0].id);
  });

  const fail = useCallback((what: string, err: unknown) => {
    const e = err instanceof VpnError ? err : new VpnError('INTERNAL', (err as Error).message);
    notify({ tone: 'error', text: `${what}: ${e.message}` });
  }, [notify]);

  const connect = async (profileId: string) => {
    select(profileId);
    setPending('connect');
    try {
      await api.tunnel.connect({ profileId });
    } catch (err) {
      // Helper problems show in the helper banner (the snapshot carries them); the rest here.
      if (!(err instanceof VpnError && err.code.startsWith('HELPER_'))) fail('Could not connect', err);
    } finally {
      setPending(null);
    }
  };

  const disconnect = async () => {
    setPending('disconnect');
    try {
      await api.tunnel.disconnect();
    } catch (err) {
      fail('Could not disconnect', err);
    } finally {
      setPending(null);
    }
  };

  const save = async (draft: ProfileDraft) => {
    if (!editor) return;
    if (editor.mode === 'create') {
      const created = await api.profiles.create(draft);
      select(created.id);
      notify({ tone: 'ok', text: `Added “${created.name}”.` });
    } else {
      const updated = await api.profiles.update({ id: editor.profile.id, changes: draft });
      notify({ tone: 'ok', text: `Saved “${updated.name}”.` });
    }
    setEditor(null);
  };

  const duplicate = async (p: Profile) => {
    try {
      const copy = await api.profiles.duplicate({ id: p.id });
      select(copy.id);
      notify({ tone: 'ok', text: `Duplicated “${p.name}” as “${copy.name}”.` });
    } catch (err) {
      fail(`Could not duplicate “${p.name}”`, err);
    }
  };

  const remove = async (p: Profile) => {
    setDeleting(null);
    try {
      await api.profiles.remove({ id: p.id });
      if (selectedId === p.id) select(null);
      notify({ tone: 'info', text: `Deleted “${p.name}”.` });
    } catch (err) {
      fail(`Could not delete “${p.name}”`, err);
    }
  };

  const retryProfiles = async () => {
    try {
      setProfilesOverride({ list: await api.profiles.list(), error: null });
    } catch (err) {
      setProfilesOverride({ list: null, error: err instanceof VpnError ? err : new VpnError('INTERNAL', (err as Error).message) });
    }
  };

  const helper = snapshot ? helperProblem(snapshot.helper) : null;
  const recovery = model.storeStatus?.recovery;
  const empty = model.loaded && profiles.length === 0 && !profilesError && !active;
  const activeLabel = state.kind === 'connected' ? 'Connected' : state.kind === 'connecting' ? 'Connecting…'
    : state.kind === 'reconnecting' ? 'Reconnecting…' : state.kind === 'disconnecting' ? 'Disconnecting…'
      : state.kind === 'failed' ? 'Failed' : null;
  // The profile the list marks: the tunnel's while it runs, the failed one after a failure.
  const markedId = active || state.kind === 'failed' ? snapshot?.profileId ?? null : null;
  const panelSnapshot = snapshot ? snapshotForProfile(snapshot, target?.id ?? null) : null;

  return (
    <div className="app">
      <a className="skip-link" href="#main" onClick={(e) => { e.preventDefault(); document.getElementById('main')?.focus(); }}>
        Skip to the connection panel
      </a>
      <header className="topbar">
        <div className="brand">
          <span className="brand-mark" aria-hidden="true"><ShieldIcon size={18} /></span>
          <h1>4over6</h1>
          <span className="brand-sub">IPv4 over IPv6</span>
        </div>
        <nav className="views" aria-label="Screens">
          {VIEWS.map((v) => (
            <button key={v.view} type="button" className="view-tab" aria-current={view === v.view ? 'page' : undefined}
              onClick={() => setView(v.view)}>{v.label}</button>
          ))}
        </nav>
        {snapshot ? <HelperPill status={snapshot.helper.status} mode={snapshot.helper.mode} problem={helper} /> : null}
      </header>

      <aside className="sidebar" aria-label="Profiles">
        <div className="sidebar-head">
          <h2>Profiles</h2>
          <button type="button" className="btn btn-small btn-primary" onClick={() => setEditor({ mode: 'create', initial: emptyForm() })}>
            <PlusIcon /> Add
          </button>
        </div>
        {profiles.length > 0 ? (
          <ProfileList profiles={profiles} selectedId={selected?.id ?? null}
            activeId={markedId} activeLabel={activeLabel} busy={active}
            activeTone={state.kind === 'connected' ? 'ok' : state.kind === 'reconnecting' ? 'warn' : state.kind === 'failed' ? 'error' : 'busy'}
            onSelect={(id) => { select(id); setView('connection'); }} onConnect={(id) => { setView('connection'); void connect(id); }}
            onEdit={(p) => setEditor({ mode: 'edit', profile: p })}
            onDuplicate={(p) => void duplicate(p)} onDelete={setDeleting} />
        ) : (
          <p className="sidebar-empty">{model.loaded ? 'No profiles yet.' : 'Loading…'}</p>
        )}
        <div className="sidebar-foot">
          <button type="button" className="btn btn-small" onClick={() => void transfer.startImport()} disabled={transfer.busy}>
            <ImportIcon /> Import…
          </button>
          <button type="button" className="btn btn-small" onClick={() => void transfer.startExport()} disabled={transfer.busy || profiles.length === 0}>
            <ExportIcon /> Export…
          </button>
          {transfer.fileInput}
        </div>
      </aside>

      <main className="main" id="main" tabIndex={-1} aria-label="Connection">
        <div className="banners">
          {model.linkLost ? <LinkLostBanner /> : null}
          {helper ? <HelperBanner problem={helper} /> : null}
          {profilesError ? <StoreErrorBanner error={profilesError} onRetry={() => void retryProfiles()} /> : null}
          {recovery && !recoveryDismissed ? <RecoveryBanner recovery={recovery} onClose={() => setRecoveryDismissed(true)} /> : null}
          {transfer.failure ? <ImportFailureBanner failure={transfer.failure} onClose={transfer.clearFailure} /> : null}
          {model.loadError ? <p className="form-error" role="alert">Could not read the tunnel state: {model.loadError.message}</p> : null}
        </div>

        {view === 'logs' ? <LogsView api={api} desktop={desktop} notify={notify} />
          : view === 'settings' ? <SettingsView api={api} />
          : view === 'about' ? <AboutView api={api} />
          : !model.loaded || !panelSnapshot ? (
          <p className="loading">{model.loaded ? '' : 'Loading…'}</p>
        ) : empty ? (
          <EmptyState onAdd={() => setEditor({ mode: 'create', initial: emptyForm() })} onImport={() => void transfer.startImport()} />
        ) : (
          <TunnelPanel snapshot={panelSnapshot} stateSinceMs={model.stateSinceMs} stats={model.stats} samples={model.samples}
            pending={pending} target={target}
            onConnect={() => { if (target) void connect(target.id); }}
            onOpenSettings={() => setView('settings')}
            onDisconnect={() => void disconnect()} />
        )}
      </main>

      <Notices notices={notices} dismiss={dismiss} />

      {editor ? (
        <ProfileEditor
          key={editor.mode === 'edit' ? editor.profile.id : 'new'}
          mode={editor.mode}
          initial={editor.mode === 'edit' ? formFromProfile(editor.profile) : editor.initial}
          takenNames={profiles.filter((p) => editor.mode === 'create' || p.id !== editor.profile.id).map((p) => p.name)}
          note={editor.mode === 'edit' && active && snapshot?.profileId === editor.profile.id
            ? 'This profile is in use: changes apply the next time you connect.' : null}
          onSave={save}
          onClose={() => setEditor(null)} />
      ) : null}

      {deleting ? (
        <ConfirmDialog title={`Delete “${deleting.name}”?`} confirmLabel="Delete" danger
          message={<p>The profile and its key are removed from this computer. Export it first if you may need it again.</p>}
          onConfirm={() => void remove(deleting)} onClose={() => setDeleting(null)} />
      ) : null}
    </div>
  );
}

function HelperPill({ status, mode, problem }: { status: 'none' | 'connected' | 'lost'; mode: 'service' | 'spawned' | null; problem: HelperProblem | null }) {
  const text = status === 'connected' ? `Helper running${mode === 'service' ? ' (service)' : ''}`
    : problem ? (problem.kind === 'stopped' ? 'Helper stopped' : 'Helper not available') : 'Helper starts on connect';
  const tone = status === 'connected' ? 'ok' : problem ? 'error' : 'idle';
  return <span className={`pill pill-${tone}`} data-testid="helper-pill" title={text}><span className="pill-dot" aria-hidden="true" /><span className="pill-text">{text}</span></span>;
}

function EmptyState({ onAdd, onImport }: { onAdd: () => void; onImport: () => void }) {
  return (
    <section className="empty" aria-labelledby="empty-title" data-testid="empty-state">
      <div className="empty-mark" aria-hidden="true"><ShieldIcon size={36} /></div>
      <h2 id="empty-title">No profiles yet</h2>
      <p>
        A profile tells the app how to reach your 4over6 gateway: its IPv6 address or host name, its port and,
        if the server encrypts, its key. Once connected, all your IPv4 traffic goes through the gateway.
      </p>
      <div className="empty-actions">
        <button type="button" className="btn btn-primary" onClick={onAdd}><PlusIcon /> Add a profile</button>
        <button type="button" className="btn" onClick={onImport}><ImportIcon /> Import a file…</button>
      </div>
      <p className="muted small">Got a <span className="mono">client_config.yaml</span> or an exported profiles file from your administrator? Import it.</p>
    </section>
  );
}
