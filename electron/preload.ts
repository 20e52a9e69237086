// The sandboxed preload: exposes `window.vpnTransport`, the ipc transport on which the renderer
// builds its typed `window.vpn` with one call: `window.vpn = createVpnApi(window.vpnTransport)`
// (contract/ipc-schema.ts). Why not build `window.vpn` here: a sandboxed preload can require only
// 'electron' (not our modules, so not the schema), and contextBridge keeps only an error's message,
// so the typed VpnError has to be rebuilt in the renderer's own world.
import { type IpcRendererEvent, contextBridge, ipcRenderer } from 'electron';
import type { IPC_CHANNEL_PREFIX, IpcClientTransport } from '../contract/ipc-schema';

// Checked against the contract at compile time; a literal so nothing is required at run time.
const PREFIX: typeof IPC_CHANNEL_PREFIX = 'vpn:';

/** Only our channels: the page can reach nothing else in main through this. */
function ours(channel: unknown): string {
  if (typeof channel !== 'string' || !channel.startsWith(PREFIX)) throw new Error(`not a 4over6 channel: ${String(channel)}`);
  return channel;
}

const transport: IpcClientTransport = {
  invoke: (channel, request) => ipcRenderer.invoke(ours(channel), request),
  subscribe: (channel, listener) => {
    const name = ours(channel);
    const handler = (_event: IpcRendererEvent, payload: unknown) => listener(payload);
    ipcRenderer.on(name, handler);
    return () => {
      ipcRenderer.removeListener(name, handler);
    };
  },
};

contextBridge.exposeInMainWorld('vpnTransport', transport);
