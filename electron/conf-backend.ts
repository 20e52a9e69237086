// ProfileStore's backend under plain Node (tests, the browser bridge): conf, with the same options
// as the Electron backend (electron-store-backend.ts) so both read and write the same file.
import type { KeyValueBackend, StoreFileOptions } from './profile-store';

export async function openConfBackend(options: StoreFileOptions): Promise<KeyValueBackend> {
  // conf is ESM-only; a dynamic import is how a CommonJS module loads it.
  const { default: Conf } = await import('conf');
  return new Conf<Record<string, unknown>>(options as ConstructorParameters<typeof Conf<Record<string, unknown>>>[0]);
}
