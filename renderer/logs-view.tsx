// The Logs screen: the helper's and the app's events as they come, a level filter, Copy, and "Save
// diagnostics" (a redacted bundle: main masks keys and addresses). In Electron main shows a save
// dialog; in a browser the bundle is offered as a download.
import { useEffect, useMemo, useRef, useState } from 'react';
import { type LogEntry, type LogLevel, type VpnApi, VpnError } from '../contract/ipc-schema';
import { LEVEL_CHOICES, copyText, filterByLevel, mergeEntries } from './logs-model';
import type { Notice } from './notices';

function useLogs(api: VpnApi): { entries: LogEntry[]; error: string | null } {
  const [entries, setEntries] = useState<LogEntry[]>([]);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    const early: LogEntry[] = [];
    let loaded = false;
    const off = api.app.listenLog((e) => {
      if (!loaded) early.push(e);
      else setEntries((list) => mergeEntries(list, [e]));
    });
    api.app.logs().then((list) => {
      if (!live) return;
      loaded = true;
      setEntries(mergeEntries(list, early));
    }, (err: Error) => live && setError(err.message));
    return () => {
      live = false;
      off();
    };
  }, [api]);
  return { entries, error };
}

function download(fileName: string, text: string): string {
  const href = URL.createObjectURL(new Blob([text], { type: 'application/json' }));
  const a = document.createElement('a');
  a.href = href;
  a.download = fileName;
  document.body.append(a);
  a.click();
  a.remove();
  return href;
}

export function LogsView({ api, desktop, notify }: { api: VpnApi; desktop: boolean; notify: (n: Omit<Notice, 'id'>) => void }) {
  const { entries, error } = useLogs(api);
  const [level, setLevel] = useState<LogLevel>('info');
  const [saving, setSaving] = useState(false);
  const dialogs = useRef(desktop);
  const shown = useMemo(() => filterByLevel(entries, level), [entries, level]);
  const list = useRef<HTMLOListElement>(null);

  // Follow new events while the list is scrolled to the bottom.
  useEffect(() => {
    const el = list.current;
    if (el && el.scrollHeight - el.scrollTop - el.clientHeight < 80) el.scrollTop = el.scrollHeight;
  }, [shown.length]);

  const copy = async () => {
    try {
      await navigator.clipboard.writeText(copyText(shown));
      notify({ tone: 'ok', text: `Copied ${shown.length} event${shown.length === 1 ? '' : 's'}.` });
    } catch (err) {
      notify({ tone: 'error', text: `Could not copy: ${(err as Error).message}` });
    }
  };

  const save = async () => {
    setSaving(true);
    try {
      if (dialogs.current) {
        try {
          const r = await api.app.saveDiagnostics();
          if (r) notify({ tone: 'ok', text: `Saved diagnostics to ${r.path}. Keys and addresses are masked.` });
          return;
        } catch (err) {
          if (!(err instanceof VpnError && err.code === 'NOT_SUPPORTED')) throw err;
          dialogs.current = false;
        }
      }
      const r = await api.app.diagnosticsText();
      const href = download(r.fileName, r.text);
      notify({ tone: 'ok', text: 'Diagnostics saved. Keys and addresses are masked.', link: { href, download: r.fileName, label: `Download ${r.fileName} again` } });
    } catch (err) {
      notify({ tone: 'error', text: `Could not save diagnostics: ${(err as Error).message}` });
    } finally {
      setSaving(false);
    }
  };

  return (
    <section className="page logs" aria-labelledby="logs-title">
      <div className="page-head">
        <h2 id="logs-title">Logs</h2>
        <p className="muted">What the helper and the app did, newest last. Attach a diagnostics file to a bug report: it masks keys and addresses.</p>
      </div>
      <div className="logs-bar">
        <label className="select">
          <span>Show</span>
          <select value={level} onChange={(e) => setLevel(e.target.value as LogLevel)} aria-label="Show">
            {LEVEL_CHOICES.map((c) => <option key={c.level} value={c.level}>{c.label}</option>)}
          </select>
        </label>
        <span className="muted small" data-testid="logs-count">{shown.length} of {entries.length} events</span>
        <button type="button" className="btn btn-small" onClick={() => void copy()} disabled={shown.length === 0}>Copy</button>
        <button type="button" className="btn btn-small btn-primary" onClick={() => void save()} disabled={saving}>
          {saving ? 'Saving…' : 'Save diagnostics…'}
        </button>
      </div>
      {error ? <p className="form-error" role="alert">Could not read the events: {error}</p> : null}
      <ol ref={list} className="log-list" role="log" aria-label="Events" data-testid="log-list">
        {shown.length === 0 ? <li className="muted log-empty">No events at this level yet.</li> : null}
        {shown.map((e) => (
          <li key={e.seq} className={`log-entry log-${e.level}`} data-level={e.level} data-source={e.source}>
            <time dateTime={new Date(e.atMs).toISOString()}>{new Date(e.atMs).toLocaleTimeString()}</time>
            <span className="log-source">{e.source}</span>
            <span className={`log-level level-${e.level}`}>{e.level}</span>
            <span className="log-message mono">{e.message}</span>
          </li>
        ))}
      </ol>
    </section>
  );
}
