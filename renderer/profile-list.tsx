// The sidebar list: each profile with its server, port and encryption; select it, or act on it
// (connect, edit, duplicate, delete). Arrow keys move between profiles.
import type { KeyboardEvent } from 'react';
import type { Profile } from '../contract/profile-schema';
import { EncryptionBadge } from './badges';
import { CopyIcon, EditIcon, PowerIcon, TrashIcon } from './icons';
import { endpoint } from './state-view';

export interface ProfileListProps {
  profiles: readonly Profile[];
  selectedId: string | null;
  /** The tunnel's profile and how it is doing, to mark it in the list. */
  activeId: string | null;
  activeLabel: string | null;
  /** Colour of the mark: ok (connected), busy (connecting), warn (reconnecting). */
  activeTone: 'ok' | 'busy' | 'warn';
  /** A tunnel is up or coming up: connecting another profile needs a disconnect first. */
  busy: boolean;
  onSelect: (id: string) => void;
  onConnect: (id: string) => void;
  onEdit: (p: Profile) => void;
  onDuplicate: (p: Profile) => void;
  onDelete: (p: Profile) => void;
}

export function ProfileList(props: ProfileListProps) {
  const onKeyDown = (e: KeyboardEvent<HTMLUListElement>) => {
    if (e.key !== 'ArrowDown' && e.key !== 'ArrowUp') return;
    const buttons = Array.from(e.currentTarget.querySelectorAll<HTMLButtonElement>('.profile-main'));
    const at = buttons.indexOf(document.activeElement as HTMLButtonElement);
    if (at < 0) return;
    e.preventDefault();
    const next = buttons[Math.min(buttons.length - 1, Math.max(0, at + (e.key === 'ArrowDown' ? 1 : -1)))];
    next.focus();
    next.click();
  };

  return (
    <ul className="profile-list" aria-label="Profiles" onKeyDown={onKeyDown} data-testid="profile-list">
      {props.profiles.map((p) => {
        const selected = p.id === props.selectedId;
        const active = p.id === props.activeId;
        return (
          <li key={p.id} className={`profile${selected ? ' selected' : ''}${active ? ` active tone-${props.activeTone}` : ''}`} data-testid="profile-item">
            <button type="button" className="profile-main" aria-current={selected ? 'true' : undefined} onClick={() => props.onSelect(p.id)}>
              <span className="profile-name">
                {active ? <span className="live-dot" aria-hidden="true" /> : null}
                <span className="profile-name-text">{p.name}</span>
                {active && props.activeLabel ? <span className="profile-state">{props.activeLabel}</span> : null}
              </span>
              <span className="profile-server mono">{endpoint(p.server, p.port)}</span>
              <span className="profile-meta">
                <EncryptionBadge on={p.encryption} />
              </span>
            </button>
            <div className="profile-actions">
              <button type="button" className="icon-btn" aria-label={`Connect to ${p.name}`}
                title={props.busy ? 'Disconnect first' : `Connect to ${p.name}`} disabled={props.busy} onClick={() => props.onConnect(p.id)}>
                <PowerIcon />
              </button>
              <button type="button" className="icon-btn" aria-label={`Edit ${p.name}`} title="Edit" onClick={() => props.onEdit(p)}>
                <EditIcon />
              </button>
              <button type="button" className="icon-btn" aria-label={`Duplicate ${p.name}`} title="Duplicate" onClick={() => props.onDuplicate(p)}>
                <CopyIcon />
              </button>
              <button type="button" className="icon-btn danger" aria-label={`Delete ${p.name}`}
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
