// The demo's Electron window: `electron dist/demo/electron-window.js`, started by demo.ts as the user
// who ran sudo. It reads the bridge's URL, token included, from stdin: on a command line every local
// user could read the token in `ps` and drive the demo's root helper.
import { BrowserWindow, app } from 'electron';

function readUrl(): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', (chunk: string) => {
      text += chunk;
      if (text.length > 4096) reject(new Error('no URL on stdin'));
    });
    process.stdin.on('end', () => resolve(text.trim()));
    process.stdin.on('error', reject);
  });
}

async function main(): Promise<void> {
  const url = await readUrl();
  if (!/^http:\/\/127\.0\.0\.1:\d+\/\?token=[0-9a-f]+$/.test(url)) throw new Error('expected the demo bridge URL on stdin');
  await app.whenReady();
  const window = new BrowserWindow({ width: 1100, height: 760, webPreferences: { sandbox: true, contextIsolation: true } });
  window.setMenuBarVisibility(false);
  await window.loadURL(url);
  app.on('window-all-closed', () => app.quit());
}

main().catch((err: Error) => {
  console.error(`4over6 demo window: ${err.message}`);
  app.exit(1);
});
