// Binds the AppController to any IPC server transport: every invoke channel to its handler, every
// controller event to its push channel. Used by the Electron entry (ipcMain) and the browser bridge.
import { type IpcServerTransport, createIpcNotifier, registerIpcHandlers } from '../contract/ipc-schema';
import type { AppController } from './app-controller';

export function bindController(controller: AppController, transport: IpcServerTransport, log: (line: string) => void): void {
  registerIpcHandlers(transport, controller.handlers, { onUnexpectedError: (channel, err) => log(`bug in ${channel}: ${(err as Error).stack}`) });
  const notifier = createIpcNotifier(transport);
  controller.on('tunnelState', (s) => notifier.tunnel.state(s));
  controller.on('tunnelStats', (s) => notifier.tunnel.stats(s));
  controller.on('log', (e) => notifier.app.log(e));
  controller.on('settingsChanged', (s) => notifier.settings.changed(s));
  controller.on('profilesChanged', (p) => notifier.profiles.changed(p));
}
