/**
 * Kit's `cursor_channel`: binary cursor updates from the server, turned into CSS `cursor` values for the video.
 *
 * Wire form: byte 0 kind (0 system cursor, 1 image, 10 confinement). Kinds 0 and 1: id, hotspot x, hotspot y, MIME
 * length n, n bytes MIME, u16 LE length m, m bytes of base64 image text, then optional position and scale (unused
 * here). Kind 10: byte 1 is 1 when the pointer may leave the picture.
 */

export type CursorUpdate =
  | { kind: 'system'; id: number }
  /** `data` (base64) is absent when the server reuses the image it sent earlier under the same id. */
  | { kind: 'image'; id: number; hotspotX: number; hotspotY: number; mime?: string; data?: string }
  | { kind: 'confine'; allowUnconfined: boolean };

/** Reads one cursor message; `undefined` for anything truncated or unknown. */
export function parseCursorMessage(data: ArrayBuffer | ArrayBufferView): CursorUpdate | undefined {
  let bytes: Uint8Array;
  try {
    // Anything but binary data reads as no bytes.
    bytes = ArrayBuffer.isView(data)
      ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
      : new Uint8Array(data instanceof ArrayBuffer ? data : []);
  } catch {
    return undefined; // A detached buffer.
  }
  const [kind, id, hotspotX, hotspotY, mimeLength] = bytes;
  if (bytes.length < 2) return undefined;
  if (kind === 10) return { kind: 'confine', allowUnconfined: id === 1 };
  // A system cursor needs only its id; whatever follows it is not used.
  if (kind === 0) return { kind: 'system', id };
  const mimeEnd = 5 + mimeLength;
  // NaN, and so refused, when the message ends before a length byte.
  const dataEnd = mimeEnd + 2 + bytes[mimeEnd] + (bytes[mimeEnd + 1] << 8);
  if (kind !== 1 || !(dataEnd <= bytes.length)) return undefined;
  const update: CursorUpdate & { kind: 'image' } = { kind: 'image', id, hotspotX, hotspotY };
  const text = (key: 'mime' | 'data', start: number, end: number) => {
    if (end > start) update[key] = new TextDecoder().decode(bytes.subarray(start, end));
  };
  text('mime', 5, mimeEnd);
  text('data', mimeEnd + 2, dataEnd);
  return update;
}

/** Kit's built-in cursor list, by system-cursor id. */
const systemCursors =
  'none default text wait crosshair progress nwse-resize nesw-resize ew-resize ns-resize move default pointer help'.split(' ');

/** Images kept for reuse by id: each holds up to 64 kB of base64, so the cache stays small. */
const maxCachedImages = 32;
/** The value goes into a style property: anything larger than a cursor image needs is refused. */
const maxImageChars = 256 * 1024;

/** Turns cursor updates into CSS `cursor` values, remembering the images the server may refer to again by id. */
export class CursorStyles {
  readonly #images = new Map<number, string>();

  /** The CSS `cursor` value to set, or `undefined` to leave the cursor as it is. */
  apply(update: CursorUpdate): string | undefined {
    const images = this.#images;
    if (update.kind === 'system') return systemCursors[update.id] ?? 'default';
    if (update.kind !== 'image') return undefined;
    const { id, mime, data } = update;
    if (!data) return images.get(id);
    // The value is spliced into CSS, so only a plain image type and plain base64 may pass: no quotes, no parentheses.
    if (!mime || !/^image\/[a-z0-9.+-]+$/i.test(mime) || data.length > maxImageChars || !/^[A-Za-z0-9+/]*={0,2}$/.test(data)) {
      return undefined;
    }
    const hotspot = (value: number) => (value >= 0 && value <= 65535 ? value | 0 : 0);
    const style = `url("data:${mime};base64,${data}") ${hotspot(update.hotspotX)} ${hotspot(update.hotspotY)}, auto`;
    images.delete(id);
    if (images.set(id, style).size > maxCachedImages) images.delete(images.keys().next().value as number);
    return style;
  }
}
