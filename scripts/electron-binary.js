#!/usr/bin/env node
// The Electron binary, apart from `npm ci` (see .npmrc): only the desktop window needs it.
//   node scripts/electron-binary.js fetch   download it (electron's own installer; honours ELECTRON_MIRROR)
//   node scripts/electron-binary.js check   exit 1 with the way to get it when it is missing
const { spawnSync } = require('node:child_process');
const { existsSync, readFileSync } = require('node:fs');
const { join } = require('node:path');

const ELECTRON_DIR = join(__dirname, '..', 'node_modules', 'electron');

/** The binary's path when electron's installer completed, else null. */
function installedBinary() {
  try {
    const binary = join(ELECTRON_DIR, 'dist', readFileSync(join(ELECTRON_DIR, 'path.txt'), 'utf8').trim());
    return existsSync(binary) ? binary : null;
  } catch {
    return null;
  }
}

const command = process.argv[2];
if (command === 'check') {
  if (installedBinary()) process.exit(0);
  console.error('The Electron binary is not installed (npm ci does not download it).\n'
    + 'Fetch it once with:  npm run fetch-electron   (about 100 MB from Electron\'s release host,\n'
    + 'or from the mirror in ELECTRON_MIRROR). The demo (sudo npm run demo) needs no Electron.');
  process.exit(1);
} else if (command === 'fetch') {
  if (!existsSync(join(ELECTRON_DIR, 'install.js'))) {
    console.error('node_modules/electron is missing: run npm ci first');
    process.exit(1);
  }
  // Electron's installer does nothing when this is set; asking for the binary means we want it.
  const env = { ...process.env };
  delete env.ELECTRON_SKIP_BINARY_DOWNLOAD;
  const r = spawnSync(process.execPath, [join(ELECTRON_DIR, 'install.js')], { stdio: 'inherit', env });
  const binary = installedBinary();
  if (r.status !== 0 || !binary) {
    console.error('Could not fetch the Electron binary (see above). Behind a proxy or mirror, set ELECTRON_MIRROR.');
    process.exit(1);
  }
  console.log(`Electron is installed: ${binary}`);
} else {
  console.error('usage: node scripts/electron-binary.js fetch | check');
  process.exit(2);
}
