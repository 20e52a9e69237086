// About: the app's version and licence, the helper it talks to (protocol version, mode), and the
// licences of what it is built from.
import { useEffect, useState } from 'react';
import type { AboutInfo, VpnApi } from '../contract/ipc-schema';

export function AboutView({ api }: { api: VpnApi }) {
  const [about, setAbout] = useState<AboutInfo | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    api.app.about().then((a) => live && setAbout(a), (err: Error) => live && setError(err.message));
    return () => {
      live = false;
    };
  }, [api]);

  return (
    <section className="page about" aria-labelledby="about-title">
      <div className="page-head">
        <h2 id="about-title">About 4over6</h2>
        <p className="muted">An IPv4-over-IPv6 VPN client: your IPv4 traffic goes to a 4over6 gateway inside one TCP connection over IPv6.</p>
      </div>
      {error ? <p className="form-error" role="alert">Could not read the app's details: {error}</p> : null}
      {about ? (
        <>
          <section className="card" aria-labelledby="about-app">
            <h3 id="about-app" className="card-title">This app</h3>
            <dl className="facts">
              <div className="fact"><dt>Version</dt><dd data-testid="about-version">{about.appVersion}</dd></div>
              <div className="fact"><dt>Licence</dt><dd>{about.appLicense}</dd></div>
              <div className="fact"><dt>Runtime</dt><dd>{about.runtime}</dd></div>
              <div className="fact">
                <dt>Helper</dt>
                <dd data-testid="about-helper">
                  {about.helper
                    ? `protocol ${about.helper.protocolVersion}, ${about.helper.mode === 'service' ? 'system service' : 'started by this app'} (pid ${about.helper.pid})`
                    : 'not running (it starts on the first connect)'}
                </dd>
              </div>
            </dl>
          </section>
          <section className="card" aria-labelledby="about-licences">
            <h3 id="about-licences" className="card-title">Licences</h3>
            <table className="licences" data-testid="licences">
              <thead><tr><th scope="col">Component</th><th scope="col">Version</th><th scope="col">Licence</th></tr></thead>
              <tbody>
                {about.licences.map((l) => (
                  <tr key={l.name}><td className="mono">{l.name}</td><td className="mono">{l.version}</td><td>{l.license}</td></tr>
                ))}
              </tbody>
            </table>
          </section>
        </>
      ) : error ? null : <p className="loading">Loading…</p>}
    </section>
  );
}
