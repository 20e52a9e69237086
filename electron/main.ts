// The Electron entry: wires AppController (all the logic) to the window, tray, notifications, file
// dialogs and ipcMain. Keep it thin: anything worth testing belongs in a module that runs under Node.
import { join } from 'node:path';
import {
  BrowserWindow, Menu, type MenuItemConstructorOptions, Notification, Tray, app, dialog, ipcMain, nativeImage, nativeTheme,
} from 'electron';
import type { IpcServerTransport } from '../contract/ipc-schema';
import { AppController } from './app-controller';
import { openElectronStoreBackend } from './electron-store-backend';
import { HelperConnector, defaultHelperCommand } from './helper-launcher';
import { bindController } from './ipc-binding';
import { formatLogEntry } from '../contract/format';
import { defaultAutostartPath, xdgAutostart } from './autostart';
import { openProfileStore } from './profile-store';
import { SettingsStore } from './settings-store';
import { encodePng } from './png';
import { type Panel, type TrayIconInput, drawTrayIcon } from './tray-icon';
import { APP_TITLE, type TrayAction, type TrayMenuItem, TrayPlan } from './tray-model';

const APP_ROOT = join(__dirname, '..', '..'); // dist/electron/main.js -> the app root
const PRELOAD = join(__dirname, 'preload.js');
/** The renderer's build (Vite outDir), inside dist/ so packaging takes it along. */
const RENDERER_INDEX = join(APP_ROOT, 'dist', 'renderer', 'index.html');
const TRAY_REFRESH_MS = 1000;
/** The freedesktop tray/AppIndicator size; a 2x copy is added for HiDPI panels. */
const TRAY_ICON_PX = 22;
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
  const settings = SettingsStore.inDirectory(app.getPath('userData'));
  if (settings.problem) log(settings.problem);
  const controller = new AppController({
    store,
    storeStatus: status,
    settings,
    // An AppImage: its file (the mounted path changes each run); packaged: the app's binary; a checkout: electron and the app's folder.
    autostart: xdgAutostart(defaultAutostartPath(),
      process.env.APPIMAGE ? [process.env.APPIMAGE] : app.isPackaged ? [process.execPath] : [process.execPath, APP_ROOT]),
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
  trayPlan = new TrayPlan(TRAY_ICON_PX, panel());
  nativeTheme.on('updated', () => {
    trayPlan?.setPanel(panel());
    refreshTray(controller);
  });
  const first = trayPlan.update(controller.snapshot(), [], Date.now());
  tray = new Tray(first.icon ? trayImage(first.icon) : nativeImage.createEmpty());
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

let trayPlan: TrayPlan | null = null;

/** Dark or light panel: the system's colour scheme (GNOME's top bar is dark in both; its users pick dark icons). */
function panel(): Panel {
  return nativeTheme.shouldUseDarkColors || process.env.XDG_CURRENT_DESKTOP?.includes('GNOME') ? 'dark' : 'light';
}

/** What TrayPlan says changed, applied; nothing else. */
function refreshTray(controller: AppController): void {
  if (!tray || !trayPlan) return;
  let profiles: ReturnType<AppController['profiles']> = [];
  try {
    profiles = controller.profiles();
  } catch {
    // a broken profiles file is reported in the window; the tray still offers Disconnect and Quit
  }
  const update = trayPlan.update(controller.snapshot(), profiles, Date.now());
  if (update.icon) tray.setImage(trayImage(update.icon));
  if (update.tooltip) tray.setToolTip(update.tooltip);
  if (update.menu) tray.setContextMenu(Menu.buildFromTemplate(update.menu.map((item) => toMenuItem(item, controller))));
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

/** The drawn icon at 1x and 2x. */
function trayImage(input: TrayIconInput): Electron.NativeImage {
  const png = (size: number) => {
    const img = drawTrayIcon({ ...input, size });
    return encodePng(img.width, img.height, img.data);
  };
  const image = nativeImage.createFromBuffer(png(input.size), { scaleFactor: 1 });
  image.addRepresentation({ scaleFactor: 2, buffer: png(input.size * 2) });
  return image;
}
