#!/usr/bin/env node
// Draws Lattice's icons (app icon and the tray's four states) and writes them as PNGs into build/.
// Pure Node: shapes are signed-distance functions, anti-aliased by coverage, encoded with zlib, so
// the committed PNGs can be reproduced byte for byte with `node scripts/make-icons.mjs`.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';

const root = new URL('..', import.meta.url).pathname;

// --- PNG encoding ---------------------------------------------------------------------------------
const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf) {
  let c = 0xffffffff;
  for (const byte of buf) c = CRC_TABLE[(c ^ byte) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type, data) {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'ascii');
  data.copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}
/** RGBA pixels (Float32 0..1, premultiplied) → PNG bytes. */
export function encodePng(size, pixels) {
  const raw = Buffer.alloc(size * (size * 4 + 1));
  for (let y = 0; y < size; y++) {
    raw[y * (size * 4 + 1)] = 0; // filter: none
    for (let x = 0; x < size; x++) {
      const i = (y * size + x) * 4;
      const a = pixels[i + 3];
      const o = y * (size * 4 + 1) + 1 + x * 4;
      for (let c = 0; c < 3; c++) raw[o + c] = a > 0 ? Math.round(Math.min(1, pixels[i + c] / a) * 255) : 0;
      raw[o + 3] = Math.round(a * 255);
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 6; // RGBA
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

// --- Shapes (signed distance in pixels; negative inside) ------------------------------------------
const circle = (cx, cy, r) => (x, y) => Math.hypot(x - cx, y - cy) - r;
const segment = (ax, ay, bx, by, halfWidth) => (x, y) => {
  const dx = bx - ax;
  const dy = by - ay;
  const t = Math.max(0, Math.min(1, ((x - ax) * dx + (y - ay) * dy) / (dx * dx + dy * dy)));
  return Math.hypot(x - ax - t * dx, y - ay - t * dy) - halfWidth;
};
const roundedSquare = (x0, y0, side, radius) => (x, y) => {
  const h = side / 2;
  const qx = Math.abs(x - (x0 + h)) - (h - radius);
  const qy = Math.abs(y - (y0 + h)) - (h - radius);
  return Math.hypot(Math.max(qx, 0), Math.max(qy, 0)) + Math.min(Math.max(qx, qy), 0) - radius;
};
const union =
  (...shapes) =>
  (x, y) =>
    Math.min(...shapes.map((s) => s(x, y)));

const hex = (color) => [1, 3, 5].map((i) => parseInt(color.slice(i, i + 2), 16) / 255);

/** Paints layers ({shape, color} or {shape, erase: true}) onto a transparent square. */
function render(size, layers) {
  const px = new Float32Array(size * size * 4);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const i = (y * size + x) * 4;
      for (const layer of layers) {
        const coverage = Math.max(0, Math.min(1, 0.5 - layer.shape(x + 0.5, y + 0.5)));
        if (coverage === 0) continue;
        if (layer.erase) {
          for (let c = 0; c < 4; c++) px[i + c] *= 1 - coverage;
          continue;
        }
        const [r, g, b] = hex(layer.color);
        const a = coverage * (layer.alpha ?? 1);
        px[i] = r * a + px[i] * (1 - a);
        px[i + 1] = g * a + px[i + 1] * (1 - a);
        px[i + 2] = b * a + px[i + 2] * (1 - a);
        px[i + 3] = a + px[i + 3] * (1 - a);
      }
    }
  }
  return px;
}

/** The lattice glyph: a 3×3 grid of nodes joined by their rows and columns, inside [x0, x0+w]². */
function lattice(x0, y0, w, nodeRadius, lineHalfWidth) {
  const at = [0.12, 0.5, 0.88].map((t) => t * w);
  const shapes = [];
  for (const a of at) {
    shapes.push(segment(x0 + at[0], y0 + a, x0 + at[2], y0 + a, lineHalfWidth));
    shapes.push(segment(x0 + a, y0 + at[0], x0 + a, y0 + at[2], lineHalfWidth));
  }
  for (const ax of at) for (const ay of at) shapes.push(circle(x0 + ax, y0 + ay, nodeRadius));
  return union(...shapes);
}

function appIcon(size) {
  const s = size / 512;
  return render(size, [
    { shape: roundedSquare(24 * s, 24 * s, 464 * s, 104 * s), color: '#161b26' },
    { shape: lattice(118 * s, 118 * s, 276 * s, 34 * s, 11 * s), color: '#4fd1c5' },
    // The centre node, brighter: "this computer", the one the lattice grows from.
    { shape: circle(256 * s, 256 * s, 44 * s), color: '#e6fffb' },
  ]);
}

const STATE_COLORS = {
  idle: '#9aa0a6',
  running: '#34c759',
  sharing: '#0a84ff',
  problem: '#ff3b30',
};

function trayIcon(size, state) {
  const s = size / 16;
  const dot = { cx: 12 * s, cy: 12 * s, r: 3.6 * s };
  return render(size, [
    { shape: lattice(1 * s, 1 * s, 12.5 * s, 1.6 * s, 0.55 * s), color: '#8e949e' },
    // A transparent ring around the dot keeps it legible over the glyph.
    { shape: circle(dot.cx, dot.cy, dot.r + 1.1 * s), erase: true },
    { shape: circle(dot.cx, dot.cy, dot.r), color: STATE_COLORS[state] },
  ]);
}

function write(path, bytes) {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, bytes);
  console.log(`wrote ${path.slice(root.length)} (${bytes.length} bytes)`);
}

write(join(root, 'build/icon.png'), encodePng(512, appIcon(512)));
for (const size of [512, 256, 128, 64, 32, 16]) {
  write(join(root, `build/icons/${size}x${size}.png`), encodePng(size, appIcon(size)));
}
for (const state of Object.keys(STATE_COLORS)) {
  write(join(root, `build/tray/${state}.png`), encodePng(16, trayIcon(16, state)));
  write(join(root, `build/tray/${state}@2x.png`), encodePng(32, trayIcon(32, state)));
  write(join(root, `build/tray/${state}-32.png`), encodePng(32, trayIcon(32, state)));
  write(join(root, `build/tray/${state}-32@2x.png`), encodePng(64, trayIcon(64, state)));
}
