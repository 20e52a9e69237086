// The window's copy of main's state: read once (snapshot, profiles, store status), then kept current
// by pushes. Listeners are attached before the first read, so nothing pushed meanwhile is lost, and a
// push that arrives before the read's answer wins (it is newer). After a reload the same two steps
// restore everything main knows, the rate history included (main keeps the last 60 s).
import { useEffect, useReducer } from 'react';
import type { TunnelStatsSnapshot } from '../contract/helper-api';
import { type RateSample, type StatsUpdate, type StoreStatus, type TunnelSnapshot, type VpnApi, VpnError } from '../contract/ipc-schema';
import type { Profile } from '../contract/profile-schema';

/** Seconds of rate history the graph shows (one stats push a second; main keeps as many). */
export const HISTORY_SECONDS = 60;

export interface VpnModel {
  loaded: boolean;
  snapshot: TunnelSnapshot | null;
  /** When the current state arrived here (for countdowns). */
  stateSinceMs: number;
  stats: TunnelStatsSnapshot | null;
  samples: RateSample[];
  profiles: Profile[] | null;
  profilesError: VpnError | null;
  storeStatus: StoreStatus | null;
  /** The window lost its connection to the app (browser bridge closed). */
  linkLost: boolean;
  loadError: VpnError | null;
}

type Action =
  | {
    type: 'loaded'; snapshot: TunnelSnapshot | null; history: RateSample[]; profiles: Profile[] | null; profilesError: VpnError | null;
    storeStatus: StoreStatus | null; error: VpnError | null;
  }
  | { type: 'state'; snapshot: TunnelSnapshot; atMs: number }
  | { type: 'stats'; update: StatsUpdate }
  | { type: 'profiles'; profiles: Profile[] }
  | { type: 'linkLost' };

const initial: VpnModel = {
  loaded: false, snapshot: null, stateSinceMs: 0, stats: null, samples: [], profiles: null, profilesError: null,
  storeStatus: null, linkLost: false, loadError: null,
};

function applyState(m: VpnModel, snapshot: TunnelSnapshot, atMs: number): VpnModel {
  const prev = m.snapshot?.state;
  const changed = !prev || JSON.stringify(prev) !== JSON.stringify(snapshot.state);
  // A new connection (not a reconnect) starts a new graph.
  const fresh = snapshot.state.kind === 'connecting' && (!prev || prev.kind === 'idle' || prev.kind === 'failed');
  return {
    ...m,
    snapshot,
    stats: snapshot.stats,
    stateSinceMs: changed ? atMs : m.stateSinceMs,
    samples: fresh ? [] : m.samples,
  };
}

function reduce(m: VpnModel, a: Action): VpnModel {
  switch (a.type) {
    case 'loaded': {
      const withState = m.snapshot || !a.snapshot ? m : applyState(m, a.snapshot, Date.now());
      // Main's history up to the read, then what was pushed since (newer than any of it).
      const newest = a.history.length > 0 ? a.history[a.history.length - 1].atMs : -Infinity;
      const samples = [...a.history, ...withState.samples.filter((s) => s.atMs > newest)].slice(-HISTORY_SECONDS);
      return {
        ...withState,
        samples,
        loaded: true,
        profiles: m.profiles ?? a.profiles,
        profilesError: m.profiles ? null : a.profilesError,
        storeStatus: a.storeStatus,
        loadError: a.error,
      };
    }
    case 'state':
      return applyState(m, a.snapshot, a.atMs);
    case 'stats':
      return { ...m, stats: a.update.stats, samples: [...m.samples, a.update.sample].slice(-HISTORY_SECONDS) };
    case 'profiles':
      return { ...m, profiles: a.profiles, profilesError: null };
    case 'linkLost':
      return { ...m, linkLost: true };
  }
}

function asVpnError(err: unknown): VpnError {
  return err instanceof VpnError ? err : new VpnError('INTERNAL', (err as Error)?.message ?? String(err));
}

export function useVpn(api: VpnApi): VpnModel {
  const [model, dispatch] = useReducer(reduce, initial);

  useEffect(() => {
    let live = true;
    const offs = [
      api.tunnel.listenState((snapshot) => dispatch({ type: 'state', snapshot, atMs: Date.now() })),
      api.tunnel.listenStats((update) => dispatch({ type: 'stats', update })),
      api.profiles.listenChanged((profiles) => dispatch({ type: 'profiles', profiles })),
    ];
    const onLost = () => dispatch({ type: 'linkLost' });
    window.addEventListener('vpn-bridge-lost', onLost);

    void Promise.allSettled([api.tunnel.snapshot(), api.profiles.list(), api.profiles.storeStatus(), api.tunnel.history()]).then(([snap, list, status, history]) => {
      if (!live) return;
      dispatch({
        type: 'loaded',
        snapshot: snap.status === 'fulfilled' ? snap.value : null,
        history: history.status === 'fulfilled' ? history.value : [],
        profiles: list.status === 'fulfilled' ? list.value : null,
        profilesError: list.status === 'rejected' ? asVpnError(list.reason) : null,
        storeStatus: status.status === 'fulfilled' ? status.value : null,
        error: snap.status === 'rejected' ? asVpnError(snap.reason) : null,
      });
    });
    return () => {
      live = false;
      offs.forEach((off) => off());
      window.removeEventListener('vpn-bridge-lost', onLost);
    };
  }, [api]);

  return model;
}
