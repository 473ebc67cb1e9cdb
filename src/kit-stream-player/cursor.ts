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
    if (ArrayBuffer.isView(data)) bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    else if (data instanceof ArrayBuffer) bytes = new Uint8Array(data);
    else return undefined;
  } catch {
    return undefined; // A detached buffer.
  }
  if (bytes.length < 2) return undefined;
  const [kind, id] = bytes;
  if (kind === 10) return { kind: 'confine', allowUnconfined: id === 1 };
  // A system cursor needs only its id; whatever follows it is not used.
  if (kind === 0) return { kind: 'system', id };
  if (kind !== 1 || bytes.length < 5) return undefined;
  const mimeEnd = 5 + bytes[4];
  const dataStart = mimeEnd + 2;
  if (dataStart > bytes.length) return undefined;
  const dataEnd = dataStart + bytes[mimeEnd] + (bytes[mimeEnd + 1] << 8);
  if (dataEnd > bytes.length) return undefined;
  const text = (start: number, end: number) => (end > start ? new TextDecoder().decode(bytes.subarray(start, end)) : undefined);
  const update: CursorUpdate = { kind: 'image', id, hotspotX: bytes[2], hotspotY: bytes[3] };
  const mime = text(5, mimeEnd);
  const image = text(dataStart, dataEnd);
  if (mime !== undefined) update.mime = mime;
  if (image !== undefined) update.data = image;
  return update;
}

/** Kit's built-in cursor list, by system-cursor id. */
const systemCursors = [
  'none',
  'default',
  'text',
  'wait',
  'crosshair',
  'progress',
  'nwse-resize',
  'nesw-resize',
  'ew-resize',
  'ns-resize',
  'move',
  'default',
  'pointer',
  'help',
];

/** Images kept for reuse by id: each holds up to 64 kB of base64, so the cache stays small. */
const maxCachedImages = 32;
/** The value goes into a style property: anything larger than a cursor image needs is refused. */
const maxImageChars = 256 * 1024;

/** Turns cursor updates into CSS `cursor` values, remembering the images the server may refer to again by id. */
export class CursorStyles {
  readonly #images = new Map<number, string>();

  /** The CSS `cursor` value to set, or `undefined` to leave the cursor as it is. */
  apply(update: CursorUpdate): string | undefined {
    if (update.kind === 'system') return systemCursors[update.id] ?? 'default';
    if (update.kind !== 'image') return undefined;
    const { id, mime, data } = update;
    if (!data) return this.#images.get(id);
    // The value is spliced into CSS, so only a plain image type and plain base64 may pass: no quotes, no parentheses.
    if (!mime || !/^image\/[a-z0-9.+-]+$/i.test(mime) || data.length > maxImageChars || !/^[A-Za-z0-9+/]*={0,2}$/.test(data)) {
      return undefined;
    }
    const hotspot = (value: number) => (value >= 0 && value <= 65535 ? Math.trunc(value) : 0);
    const style = `url("data:${mime};base64,${data}") ${hotspot(update.hotspotX)} ${hotspot(update.hotspotY)}, auto`;
    this.#images.delete(id);
    this.#images.set(id, style);
    if (this.#images.size > maxCachedImages) this.#images.delete(this.#images.keys().next().value as number);
    return style;
  }
}
