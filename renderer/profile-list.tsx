// The sidebar list: each profile with its server, port and encryption; select it, or act on it
// (connect, edit, duplicate, delete). A listbox with one tab stop (roving tabindex): arrow keys,
// Home and End move the selection; Tab from the selected row reaches that row's actions, and the
// next Tab leaves the list. Other rows' actions are for the mouse (and reachable by selecting the row).
import { type KeyboardEvent, useRef } from 'react';
import type { Profile } from '../contract/profile-schema';
import { EncryptionBadge } from './badges';
import { CopyIcon, EditIcon, PowerIcon, TrashIcon } from './icons';
import { endpoint } from './state-view';

export interface ProfileListProps {
  profiles: readonly Profile[];
  selectedId: string | null;
  /** The profile to mark and how it is doing: the tunnel's, or the one that failed. */
  activeId: string | null;
  activeLabel: string | null;
  /** Colour of the mark: ok (connected), busy (connecting), warn (reconnecting), error (failed). */
  activeTone: 'ok' | 'busy' | 'warn' | 'error';
  /** A tunnel is up or coming up: connecting another profile needs a disconnect first. */
  busy: boolean;
  onSelect: (id: string) => void;
  onConnect: (id: string) => void;
  onEdit: (p: Profile) => void;
  onDuplicate: (p: Profile) => void;
  onDelete: (p: Profile) => void;
}

/** Where a key moves the selection in a list of `count`, or null for keys the list leaves alone. */
export function listKeyTarget(key: string, at: number, count: number): number | null {
  if (count === 0) return null;
  switch (key) {
    case 'ArrowDown': return Math.min(count - 1, at + 1);
    case 'ArrowUp': return Math.max(0, at - 1);
    case 'Home': return 0;
    case 'End': return count - 1;
    default: return null;
  }
}

export function ProfileList(props: ProfileListProps) {
  const list = useRef<HTMLUListElement>(null);
  const { profiles } = props;
  // The one row in the tab order: the selected one, else the first.
  const focusId = profiles.some((p) => p.id === props.selectedId) ? props.selectedId : profiles[0]?.id ?? null;

  const onKeyDown = (e: KeyboardEvent<HTMLElement>, index: number) => {
    if (e.target !== e.currentTarget) return; // keys on a row's buttons are theirs
    if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      props.onSelect(profiles[index].id);
      return;
    }
    const next = listKeyTarget(e.key, index, profiles.length);
    if (next === null) return;
    e.preventDefault();
    props.onSelect(profiles[next].id);
    list.current?.querySelectorAll<HTMLElement>('[role=option]')[next]?.focus();
  };

  return (
    <ul ref={list} className="profile-list" role="listbox" aria-label="Profiles" data-testid="profile-list">
      {profiles.map((p, index) => {
        const selected = p.id === props.selectedId;
        const active = p.id === props.activeId;
        const inTabOrder = p.id === focusId;
        const actionTab = inTabOrder ? 0 : -1;
        const state = active && props.activeLabel ? props.activeLabel : null;
        return (
          <li key={p.id} role="presentation" data-testid="profile-item" data-state={state ?? undefined}
            className={`profile${selected ? ' selected' : ''}${active ? ` active tone-${props.activeTone}` : ''}`}>
            <div role="option" className="profile-main" aria-selected={selected} tabIndex={inTabOrder ? 0 : -1}
              aria-label={`${p.name}${state ? `, ${state}` : ''}, ${endpoint(p.server, p.port)}, ${p.encryption ? 'encrypted' : 'not encrypted'}`}
              onClick={() => props.onSelect(p.id)} onKeyDown={(e) => onKeyDown(e, index)}>
              <span className="profile-name">
                {active ? <span className="live-dot" aria-hidden="true" /> : null}
                <span className="profile-name-text">{p.name}</span>
                {state ? <span className="profile-state">{state}</span> : null}
              </span>
              <span className="profile-server mono">{endpoint(p.server, p.port)}</span>
              <span className="profile-meta">
                <EncryptionBadge on={p.encryption} />
              </span>
            </div>
            <div className="profile-actions">
              <button type="button" className="icon-btn" aria-label={`Connect to ${p.name}`} tabIndex={actionTab}
                title={props.busy ? 'Disconnect first' : `Connect to ${p.name}`} disabled={props.busy} onClick={() => props.onConnect(p.id)}>
                <PowerIcon />
              </button>
              <button type="button" className="icon-btn" aria-label={`Edit ${p.name}`} title="Edit" tabIndex={actionTab} onClick={() => props.onEdit(p)}>
                <EditIcon />
              </button>
              <button type="button" className="icon-btn" aria-label={`Duplicate ${p.name}`} title="Duplicate" tabIndex={actionTab} onClick={() => props.onDuplicate(p)}>
                <CopyIcon />
              </button>
              <button type="button" className="icon-btn danger" aria-label={`Delete ${p.name}`} tabIndex={actionTab}
                title={active && props.busy ? 'In use: disconnect first' : 'Delete'} disabled={active && props.busy} onClick={() => props.onDelete(p)}>
                <TrashIcon />
              </button>
            </div>
          </li>
        );
      })}
    </ul>
  );
}
