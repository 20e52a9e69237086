// The Electron entry: wires AppController (all the logic) to the window, tray, notifications, file
// dialogs and ipcMain. Keep it thin: anything worth testing belongs in a module that runs under Node.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import {
  BrowserWindow, Menu, type MenuItemConstructorOptions, Notification, Tray, app, dialog, ipcMain, nativeImage,
} from 'electron';
import type { IpcServerTransport } from '../contract/ipc-schema';
import { AppController } from './app-controller';
import { openElectronStoreBackend } from './electron-store-backend';
import { HelperConnector, defaultHelperCommand } from './helper-launcher';
import { bindController } from './ipc-binding';
import { formatLogEntry } from '../contract/format';
import { openProfileStore } from './profile-store';
import { dotIconPng } from './tray-icons';
import { APP_TITLE, type TrayAction, type TrayIconName, type TrayMenuItem, trayIconName, trayMenu, trayTooltip } from './tray-model';

const APP_ROOT = join(__dirname, '..', '..'); // dist/electron/main.js -> the app root
const PRELOAD = join(__dirname, 'preload.js');
/** The renderer's build (Vite outDir), inside dist/ so packaging takes it along. */
const RENDERER_INDEX = join(APP_ROOT, 'dist', 'renderer', 'index.html');
const TRAY_ICON_DIR = join(APP_ROOT, 'assets', 'tray');
const TRAY_REFRESH_MS = 1000;
const FILE_FILTERS = [{ name: '4over6 profiles', extensions: ['json', 'yaml', 'yml'] }, { name: 'All files', extensions: ['*'] }];

const log = (line: string) => console.log(`${new Date().toISOString()} app ${line}`);

let mainWindow: BrowserWindow | null = null;
let tray: Tray | null = null;
let quitting: 'no' | 'disconnecting' | 'done' = 'no';

if (!app.requestSingleInstanceLock()) {
  app.quit(); // another instance runs: it shows its window (second-instance below)
} else {
  app.on('second-instance', () => showWindow());
  app.on('window-all-closed', () => undefined); // stay in the tray
  app.on('web-contents-created', (_e, contents) => {
    contents.setWindowOpenHandler(() => ({ action: 'deny' }));
    contents.on('will-navigate', (e) => e.preventDefault());
  });
  app.whenReady().then(start).catch((err: Error) => {
    dialog.showErrorBox(APP_TITLE, `The app could not start: ${err.message}`);
    app.exit(1);
  });
}

async function start(): Promise<void> {
  const { store, status } = await openProfileStore(app.getPath('userData'), openElectronStoreBackend);
  const controller = new AppController({
    store,
    storeStatus: status,
    helper: new HelperConnector({ helperCommand: defaultHelperCommand(APP_ROOT), log: (l) => log(`helper: ${l}`) }),
    dialogs: {
      chooseImportFile: async () => {
        const r = await dialog.showOpenDialog({ properties: ['openFile'], filters: FILE_FILTERS });
        return r.canceled ? null : r.filePaths[0] ?? null;
      },
      chooseExportFile: async (defaultName) => {
        const r = await dialog.showSaveDialog({ defaultPath: defaultName, filters: FILE_FILTERS });
        return r.canceled || !r.filePath ? null : r.filePath;
      },
      chooseDiagnosticsFile: async (defaultName) => {
        const r = await dialog.showSaveDialog({ defaultPath: defaultName, filters: [{ name: 'Diagnostics', extensions: ['json'] }] });
        return r.canceled || !r.filePath ? null : r.filePath;
      },
    },
  });

  const transport: IpcServerTransport = {
    handle: (channel, handler) => ipcMain.handle(channel, (event, request: unknown) =>
      // Only our own window may drive the app.
      (mainWindow && event.sender === mainWindow.webContents ? handler(request)
        : { ok: false, error: { code: 'BAD_REQUEST', message: 'request from an unknown page' } })),
    publish: (channel, payload) => {
      if (mainWindow && !mainWindow.isDestroyed()) mainWindow.webContents.send(channel, payload);
    },
  };
  bindController(controller, transport, log);
  controller.on('tunnelState', () => refreshTray(controller));
  controller.on('log', (e) => console.log(formatLogEntry(e)));
  controller.on('notification', (n) => {
    if (Notification.isSupported()) new Notification({ title: n.title, body: n.body }).show();
  });
  if (status.recovery) log(`profiles file was invalid; moved to ${status.recovery.backupPath}, kept ${status.recovery.kept} profile(s)`);

  app.on('before-quit', (e) => {
    if (quitting === 'done') return;
    e.preventDefault();
    if (quitting === 'disconnecting') return;
    quitting = 'disconnecting';
    void controller.shutdown().finally(() => {
      quitting = 'done';
      app.quit();
    });
  });

  createWindow();
  tray = new Tray(trayImage('disconnected'));
  refreshTray(controller);
  setInterval(() => refreshTray(controller), TRAY_REFRESH_MS);
  await controller.start();
}

