// The renderer's entry: picks the transport (Electron's preload, else the browser bridge's WebSocket),
// builds the typed `window.vpn` API from the contract, and renders the app.
import './zod-setup';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { createVpnApi } from '../contract/ipc-schema';
import { App } from './app';
import { connectBridgeTransport } from './bridge-transport';
import './styles.css';

async function start(root: HTMLElement): Promise<void> {
  const desktop = window.vpnTransport !== undefined;
  const transport = window.vpnTransport ?? await connectBridgeTransport();
  window.vpn = createVpnApi(transport);
  createRoot(root).render(
    <StrictMode>
      <App api={window.vpn} desktop={desktop} />
    </StrictMode>,
  );
}

const root = document.getElementById('root');
if (root) {
  start(root).catch((err: Error) => {
    // No transport: nothing else can work, so say so plainly.
    root.innerHTML = '';
    const box = document.createElement('div');
    box.className = 'fatal';
    box.setAttribute('role', 'alert');
    const h = document.createElement('h1');
    h.textContent = 'The 4over6 window cannot reach the app';
    const p = document.createElement('p');
    p.textContent = err.message;
    box.append(h, p);
    root.append(box);
  });
}
