import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type IpcHandlers, IPC_CHANNEL_PREFIX, VpnError, channelName,
  createIpcNotifier, createVpnApi, formatProblem, ipcChannels, ipcSchema, listChannels, registerIpcHandlers,
} from './ipc-schema';
import type { TunnelSnapshot } from './ipc-schema';
import { loopbackTransport as loopback } from '../electron/testing/loopback-transport';

function handlers(overrides: { [G in keyof IpcHandlers]?: Partial<IpcHandlers[G]> } = {}): IpcHandlers {
  const notUsed = () => {
    throw new Error('not used in this test');
  };
  const all = Object.fromEntries(Object.entries(ipcSchema).map(([group, channels]) => [
    group,
    Object.fromEntries(Object.keys(channels).filter((k) => (channels as Record<string, { kind: string }>)[k].kind === 'invoke')
      .map((k) => [k, (overrides as Record<string, Record<string, unknown>>)[group]?.[k] ?? notUsed])),
  ]));
  return all as unknown as IpcHandlers;
}

test('channel names derive from the schema keys', () => {
  assert.equal(ipcChannels.tunnel.connect, 'vpn:tunnel.connect');
  assert.equal(ipcChannels.profiles.changed, 'vpn:profiles.changed');
  assert.equal(channelName('a', 'b'), `${IPC_CHANNEL_PREFIX}a.b`);
  const all = listChannels();
  const expected = Object.entries(ipcSchema).flatMap(([g, c]) => Object.keys(c).map((k) => `vpn:${g}.${k}`));
  assert.deepEqual(all.map((c) => c.channel).sort(), expected.sort());
  assert.equal(new Set(all.map((c) => c.channel)).size, all.length, 'channel names are unique');
  assert.deepEqual(all.filter((c) => c.kind === 'push').map((c) => c.channel).sort(),
    ['vpn:app.log', 'vpn:profiles.changed', 'vpn:settings.changed', 'vpn:tunnel.state', 'vpn:tunnel.stats']);
});

test('the renderer API has one method per invoke channel and listenX per push channel', () => {
  const api = createVpnApi(loopback().client);
  assert.equal(typeof api.profiles.list, 'function');
  assert.equal(typeof api.profiles.importText, 'function');
  assert.equal(typeof api.tunnel.connect, 'function');
  assert.equal(typeof api.tunnel.listenState, 'function');
  assert.equal(typeof api.tunnel.listenStats, 'function');
  assert.equal(typeof api.profiles.listenChanged, 'function');
  assert.equal((api.tunnel as Record<string, unknown>).state, undefined, 'push channels are not invocable');
});

test('requests and values round-trip through a transport', async () => {
  const { client, server } = loopback();
  const seen: unknown[] = [];
  registerIpcHandlers(server, handlers({
    tunnel: { connect: (req) => {
      seen.push(req);
      return { profileId: req.profileId } as unknown as TunnelSnapshot;
    } },
    profiles: { list: () => [] },
  }));
  const api = createVpnApi(client);
  assert.deepEqual(await api.tunnel.connect({ profileId: 'p1' }), { profileId: 'p1' });
  assert.deepEqual(seen, [{ profileId: 'p1' }]);
  assert.deepEqual(await api.profiles.list(), []);
});

test('a VpnError thrown in main is rethrown as a VpnError in the renderer, problems included', async () => {
  const { client, server } = loopback();
  const problem = { source: 'x.json', entry: 2, entryName: 'Office', field: 'port', message: 'expected a port 1-65535, got 0' };
  registerIpcHandlers(server, handlers({
    profiles: { importText: () => {
      throw new VpnError('IMPORT_INVALID', 'nothing was imported', { problems: [problem] });
    } },
  }));
  const api = createVpnApi(client);
  await assert.rejects(api.profiles.importText({ fileName: 'x.json', text: '{}' }), (err: unknown) => {
    assert.ok(err instanceof VpnError);
    assert.equal(err.code, 'IMPORT_INVALID');
    assert.equal(err.message, 'nothing was imported');
    assert.deepEqual(err.problems, [problem]);
    return true;
  });
  assert.equal(formatProblem(problem), 'x.json: profiles[2] (Office): port: expected a port 1-65535, got 0');
});

test('any other error becomes INTERNAL without its details, and is reported to main', async () => {
  const { client, server } = loopback();
  const unexpected: string[] = [];
  registerIpcHandlers(server, handlers({
    tunnel: { snapshot: () => {
      throw new TypeError('secret stack details');
    } },
  }), { onUnexpectedError: (channel, err) => unexpected.push(`${channel}: ${(err as Error).message}`) });
  const api = createVpnApi(client);
  await assert.rejects(api.tunnel.snapshot(), (err: unknown) => {
    assert.ok(err instanceof VpnError);
    assert.equal(err.code, 'INTERNAL');
    assert.doesNotMatch(err.message, /secret/);
    return true;
  });
  assert.deepEqual(unexpected, ['vpn:tunnel.snapshot: secret stack details']);
});

