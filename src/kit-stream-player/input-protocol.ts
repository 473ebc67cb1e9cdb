/**
 * Kit's binary input protocol on the `input_channel_v1` data channel: event encoders and the channel framing.
 * Each event starts with its type as u32 little-endian; every other multi-byte field is big-endian, and timestamps are
 * u64 microseconds since streaming started.
 */

import type { KitInputSink } from './connector.js';

/** Marker byte before each event in the framed format, and before every text chunk in either format. */
const EVENT_MARKER = 0x22;

function writeU64(view: DataView, offset: number, value: number): void {
  const whole = Math.max(0, Math.round(value)) || 0;
  view.setUint32(offset, Math.floor(whole / 2 ** 32));
  view.setUint32(offset + 4, whole >>> 0);
}

/**
 * An event of `length` bytes: the type (u32 LE), `fields` as u16 BE at offsets 4, 6, 8…, and when given the timestamp
 * (u64 BE µs) in the last 8 bytes. Bytes not written stay 0, as the protocol wants for its unused fields.
 */
function newEvent(type: number, length: number, fields: number[], timestampUs?: number): Uint8Array {
  const bytes = new Uint8Array(length);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, type, true);
  fields.forEach((value, i) => view.setUint16(4 + 2 * i, value));
  if (timestampUs !== undefined) writeU64(view, length - 8, timestampUs);
  return bytes;
}

/** Absolute pointer position (type 5) in CSS pixels of the displayed picture, which is `refWidth`×`refHeight`. */
export function encodeMouseMove(x: number, y: number, refWidth: number, refHeight: number, timestampUs: number): Uint8Array {
  return newEvent(5, 26, [x, y, 0, refWidth, refHeight], timestampUs);
}

/** Button press or release (types 8/9); `button` is the DOM button + 1 (1 left, 2 middle, 3 right, 4 back, 5 forward). */
export function encodeMouseButton(down: boolean, button: number, timestampUs: number): Uint8Array {
  return newEvent(down ? 8 : 9, 18, [button << 8], timestampUs); // u8 button, then u8 0
}

/** Vertical wheel (type 10): Kit takes positive as "wheel up", the opposite of the DOM's `deltaY`. */
export function encodeWheel(deltaY: number, timestampUs: number): Uint8Array {
  // An i16 after an unused horizontal i16; the u16 write keeps a negative value's two's complement bits.
  return newEvent(10, 22, [0, Math.min(Math.max(Math.trunc(-deltaY) || 0, -32768), 32767)], timestampUs);
}

/** Key press or release (types 3/4) by Windows virtual key; no scancode is sent, as in NVIDIA's client. */
export function encodeKey(down: boolean, virtualKey: number, modifiers: number, timestampUs: number): Uint8Array {
  return newEvent(down ? 3 : 4, 18, [virtualKey, modifiers], timestampUs);
}

/** Lock-key state (type 19), from {@link lockKeyFlags}. */
export function encodeLockKeys(flags: number): Uint8Array {
  const bytes = newEvent(19, 5, []);
  bytes[4] = flags;
  return bytes;
}

/** Input heartbeat (type 2). */
export function encodeHeartbeat(): Uint8Array {
  return newEvent(2, 10, []);
}

/**
 * Text as type-23 events, each `0x22`, u32 LE 23, then at most 1016 bytes of UTF-8 split between characters.
 * The `0x22` is part of every chunk in both formats: NVIDIA's client always writes it and never adds the send-time header.
 */
export function encodeText(text: string): Uint8Array[] {
  const utf8 = new TextEncoder().encode(text);
  const chunks: Uint8Array[] = [];
  for (let start = 0; start < utf8.length;) {
    let end = Math.min(start + 1016, utf8.length);
    // Step back over continuation bytes (10xxxxxx) so that no character is cut in two.
    while (end < utf8.length && (utf8[end] & 0xc0) === 0x80) end--;
    const bytes = new Uint8Array(end - start + 5);
    bytes.set([EVENT_MARKER, 23]); // 23 is the type, u32 LE at 1
    bytes.set(utf8.subarray(start, end), 5);
    chunks.push(bytes);
    start = end;
  }
  return chunks;
}

/** Windows virtual keys of `KeyboardEvent.code` values that no pattern below covers. */
// prettier-ignore
const VIRTUAL_KEYS: Record<string, number> = {
  Backspace: 0x08, Tab: 0x09, NumpadClear: 0x0c, Enter: 0x0d, NumpadEnter: 0x0d, Pause: 0x13, CapsLock: 0x14,
  Lang1: 0x15, Lang2: 0x19, Escape: 0x1b, Space: 0x20, PageUp: 0x21, PageDown: 0x22, End: 0x23, Home: 0x24,
  ArrowLeft: 0x25, ArrowUp: 0x26, ArrowRight: 0x27, ArrowDown: 0x28,
  // 0x2A (VK_PRINT), not VK_SNAPSHOT: it is what NVIDIA's client sends for this key.
  PrintScreen: 0x2a, Insert: 0x2d, Delete: 0x2e,
  MetaLeft: 0x5b, OSLeft: 0x5b, MetaRight: 0x5c, OSRight: 0x5c, ContextMenu: 0x5d,
  NumpadMultiply: 0x6a, NumpadAdd: 0x6b, NumpadSubtract: 0x6d, NumpadDecimal: 0x6e, NumpadDivide: 0x6f,
  NumLock: 0x90, ScrollLock: 0x91, ShiftLeft: 0xa0, ShiftRight: 0xa1, ControlLeft: 0xa2, ControlRight: 0xa3,
  AltLeft: 0xa4, AltRight: 0xa5, Semicolon: 0xba, Equal: 0xbb, NumpadEqual: 0xbb, Comma: 0xbc, NumpadComma: 0xbc,
  Minus: 0xbd, Period: 0xbe, Slash: 0xbf, Backquote: 0xc0, IntlYen: 0xc1, IntlRo: 0xc2, BracketLeft: 0xdb,
  Backslash: 0xdc, BracketRight: 0xdd, Quote: 0xde, IntlBackslash: 0xe2, KanaMode: 0xe9, Convert: 0xea, NonConvert: 0xeb,
};

