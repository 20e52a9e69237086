// A modal built on <dialog>: the browser traps focus and turns Escape into `cancel`; we route that to
// onClose so React state stays the truth, and give focus back to where it was when the dialog closes.
import { type ReactNode, useEffect, useId, useLayoutEffect, useRef } from 'react';

export interface ModalProps {
  title: string;
  onClose: () => void;
  children: ReactNode;
  /** Narrow dialogs for confirmations. */
  size?: 'small' | 'normal';
  /** While true, Escape does nothing (a save is running). */
  busy?: boolean;
}

export function Modal({ title, onClose, children, size = 'normal', busy = false }: ModalProps) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  const busyRef = useRef(busy);
  busyRef.current = busy;

  useLayoutEffect(() => {
    const dialog = ref.current;
    const before = document.activeElement as HTMLElement | null;
    if (dialog && !dialog.open) dialog.showModal();
    // showModal focuses the first focusable element; React's autoFocus ran before it, so say it here.
    dialog?.querySelector<HTMLElement>('[data-autofocus]')?.focus();
    return () => {
      if (dialog?.open) dialog.close();
      if (before && before.isConnected) before.focus();
    };
  }, []);

  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    const onCancel = (e: Event) => {
      e.preventDefault();
      if (!busyRef.current) onClose();
    };
    dialog.addEventListener('cancel', onCancel);
    return () => dialog.removeEventListener('cancel', onCancel);
  }, [onClose]);

  return (
    <dialog ref={ref} className={`modal modal-${size}`} aria-labelledby={titleId}
      onMouseDown={(e) => {
        // A click on the backdrop (the dialog element itself, outside its box) closes it.
        if (e.target === ref.current && !busyRef.current) {
          const r = ref.current.getBoundingClientRect();
          if (e.clientX < r.left || e.clientX > r.right || e.clientY < r.top || e.clientY > r.bottom) onClose();
        }
      }}>
      <h2 id={titleId} className="modal-title">{title}</h2>
      {children}
    </dialog>
  );
}

export interface ConfirmProps {
  title: string;
  message: ReactNode;
  confirmLabel: string;
  danger?: boolean;
  onConfirm: () => void;
  onClose: () => void;
}

/** Enter confirms (the confirm button has focus), Escape cancels. */
export function ConfirmDialog({ title, message, confirmLabel, danger = false, onConfirm, onClose }: ConfirmProps) {
  return (
    <Modal title={title} onClose={onClose} size="small">
      <form method="dialog" onSubmit={(e) => { e.preventDefault(); onConfirm(); }}>
        <div className="modal-body">{message}</div>
        <div className="modal-actions">
          <button type="button" className="btn" onClick={onClose}>Cancel</button>
          <button type="submit" className={danger ? 'btn btn-danger' : 'btn btn-primary'} data-autofocus>{confirmLabel}</button>
        </div>
      </form>
    </Modal>
  );
}
