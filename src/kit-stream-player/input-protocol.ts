/**
 * Kit's binary input protocol on the `input_channel_v1` data channel: event encoders and the channel framing.
 * Each event starts with its type as u32 little-endian; every other multi-byte field is big-endian, and timestamps are
 * u64 microseconds since streaming started.
 */

import type { KitInputSink } from './connector.js';

/** Marker byte before each event in the framed format, and before every text chunk in either format. */
const EVENT_MARKER = 0x22;

/** `value` as u64 BE, rounded and never negative. `setUint32` keeps the low 32 bits of the whole part of what it gets. */
function writeU64(view: DataView, offset: number, value: number): void {
  const whole = Math.max(0, Math.round(value)) || 0;
  view.setUint32(offset, whole / 2 ** 32);
  view.setUint32(offset + 4, whole);
}

/**
 * An event of `length` bytes: the type (u32 LE), `fields` as u16 BE at offsets 4, 6, 8…, and when given the timestamp
 * (u64 BE µs) in the last 8 bytes. Bytes not written stay 0, as the protocol wants for its unused fields.
 */
function newEvent(type: number, length: number, fields: number[], timestampUs?: number): Uint8Array {
  const bytes = new Uint8Array(length);
  const view = new DataView(bytes.buffer);
  bytes[0] = type; // types are below 256: the other three bytes of the u32 LE stay 0
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
  return Uint8Array.of(19, 0, 0, 0, flags);
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
  for (let start = 0, end; start < utf8.length; start = end) {
    end = Math.min(start + 1016, utf8.length);
    // Step back over continuation bytes (10xxxxxx) so that no character is cut in two.
    while ((utf8[end] & 0xc0) === 0x80) end--;
    const bytes = new Uint8Array(end - start + 5);
    bytes.set([EVENT_MARKER, 23]); // 23 is the type, u32 LE at 1
    bytes.set(utf8.subarray(start, end), 5);
    chunks.push(bytes);
  }
  return chunks;
}

/**
 * Windows virtual keys by `KeyboardEvent.code`. The irregular ones are listed as runs: a number sets the key code of
 * the name it precedes, each further name takes the next code, and names joined by `/` share one. PrintScreen is 0x2A
 * (VK_PRINT), not VK_SNAPSHOT: it is what NVIDIA's client sends for this key.
 */
const VIRTUAL_KEYS = new Map<string, number>();
{
  let key = 0;
  for (const [, code, names] of (
    '8Backspace Tab 12NumpadClear Enter/NumpadEnter 19Pause CapsLock Lang1 25Lang2 27Escape 32Space PageUp PageDown ' +
    'End Home ArrowLeft ArrowUp ArrowRight ArrowDown 42PrintScreen 45Insert Delete 91MetaLeft/OSLeft MetaRight/OSRight ' +
    'ContextMenu 106NumpadMultiply NumpadAdd 109NumpadSubtract NumpadDecimal NumpadDivide 144NumLock ScrollLock ' +
    '160ShiftLeft ShiftRight ControlLeft ControlRight AltLeft AltRight 186Semicolon Equal/NumpadEqual ' +
    'Comma/NumpadComma Minus Period Slash Backquote IntlYen IntlRo 219BracketLeft Backslash BracketRight Quote ' +
    '226IntlBackslash 233KanaMode Convert NonConvert'
  ).matchAll(/(\d*)(\S+)/g)) {
    key = Number(code) || key + 1;
    for (const name of names.split('/')) VIRTUAL_KEYS.set(name, key);
  }
  // Letters (0x41…), digits (0x30…), keypad digits (0x60…) and F1…F24 (0x70…).
  for (let i = 0; i < 26; i++) {
    VIRTUAL_KEYS.set(`Key${String.fromCharCode(65 + i)}`, 65 + i);
    if (i < 10) VIRTUAL_KEYS.set(`Digit${i}`, 48 + i).set(`Numpad${i}`, 96 + i);
    if (i < 24) VIRTUAL_KEYS.set(`F${i + 1}`, 112 + i);
  }
}

/** Windows virtual key of a physical key (`KeyboardEvent.code`), so that the key means the same on every layout; 0 when unknown. */
export function virtualKeyCode(code: string): number {
  return VIRTUAL_KEYS.get(code) ?? 0;
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
  const on = (key: string, bit: number) => (event.getModifierState(key) ? bit : 0);
  return 0x10 | on('CapsLock', 1) | (windows ? 0x60 | on('NumLock', 2) | on('ScrollLock', 4) : 0);
}

/**
 * The protocol version of the server's first message: either the version as u16 LE (`02 00`), or 526 then the version
 * (`0E 02 03 00`). `undefined` when the message is too short to be either.
 */
export function parseInputHandshake(data: ArrayBuffer | ArrayBufferView): number | undefined {
  const bytes = ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : new Uint8Array(data);
  const u16 = (at: number) => (bytes.length < at + 2 ? undefined : bytes[at] | (bytes[at + 1] << 8));
  const first = u16(0);
  return first === 526 ? u16(2) : first; // 526 says the version follows
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
  readonly #send: (bytes: Uint8Array) => void;
  readonly #clockUs: () => number;

  constructor(send: (bytes: Uint8Array) => void, clockUs: () => number) {
    this.#send = send;
    this.#clockUs = clockUs;
  }

  /**
   * Reads a message from the server. Only the first one matters: it is the handshake, and `true` says it set the version.
   * A first message that is no handshake leaves the plain format in place rather than failing the stream.
   */
  receive(data: ArrayBuffer | ArrayBufferView): boolean {
    const version = this.#handshakeSeen ? undefined : parseInputHandshake(data);
    this.#handshakeSeen = true;
    if (version === undefined) return false;
    this.version = version;
    return true;
  }

  sendEvent(event: Uint8Array): void {
    if (this.version <= 2) return this.#send(event);
    // NVIDIA's client frames the heartbeat (type 2) like any event, but without the send-time header.
    const header = event[0] === 2 && !(event[1] | event[2] | event[3]) ? 0 : 9;
    const message = new Uint8Array(header + 1 + event.length);
    if (header) writeU64(new DataView(message.buffer), 1, this.#clockUs());
    message[0] = header ? 0x23 : EVENT_MARKER;
    message[header] = EVENT_MARKER;
    message.set(event, header + 1);
    this.#send(message);
  }

  sendText(text: string): void {
    for (const chunk of encodeText(text)) this.#send(chunk);
  }
}