test('a malformed reply is an INTERNAL error, not a silent undefined', async () => {
  const api = createVpnApi({ invoke: async () => 'garbage', subscribe: () => () => undefined });
  await assert.rejects(api.profiles.list(), { name: 'VpnError', code: 'INTERNAL' });
});

test('pushes reach listeners until they unsubscribe', () => {
  const { client, server } = loopback();
  const notifier = createIpcNotifier(server);
  const api = createVpnApi(client);
  const got: unknown[] = [];
  const off = api.tunnel.listenStats((s) => got.push(s.stats.rateDown));
  const stats = { bytesUp: 0, bytesDown: 0, packetsUp: 0, packetsDown: 0, rateUp: 0, rateDown: 42, dropped: 0, lastHeartbeatAgoMs: null, reconnects: 0 };
  notifier.tunnel.stats({ stats, sample: { atMs: 1, up: 0, down: 42 } });
  off();
  notifier.tunnel.stats({ stats: { ...stats, rateDown: 43 }, sample: { atMs: 2, up: 0, down: 43 } });
  assert.deepEqual(got, [42]);
});

test('registering fails loudly when a handler is missing', () => {
  const h = handlers() as unknown as Record<string, Record<string, unknown>>;
  delete h.tunnel.disconnect;
  assert.throws(() => registerIpcHandlers(loopback().server, h as unknown as IpcHandlers), /no handler for vpn:tunnel.disconnect/);
  const noApp = handlers() as unknown as Record<string, Record<string, unknown>>;
  delete noApp.app;
  assert.throws(() => registerIpcHandlers(loopback().server, noApp as unknown as IpcHandlers), { message: 'no handler for vpn:app.logs' }, 'a whole group missing');
});

test('every malformed reply is an INTERNAL error naming its channel; a reply with a well-formed error is that error', async () => {
  const malformed: unknown[] = ['garbage', null, undefined, 42, {}, { value: 1 }, { ok: false }, { ok: false, error: null },
    { ok: false, error: { code: 'PROFILE_NOT_FOUND' } }, { ok: false, error: { message: 'no code' } }, { ok: false, error: { code: 7, message: 'x' } }];
  for (const reply of malformed) {
    const api = createVpnApi({ invoke: async () => reply, subscribe: () => () => undefined });
    await assert.rejects(api.profiles.list(), (err: unknown) => {
      assert.ok(err instanceof VpnError, String(err));
      assert.deepEqual(err.toInfo(), { code: 'INTERNAL', message: 'malformed reply on vpn:profiles.list' }, JSON.stringify(reply));
      return true;
    });
  }
  const api = createVpnApi({ invoke: async () => ({ ok: false, error: { code: 'PROFILE_NOT_FOUND', message: 'no profile p9' } }), subscribe: () => () => undefined });
  await assert.rejects(api.profiles.remove({ id: 'p9' }), (err: unknown) => err instanceof VpnError && err.code === 'PROFILE_NOT_FOUND' && err.message === 'no profile p9');
  // A value that is itself falsy is still the value.
  const zero = createVpnApi({ invoke: async () => ({ ok: true, value: null }), subscribe: () => () => undefined });
  assert.equal(await zero.profiles.importFile(), null);
});

test('the INTERNAL reply says which channel failed, and nothing of the error; without a reporter it is still INTERNAL', async () => {
  const { client, server } = loopback();
  registerIpcHandlers(server, handlers({ settings: { get: () => Promise.reject(new Error('EACCES /home/me/.config')) } }));
  await assert.rejects(createVpnApi(client).settings.get(), (err: unknown) => {
    assert.ok(err instanceof VpnError);
    assert.deepEqual(err.toInfo(), { code: 'INTERNAL', message: 'internal error in vpn:settings.get; see the app log' });
    return true;
  });
});

test('each push channel goes to its own listeners only', () => {
  const { client, server } = loopback();
  const notifier = createIpcNotifier(server);
  const api = createVpnApi(client);
  const got: string[] = [];
  api.profiles.listenChanged(() => got.push('profiles'));
  api.settings.listenChanged(() => got.push('settings'));
  api.app.listenLog(() => got.push('log'));
  notifier.settings.changed({} as never);
  notifier.app.log({} as never);
  notifier.profiles.changed([]);
  assert.deepEqual(got, ['settings', 'log', 'profiles']);
  assert.deepEqual(Object.keys(notifier).sort(), ['app', 'profiles', 'settings', 'tunnel']);
  assert.deepEqual(Object.keys(notifier.tunnel).sort(), ['state', 'stats'], 'only push channels');
});
