// Import and export. In Electron main shows the file dialogs (profiles.importFile / exportFile); in a
// browser there are none (main answers NOT_SUPPORTED), so a hidden file input feeds importText and
// exportText becomes a download. Import is all-or-nothing: its problems come back as a list.
import { type ChangeEvent, useRef, useState } from 'react';
import { type ImportResult, type ProblemInfo, type VpnApi, VpnError } from '../contract/ipc-schema';
import type { Notice } from './notices';
import { importSummary, plural } from './state-view';

export interface ImportFailure {
  fileName: string | null;
  message: string;
  problems: ProblemInfo[];
}

/** A picked file larger than this is refused here (main refuses it too). */
const MAX_IMPORT_BYTES = 1024 * 1024;

export function useTransfer(api: VpnApi, desktop: boolean, notify: (n: Omit<Notice, 'id'>) => void, onImported: (r: ImportResult) => void) {
  const input = useRef<HTMLInputElement>(null);
  const [dialogs, setDialogs] = useState(desktop);
  const [failure, setFailure] = useState<ImportFailure | null>(null);
  const [busy, setBusy] = useState(false);

  const reportImported = (r: ImportResult, from: string | null) => {
    setFailure(null);
    const parts = [importSummary(r, from)];
    for (const { from: a, to } of r.renamed) parts.push(`“${a}” was renamed “${to}” (the name was taken).`);
    parts.push(...r.warnings);
    notify({ tone: r.imported.length > 0 ? 'ok' : 'info', text: parts.join(' ') });
    onImported(r);
  };

  const reportError = (err: unknown, fileName: string | null) => {
    const e = err instanceof VpnError ? err : new VpnError('INTERNAL', (err as Error).message);
    if (e.problems.length > 0 || e.code === 'IMPORT_INVALID') {
      setFailure({ fileName, message: e.message, problems: e.problems });
    } else {
      notify({ tone: 'error', text: `Import failed: ${e.message}` });
    }
  };

  const startImport = async () => {
    if (!dialogs) {
      input.current?.click();
      return;
    }
    setBusy(true);
    try {
      const r = await api.profiles.importFile();
      if (r) reportImported(r, null);
    } catch (err) {
      if (err instanceof VpnError && err.code === 'NOT_SUPPORTED') {
        setDialogs(false); // no dialogs after all: a click on Import now opens the file picker
        notify({ tone: 'info', text: 'File dialogs are not available here; click Import again to choose a file.' });
      } else {
        reportError(err, null);
      }
    } finally {
      setBusy(false);
    }
  };

  const onFile = async (e: ChangeEvent<HTMLInputElement>) => {
    const file = e.target.files?.[0];
    e.target.value = ''; // the same file can be picked again after fixing it
    if (!file) return;
    if (file.size > MAX_IMPORT_BYTES) {
      setFailure({ fileName: file.name, message: 'too large', problems: [{ source: file.name, entry: null, entryName: null, field: '', message: `the file is ${Math.round(file.size / 1024)} KiB; a profiles file is at most 1 MiB` }] });
      return;
    }
    setBusy(true);
    try {
      reportImported(await api.profiles.importText({ fileName: file.name, text: await file.text() }), file.name);
    } catch (err) {
      reportError(err, file.name);
    } finally {
      setBusy(false);
    }
  };

  const startExport = async () => {
    setBusy(true);
    try {
      if (dialogs) {
        try {
          const r = await api.profiles.exportFile({});
          if (r) notify({ tone: 'ok', text: `Exported ${plural(r.count, 'profile')} to ${r.path}.` });
          return;
        } catch (err) {
          if (!(err instanceof VpnError && err.code === 'NOT_SUPPORTED')) throw err;
          setDialogs(false);
        }
      }
      const r = await api.profiles.exportText({});
      const href = URL.createObjectURL(new Blob([r.text], { type: 'application/json' }));
      const a = document.createElement('a');
      a.href = href;
      a.download = r.fileName;
      document.body.append(a);
      a.click();
      a.remove();
      notify({ tone: 'ok', text: `Exported ${plural(r.count, 'profile')}. The file holds their keys: keep it private.`, link: { href, download: r.fileName, label: `Download ${r.fileName} again` } });
    } catch (err) {
      notify({ tone: 'error', text: `Export failed: ${(err as Error).message}` });
    } finally {
      setBusy(false);
    }
  };

  const fileInput = (
    <input ref={input} type="file" hidden accept=".json,.yaml,.yml,application/json,application/yaml"
      data-testid="import-file" aria-label="Profiles file to import" onChange={(e) => void onFile(e)} />
  );

  return { startImport, startExport, fileInput, failure, clearFailure: () => setFailure(null), busy };
}

