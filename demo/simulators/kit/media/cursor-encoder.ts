/**
 * Kit's `cursor_channel` messages, server side (KIT-PROTOCOL.md §6): byte 0 kind (0 system cursor,
 * 1 custom image), byte 1 cursor id, bytes 2-3 hotspot x/y, byte 4 MIME length + MIME text, u16 LE
 * length + base64 image text, then optionally u16 LE x, y of the cursor position (0..65535 of the
 * picture). The client reads the u16 image length even for system cursors, so it is always written.
 */

/** Built-in cursors the client knows by index (kind 0). */
export const SYSTEM_CURSOR = {
  none: 0,
  default: 1,
  text: 2,
  wait: 3,
  crosshair: 4,
  progress: 5,
  nwseResize: 6,
  neswResize: 7,
  ewResize: 8,
  nsResize: 9,
  move: 10,
  pointer: 12,
  help: 13,
} as const;

/** Cursor position normalised to 0..65535 of the picture. */
export interface CursorPosition {
  x: number;
  y: number;
}

const KIND_SYSTEM = 0;
const KIND_IMAGE = 1;

/** A built-in cursor by index. */
export function encodeSystemCursor(id: number, position?: CursorPosition): Buffer {
  return encodeCursor(KIND_SYSTEM, id, 0, 0, '', '', position);
}

/**
 * A custom image cursor. With `base64` non-empty the client caches the image under `id`; with `''`
 * it reuses the image it cached for `id` earlier.
 */
export function encodeImageCursor(
  id: number,
  hotspotX: number,
  hotspotY: number,
  mime: string,
  base64: string,
  position?: CursorPosition,
): Buffer {
  return encodeCursor(KIND_IMAGE, id, hotspotX, hotspotY, mime, base64, position);
}

function encodeCursor(
  kind: number,
  id: number,
  hotspotX: number,
  hotspotY: number,
  mime: string,
  base64: string,
  position?: CursorPosition,
): Buffer {
  checkRange('cursor id', id, 0xff);
  checkRange('hotspot x', hotspotX, 0xff);
  checkRange('hotspot y', hotspotY, 0xff);
  const mimeBytes = Buffer.from(mime, 'utf8');
  const imageBytes = Buffer.from(base64, 'utf8');
  checkRange('MIME type length', mimeBytes.length, 0xff);
  checkRange('image length', imageBytes.length, 0xffff);
  const header = Buffer.from([kind, id, hotspotX, hotspotY, mimeBytes.length]);
  const imageLength = Buffer.alloc(2);
  imageLength.writeUInt16LE(imageBytes.length, 0);
  const parts = [header, mimeBytes, imageLength, imageBytes];
  if (position) {
    checkRange('position x', position.x, 0xffff);
    checkRange('position y', position.y, 0xffff);
    const tail = Buffer.alloc(4);
    tail.writeUInt16LE(position.x, 0);
    tail.writeUInt16LE(position.y, 2);
    parts.push(tail);
  }
  return Buffer.concat(parts);
}

function checkRange(what: string, value: number, max: number): void {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new RangeError(`${what} must be an integer in 0..${max}, got ${value}`);
  }
}