/** Windows virtual key of a physical key (`KeyboardEvent.code`), so that the key means the same on every layout; 0 when unknown. */
export function virtualKeyCode(code: string): number {
  const match = /^(?:Key([A-Z])|Digit(\d)|Numpad(\d)|F([1-9]|1\d|2[0-4]))$/.exec(code);
  if (!match) return Object.hasOwn(VIRTUAL_KEYS, code) ? VIRTUAL_KEYS[code] : 0;
  const [, letter, digit, numpad, f] = match;
  if (letter) return letter.charCodeAt(0);
  if (digit) return 0x30 + Number(digit);
  if (numpad) return 0x60 + Number(numpad);
  return 0x6f + Number(f);
}

/** Modifier bits of a key event: 1 Shift, 2 Ctrl, 4 Alt, 8 Meta; a modifier key's own press does not count as held. */
export function modifierFlags(event: { shiftKey: boolean; ctrlKey: boolean; altKey: boolean; metaKey: boolean; code: string }): number {
  const held = (on: boolean, name: string, bit: number) => (on && !event.code.startsWith(name) ? bit : 0);
  return (
    held(event.shiftKey, 'Shift', 1) | held(event.ctrlKey, 'Control', 2) | held(event.altKey, 'Alt', 4) | held(event.metaKey, 'Meta', 8)
  );
}

/** Lock-key flags: 0x10 (valid) | 0x01 CapsLock; Windows clients also report NumLock (0x02) and ScrollLock (0x04), marked valid by 0x60. */
export function lockKeyFlags(event: { getModifierState(key: string): boolean }, windows: boolean): number {
  let flags = 0x10 | (event.getModifierState('CapsLock') ? 1 : 0);
  if (windows) flags |= 0x60 | (event.getModifierState('NumLock') ? 2 : 0) | (event.getModifierState('ScrollLock') ? 4 : 0);
  return flags;
}

/**
 * The protocol version of the server's first message: either the version as u16 LE (`02 00`), or 526 then the version
 * (`0E 02 03 00`). `undefined` when the message is too short to be either.
 */
export function parseInputHandshake(data: ArrayBuffer | ArrayBufferView): number | undefined {
  const view = ArrayBuffer.isView(data) ? new DataView(data.buffer, data.byteOffset, data.byteLength) : new DataView(data);
  if (view.byteLength < 2) return undefined;
  const first = view.getUint16(0, true);
  if (first !== 526) return first; // 526 says the version follows
  return view.byteLength < 4 ? undefined : view.getUint16(2, true);
}

/**
 * Writes input to `input_channel_v1` in the format of the version the server announced. Up to version 2 each message is
 * one raw event; above 2 each is `0x23`, the send time (u64 BE µs), `0x22`, the event. Mouse moves are sent one at a
 * time, so the batching containers of the protocol are never needed.
 */
export class InputChannelWriter implements KitInputSink {
  /** The announced protocol version; 0 (plain format) until the handshake, as in NVIDIA's client. */
  version = 0;
  #handshakeSeen = false;

  constructor(
    private readonly send: (bytes: Uint8Array) => void,
    private readonly clockUs: () => number,
  ) {}

  /**
   * Reads a message from the server. Only the first one matters: it is the handshake, and `true` says it set the version.
   * A first message that is no handshake leaves the plain format in place rather than failing the stream.
   */
  receive(data: ArrayBuffer | ArrayBufferView): boolean {
    if (this.#handshakeSeen) return false;
    this.#handshakeSeen = true;
    const version = parseInputHandshake(data);
    if (version !== undefined) this.version = version;
    return version !== undefined;
  }

  sendEvent(event: Uint8Array): void {
    if (this.version <= 2) return this.send(event);
    // NVIDIA's client frames the heartbeat (type 2) like any event, but without the send-time header.
    const header = event[0] === 2 && !(event[1] | event[2] | event[3]) ? 0 : 9;
    const message = new Uint8Array(header + 1 + event.length);
    if (header) writeU64(new DataView(message.buffer), 1, this.clockUs());
    message[0] = header ? 0x23 : EVENT_MARKER;
    message[header] = EVENT_MARKER;
    message.set(event, header + 1);
    this.send(message);
  }

  sendText(text: string): void {
    for (const chunk of encodeText(text)) this.send(chunk);
  }
}
