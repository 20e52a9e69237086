// The renderer's transport in a plain browser: the IPC contract over the browser bridge's WebSocket
// (electron/browser-bridge.ts). The token comes from the page URL the bridge printed.
import { type IpcClientTransport, VpnError } from '../contract/ipc-schema';

type BridgeMessage = { t: 'reply'; id: number; reply: unknown } | { t: 'push'; channel: string; payload: unknown };

export function connectBridgeTransport(location: Location = window.location): Promise<IpcClientTransport> {
  const token = new URLSearchParams(location.search).get('token');
  if (!token) return Promise.reject(new VpnError('NOT_SUPPORTED', 'open the address the bridge printed: it carries the access token'));
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
    ws.addEventListener('error', () => reject(new VpnError('INTERNAL', 'cannot reach the app at this address (is it still running?)')), { once: true });
  });
}
