// Fallback tray icons: a filled dot per state, drawn as a PNG in code, so the tray is never blank
// while no designed icons are installed (assets/tray/<state>.png, preferred when present).
import { crc32, deflateSync } from 'node:zlib';
import type { TrayIconName } from './tray-model';

export const TRAY_ICON_PX = 22; // the freedesktop tray/AppIndicator size

const COLORS: Record<TrayIconName, [number, number, number]> = {
  disconnected: [0x8a, 0x8a, 0x8a],
  connecting: [0xe0, 0xa0, 0x00],
  connected: [0x2e, 0x9e, 0x44],
  error: [0xd0, 0x30, 0x30],
};

export function dotIconPng(name: TrayIconName, size = TRAY_ICON_PX): Buffer {
  const [r, g, b] = COLORS[name];
  const rows: Buffer[] = [];
  const c = (size - 1) / 2;
  const radius = size * 0.4;
  for (let y = 0; y < size; y++) {
    const row = Buffer.alloc(1 + size * 4); // leading 0: PNG filter "none"
    for (let x = 0; x < size; x++) {
      // One pixel of soft edge, so the dot is not jagged.
      const alpha = Math.max(0, Math.min(1, radius + 0.5 - Math.hypot(x - c, y - c)));
      row.set([r, g, b, Math.round(alpha * 255)], 1 + x * 4);
    }
    rows.push(row);
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header.set([8, 6, 0, 0, 0], 8); // 8-bit RGBA, deflate, no filter set, no interlace
  return Buffer.concat([
    Buffer.from('89504e470d0a1a0a', 'hex'),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(Buffer.concat(rows))),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'ascii');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])) >>> 0, 0);
  return Buffer.concat([head, data, crc]);
}
