// The renderer's transport in a plain browser: the IPC contract over the browser bridge's WebSocket
// (electron/browser-bridge.ts). The token comes from the page's own link (`?token=`), which the app
// (or `npm run demo`) shows when it starts.
import { type IpcClientTransport, VpnError } from '../contract/ipc-schema';

type BridgeMessage = { t: 'reply'; id: number; reply: unknown } | { t: 'push'; channel: string; payload: unknown };

export function connectBridgeTransport(location: Location = window.location): Promise<IpcClientTransport> {
  const token = new URLSearchParams(location.search).get('token');
  if (!token) {
    return Promise.reject(new VpnError('NOT_SUPPORTED',
      'This page was opened without its access key. Open the full link the app showed when it started (it ends in ?token=…).'));
  }
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const ws = new WebSocket(`${scheme}//${location.host}/ipc?token=${encodeURIComponent(token)}`);
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  const listeners = new Map<string, Set<(payload: unknown) => void>>();
  let nextId = 1;

  ws.addEventListener('message', (event) => {
    const msg = JSON.parse(String(event.data)) as BridgeMessage;
    if (msg.t === 'reply') {
      pending.get(msg.id)?.resolve(msg.reply);
      pending.delete(msg.id);
    } else if (msg.t === 'push') {
      listeners.get(msg.channel)?.forEach((l) => l(msg.payload));
    }
  });
  ws.addEventListener('close', () => {
    for (const p of pending.values()) p.reject(new VpnError('INTERNAL', 'the connection to the app was lost; reload the page'));
    pending.clear();
    window.dispatchEvent(new CustomEvent('vpn-bridge-lost'));
  });

  const transport: IpcClientTransport = {
    invoke: (channel, request) => new Promise((resolve, reject) => {
      if (ws.readyState !== WebSocket.OPEN) {
        reject(new VpnError('INTERNAL', 'the connection to the app was lost; reload the page'));
        return;
      }
      const id = nextId++;
      pending.set(id, { resolve, reject });
      ws.send(JSON.stringify({ t: 'invoke', id, channel, request }));
    }),
    subscribe: (channel, listener) => {
      const set = listeners.get(channel) ?? new Set();
      set.add(listener);
      listeners.set(channel, set);
      return () => set.delete(listener);
    },
  };
  return new Promise((resolve, reject) => {
    ws.addEventListener('open', () => resolve(transport), { once: true });
    ws.addEventListener('error', () => void whyRefused(location).then((message) => reject(new VpnError('INTERNAL', message))), { once: true });
  });
}

/**
 * The WebSocket was refused or failed. If the page's own server still answers, the app runs and only
 * the key is wrong (an old link from before a restart); otherwise the app is gone.
 */
async function whyRefused(location: Location): Promise<string> {
  try {
    const r = await fetch(`${location.protocol}//${location.host}/`, { method: 'HEAD', cache: 'no-store' });
    if (r.ok) {
      return 'The app is running, but this link’s access key is not the current one: it changes each time the app starts. ' +
        'Open the link the app showed this time.';
    }
  } catch {
    // no answer: the app is not there
  }
  return 'The app does not answer at this address: it has stopped. Start it again and open the link it shows.';
}
