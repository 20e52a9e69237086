// Main and renderer joined in memory for tests; payloads go through JSON as they would over a wire.
import type { IpcClientTransport, IpcServerTransport } from '../../contract/ipc-schema';

export function loopbackTransport(): { client: IpcClientTransport; server: IpcServerTransport } {
  const handlers = new Map<string, (request: unknown) => Promise<unknown>>();
  const listeners = new Map<string, Set<(payload: unknown) => void>>();
  const wire = (v: unknown) => (v === undefined ? undefined : JSON.parse(JSON.stringify(v)));
  return {
    server: {
      handle: (channel, handler) => handlers.set(channel, handler),
      publish: (channel, payload) => listeners.get(channel)?.forEach((l) => l(wire(payload))),
    },
    client: {
      invoke: async (channel, request) => {
        const h = handlers.get(channel);
        if (!h) throw new Error(`no handler for ${channel}`);
        return wire(await h(wire(request)));
      },
      subscribe: (channel, listener) => {
        const set = listeners.get(channel) ?? new Set();
        listeners.set(channel, set);
        set.add(listener);
        return () => set.delete(listener);
      },
    },
  };
}
