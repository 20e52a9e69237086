// What the page finds on `window`: the preload's transport (Electron only) and the API built on it.
import type { IpcClientTransport, VpnApi } from '../contract/ipc-schema';

declare global {
  interface Window {
    /** Set by electron/preload.ts; absent in a plain browser (the bridge is used instead). */
    vpnTransport?: IpcClientTransport;
    vpn: VpnApi;
  }
}
