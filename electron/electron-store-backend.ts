// ProfileStore's backend inside Electron: electron-store (conf plus Electron's userData path and
// ipc), built from the same options as conf-backend.ts. electron-store throws when imported outside
// Electron, so only electron/main.ts imports this file.
import type { KeyValueBackend, StoreFileOptions } from './profile-store';

export async function openElectronStoreBackend(options: StoreFileOptions): Promise<KeyValueBackend> {
  const { default: ElectronStore } = await import('electron-store');
  // electron-store names the file `name` (and overrides `configName` with it).
  const { configName, ...rest } = options;
  return new ElectronStore<Record<string, unknown>>({ ...rest, name: configName } as ConstructorParameters<typeof ElectronStore<Record<string, unknown>>>[0]);
}
