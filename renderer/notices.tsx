// Short-lived messages at the bottom of the window (imported, exported, deleted, a call that failed).
// Announced politely to screen readers; errors stay until dismissed, the rest fade after a while.
import { useCallback, useRef, useState } from 'react';
import { CloseIcon } from './icons';

export interface Notice {
  id: number;
  tone: 'info' | 'ok' | 'error';
  text: string;
  /** A download link (browser export), revoked when the notice goes. */
  link?: { href: string; download: string; label: string };
}

const DISMISS_AFTER_MS = 5000;
const MAX_SHOWN = 3;

export function useNotices() {
  const [notices, setNotices] = useState<Notice[]>([]);
  const nextId = useRef(1);
  const dismiss = useCallback((id: number) => {
    setNotices((list) => {
      const gone = list.find((n) => n.id === id);
      if (gone?.link?.href.startsWith('blob:')) setTimeout(() => URL.revokeObjectURL(gone.link!.href), 1000);
      return list.filter((n) => n.id !== id);
    });
  }, []);
  const notify = useCallback((notice: Omit<Notice, 'id'>) => {
    const id = nextId.current++;
    setNotices((list) => [...list.slice(-(MAX_SHOWN - 1)), { ...notice, id }]);
    if (notice.tone !== 'error') setTimeout(() => dismiss(id), notice.link ? DISMISS_AFTER_MS * 3 : DISMISS_AFTER_MS);
  }, [dismiss]);
  return { notices, notify, dismiss };
}

export function Notices({ notices, dismiss }: { notices: readonly Notice[]; dismiss: (id: number) => void }) {
  return (
    <div className="notices" role="status" aria-live="polite" data-testid="notices">
      {notices.map((n) => <NoticeView key={n.id} notice={n} dismiss={dismiss} />)}
    </div>
  );
}

function NoticeView({ notice, dismiss }: { notice: Notice; dismiss: (id: number) => void }) {
  return (
    <div className={`notice notice-${notice.tone}`}>
      <p>
        {notice.text}
        {notice.link ? <> <a href={notice.link.href} download={notice.link.download}>{notice.link.label}</a></> : null}
      </p>
      <button type="button" className="icon-btn" aria-label="Dismiss" onClick={() => dismiss(notice.id)}><CloseIcon /></button>
    </div>
  );
}
