// Settings: the kill switch (off, on, lockdown), local network access, connecting at start, starting
// at login; each explained in one line, each saved (and applied by main) as soon as it changes.
import { useEffect, useId, useState } from 'react';
import type { KillSwitchMode } from '../contract/helper-api';
import { type VpnApi, VpnError } from '../contract/ipc-schema';
import type { AppSettings, SettingsPatch } from '../contract/settings';

const KILL_SWITCH_CHOICES: readonly { mode: KillSwitchMode; label: string; line: string }[] = [
  { mode: 'off', label: 'Off', line: 'While the tunnel is down or reconnecting, IPv4 traffic may leave through your normal network.' },
  { mode: 'on', label: 'On', line: 'While connecting, connected or reconnecting, IPv4 leaves only through the tunnel; after you disconnect, your normal network works again.' },
  { mode: 'lockdown', label: 'Lockdown', line: 'IPv4 leaves only through the tunnel, also while disconnected, until you choose another mode here.' },
];

export function SettingsView({ api }: { api: VpnApi }) {
  const [settings, setSettings] = useState<AppSettings | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [saving, setSaving] = useState(false);
  const ids = { lan: useId(), start: useId(), login: useId() };

  useEffect(() => {
    let live = true;
    const off = api.settings.listenChanged((s) => live && setSettings(s));
    api.settings.get().then((s) => live && setSettings((cur) => cur ?? s), (err: Error) => live && setError(err.message));
    return () => {
      live = false;
      off();
    };
  }, [api]);

  const update = async (patch: SettingsPatch) => {
    const before = settings;
    // Shown at once (a control that lags its click reads as broken); main's answer, or the old value, follows.
    setSettings((s) => (s ? { ...s, ...patch } : s));
    setSaving(true);
    setError(null);
    try {
      setSettings(await api.settings.update(patch));
    } catch (err) {
      setSettings(before);
      setError(err instanceof VpnError ? err.message : (err as Error).message);
    } finally {
      setSaving(false);
    }
  };

  return (
    <section className="page settings" aria-labelledby="settings-title">
      <div className="page-head">
        <h2 id="settings-title">Settings</h2>
        <p className="muted">Saved on this computer next to your profiles, and applied at once.</p>
      </div>
      {error ? <p className="form-error" role="alert" data-testid="settings-error">{error}</p> : null}
      {settings ? (
        <>
          <section className="card" aria-labelledby="ks-title">
            <h3 id="ks-title" className="card-title">Kill switch</h3>
            <div role="radiogroup" aria-labelledby="ks-title" className="choices" aria-busy={saving || undefined}>
              {KILL_SWITCH_CHOICES.map((c) => (
                <label key={c.mode} className={`choice${settings.killSwitch === c.mode ? ' chosen' : ''}`}>
                  <input type="radio" name="kill-switch" value={c.mode} checked={settings.killSwitch === c.mode}
                    onChange={() => void update({ killSwitch: c.mode })} />
                  <span className="choice-text">
                    <span className="choice-label">{c.label}</span>
                    <span className="choice-line">{c.line}</span>
                  </span>
                </label>
              ))}
            </div>
            <Toggle id={ids.lan} label="Allow the local network" checked={settings.allowLan} onChange={(v) => void update({ allowLan: v })}
              line="Printers, file shares and other devices on your local IPv4 subnets stay reachable while the kill switch blocks." />
          </section>
          <section className="card" aria-labelledby="start-title">
            <h3 id="start-title" className="card-title">Starting</h3>
            <Toggle id={ids.start} label="Connect automatically when the app starts" checked={settings.connectOnStart}
              onChange={(v) => void update({ connectOnStart: v })} line="Connects to the profile you used last." />
            <Toggle id={ids.login} label="Start the app when I log in" checked={settings.startAtLogin}
              onChange={(v) => void update({ startAtLogin: v })} line="Adds 4over6 to your desktop's startup applications (~/.config/autostart)." />
          </section>
        </>
      ) : error ? null : <p className="loading">Loading…</p>}
    </section>
  );
}

function Toggle({ id, label, line, checked, onChange }: { id: string; label: string; line: string; checked: boolean; onChange: (v: boolean) => void }) {
  return (
    <div className="toggle">
      <input id={id} type="checkbox" checked={checked} onChange={(e) => onChange(e.target.checked)} aria-describedby={`${id}-line`} />
      <div>
        <label htmlFor={id}>{label}</label>
        <p id={`${id}-line`} className="choice-line">{line}</p>
      </div>
    </div>
  );
}
