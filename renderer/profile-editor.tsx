// Add or edit a profile: inline validation as you go (the same schema main checks with), Save only
// when valid, and main's own objections (name taken, a field it refused) shown at their fields.
// Enter saves, Escape cancels.
import { type ChangeEvent, type ReactNode, useId, useMemo, useState } from 'react';
import { VpnError } from '../contract/ipc-schema';
import type { ProfileDraft } from '../contract/profile-schema';
import { KeyIcon } from './icons';
import { Modal } from './modal';
import { type FieldErrors, type FormField, type ProfileFormValues, fieldErrors, generateKey, validateForm } from './profile-form';

export interface ProfileEditorProps {
  mode: 'create' | 'edit';
  initial: ProfileFormValues;
  /** Shown above the form, e.g. "changes apply on the next connect". */
  note?: string | null;
  /** The other profiles' names: a taken name is flagged while typing. */
  takenNames?: readonly string[];
  /** Saves; throws a VpnError main answered with. */
  onSave: (draft: ProfileDraft) => Promise<void>;
  onClose: () => void;
}

export function ProfileEditor({ mode, initial, note, takenNames = [], onSave, onClose }: ProfileEditorProps) {
  const [values, setValues] = useState(initial);
  const [touched, setTouched] = useState<ReadonlySet<FormField>>(new Set());
  const [serverErrors, setServerErrors] = useState<FieldErrors>({});
  const [saving, setSaving] = useState(false);
  const { draft, errors, warnings } = useMemo(() => validateForm(values, takenNames), [values, takenNames]);
  const ids = { name: useId(), server: useId(), port: useId(), uuid: useId(), enc: useId(), auto: useId(), dns: useId() };

  // A taken name is known at once: flagged while typing, not only after leaving the field.
  const nameTaken = errors.name?.startsWith('A profile named') ?? false;
  const errorOf = (f: FormField): string | undefined =>
    serverErrors[f] ?? (touched.has(f) || (f === 'name' && nameTaken) ? errors[f] : undefined);
  const touch = (f: FormField) => setTouched((t) => (t.has(f) ? t : new Set(t).add(f)));

  const set = <K extends keyof ProfileFormValues>(key: K, value: ProfileFormValues[K]) => {
    setValues((v) => ({ ...v, [key]: value }));
    setServerErrors((e) => {
      if (!(key in e) && !e.form) return e;
      const rest = { ...e };
      delete rest[key as FormField];
      delete rest.form;
      return rest;
    });
  };
  const text = (key: FormField) => (e: ChangeEvent<HTMLInputElement>) => set(key, e.target.value);

  const submit = async () => {
    if (!draft || saving) {
      setTouched(new Set(['name', 'server', 'port', 'uuid']));
      return;
    }
    setSaving(true);
    try {
      await onSave(draft);
    } catch (err) {
      const e = err instanceof VpnError ? err : new VpnError('INTERNAL', (err as Error).message);
      setServerErrors(e.problems.length > 0 ? fieldErrors(e.problems) : { form: e.message });
      setSaving(false);
    }
  };

  const invalidTouched = !draft && [...touched].some((f) => errors[f]);
  const title = mode === 'create' ? 'Add a profile' : `Edit “${initial.name}”`;

  return (
    <Modal title={title} onClose={onClose} busy={saving}>
      <form className="editor" noValidate onSubmit={(e) => { e.preventDefault(); void submit(); }}>
        <div className="modal-body">
          {note ? <p className="note">{note}</p> : null}
          {serverErrors.form ? <p className="form-error" role="alert">{serverErrors.form}</p> : null}

          <Field id={ids.name} label="Name" error={errorOf('name')}>
            <input id={ids.name} type="text" value={values.name} maxLength={100} data-autofocus autoComplete="off"
              placeholder="Office" onChange={text('name')} onBlur={() => touch('name')} {...invalid(ids.name, errorOf('name'), false)} />
          </Field>

          <div className="field-row">
            <Field id={ids.server} label="Server" hint={warnings.server ?? 'IPv6 address or host name'} hintTone={warnings.server ? 'warn' : undefined}
              error={errorOf('server')} grow>
              <input id={ids.server} type="text" value={values.server} spellCheck={false} autoCapitalize="off" autoComplete="off"
                placeholder="fd00::1 or vpn.example.org" onChange={text('server')} onBlur={() => touch('server')}
                {...invalid(ids.server, errorOf('server'))} />
            </Field>
            <Field id={ids.port} label="Port" error={errorOf('port')} narrow>
              <input id={ids.port} type="text" inputMode="numeric" value={values.port} autoComplete="off"
                onChange={text('port')} onBlur={() => touch('port')} {...invalid(ids.port, errorOf('port'), false)} />
            </Field>
          </div>

          <div className="check">
            <input id={ids.enc} type="checkbox" checked={values.encryption}
              onChange={(e) => set('encryption', e.target.checked)} />
            <label htmlFor={ids.enc}>Encrypt traffic <span className="muted">(needs the server’s key)</span></label>
          </div>

          <Field id={ids.uuid} label="Key" hint={values.encryption ? 'A UUID; the server must use the same key' : 'Not used while encryption is off'}
            error={values.encryption ? errorOf('uuid') : undefined}>
            <div className="input-with-button">
              <input id={ids.uuid} type="text" className="mono" value={values.uuid} disabled={!values.encryption}
                spellCheck={false} autoCapitalize="off" autoComplete="off" placeholder="xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"
                onChange={text('uuid')} onBlur={() => touch('uuid')} {...invalid(ids.uuid, values.encryption ? errorOf('uuid') : undefined)} />
              <button type="button" className="btn" disabled={!values.encryption}
                onClick={() => { set('uuid', generateKey()); touch('uuid'); }}>
                <KeyIcon /> Generate
              </button>
            </div>
          </Field>

          <div className="check">
            <input id={ids.auto} type="checkbox" checked={values.autoReconnect} onChange={(e) => set('autoReconnect', e.target.checked)} />
            <label htmlFor={ids.auto}>Reconnect automatically when the connection drops</label>
          </div>
          <div className="check">
            <input id={ids.dns} type="checkbox" checked={values.dns} onChange={(e) => set('dns', e.target.checked)} />
            <label htmlFor={ids.dns}>Use the server’s DNS servers while connected</label>
          </div>
        </div>

        <div className="modal-actions">
          {invalidTouched ? <span className="actions-note">Fix the marked fields to save</span> : null}
          <button type="button" className="btn" onClick={onClose} disabled={saving}>Cancel</button>
          <button type="submit" className="btn btn-primary" disabled={!draft || saving}>
            {saving ? 'Saving…' : mode === 'create' ? 'Add profile' : 'Save'}
          </button>
        </div>
      </form>
    </Modal>
  );
}

/** Ties an input to its error (or hint) text for screen readers. */
function invalid(id: string, error: string | undefined, hasHint = true) {
  if (error) return { 'aria-invalid': true as const, 'aria-describedby': `${id}-error` };
  return hasHint ? { 'aria-describedby': `${id}-hint` } : {};
}

function Field({ id, label, hint, hintTone, error, children, grow, narrow }: {
  id: string; label: string; hint?: string; hintTone?: 'warn'; error?: string; children: ReactNode; grow?: boolean; narrow?: boolean;
}) {
  return (
    <div className={`field${grow ? ' grow' : ''}${narrow ? ' narrow' : ''}${error ? ' has-error' : ''}`}>
      <label htmlFor={id}>{label}</label>
      {children}
      {error
        ? <p id={`${id}-error`} className="field-error">{error}</p>
        : hint ? <p id={`${id}-hint`} className={`field-hint${hintTone ? ` field-${hintTone}` : ''}`} data-tone={hintTone}>{hint}</p> : null}
    </div>
  );
}