function createWindow(): void {
  mainWindow = new BrowserWindow({
    width: 960,
    height: 680,
    title: APP_TITLE,
    show: false,
    webPreferences: { preload: PRELOAD, contextIsolation: true, nodeIntegration: false, sandbox: true },
  });
  mainWindow.once('ready-to-show', () => mainWindow?.show());
  // Closing the window keeps the app (and the tunnel) running in the tray.
  mainWindow.on('close', (e) => {
    if (quitting !== 'no') return;
    e.preventDefault();
    mainWindow?.hide();
  });
  void mainWindow.loadFile(RENDERER_INDEX);
}

function showWindow(): void {
  if (!mainWindow || mainWindow.isDestroyed()) createWindow();
  mainWindow?.show();
  mainWindow?.focus();
}

// ---- tray --------------------------------------------------------------------------------------

let shownIcon: TrayIconName | null = null;
let shownMenu = '';

function refreshTray(controller: AppController): void {
  if (!tray) return;
  const snapshot = controller.snapshot();
  tray.setToolTip(trayTooltip(snapshot));
  const icon = trayIconName(snapshot);
  if (icon !== shownIcon) {
    tray.setImage(trayImage(icon));
    shownIcon = icon;
  }
  let profiles: ReturnType<AppController['profiles']> = [];
  try {
    profiles = controller.profiles();
  } catch {
    // a broken profiles file is reported in the window; the tray still offers Disconnect and Quit
  }
  const model = trayMenu(snapshot, profiles);
  const key = JSON.stringify(model);
  if (key !== shownMenu) {
    tray.setContextMenu(Menu.buildFromTemplate(model.map((item) => toMenuItem(item, controller))));
    shownMenu = key;
  }
}

function toMenuItem(item: TrayMenuItem, controller: AppController): MenuItemConstructorOptions {
  switch (item.kind) {
    case 'separator': return { type: 'separator' };
    case 'label': return { label: item.label, enabled: false };
    case 'action': return {
      label: item.label,
      enabled: item.enabled,
      ...(item.checked === undefined ? {} : { type: 'checkbox' as const, checked: item.checked }),
      click: () => perform(item.action, controller),
    };
  }
}

function perform(action: TrayAction, controller: AppController): void {
  const report = (err: Error) => {
    if (Notification.isSupported()) new Notification({ title: APP_TITLE, body: err.message }).show();
  };
  switch (action.type) {
    case 'connect': controller.connect(action.profileId).catch(report); break;
    case 'disconnect': controller.disconnect().catch(report); break;
    case 'showWindow': showWindow(); break;
    case 'quit': app.quit(); break;
  }
}

function trayImage(name: TrayIconName): Electron.NativeImage {
  const designed = join(TRAY_ICON_DIR, `${name}.png`);
  return existsSync(designed) ? nativeImage.createFromPath(designed) : nativeImage.createFromBuffer(dotIconPng(name));
}
