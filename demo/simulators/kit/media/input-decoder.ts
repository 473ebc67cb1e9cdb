/**
 * Kit's binary input protocol on `input_channel_v1`, server side: the version handshake the server
 * sends first, and a strict decoder of what a browser client sends back (KIT-PROTOCOL.md §5).
 *
 * The decoder enforces the framing the server announced, because a client that guesses the
 * framing wrong would work against a lenient simulator and fail against Kit: version ≤ 2 means one
 * raw event per message (or the 0xFF batch container), version > 2 means every message is wrapped
 * as `0x23 <u64 send time µs>` followed by `0x22`-prefixed events. Text chunks (and, in framed
 * mode, the input heartbeat) are the only messages that skip the `0x23` wrapper. Anything that does
 * not fit becomes an `invalid` item with a reason, an event type outside the §5.2 table included;
 * no input bytes make the decoder throw.
 */

/** One input event as the client meant it. Multi-byte fields other than the type are big-endian on the wire. */
export type DecodedInputEvent =
  | { kind: 'heartbeat' }
  | { kind: 'key'; down: boolean; vk: number; modifiers: number; timestampUs: number }
  | { kind: 'move'; x: number; y: number; refWidth: number; refHeight: number; timestampUs: number }
  | { kind: 'relative-move'; dx: number; dy: number; timestampUs: number }
  | { kind: 'button'; down: boolean; button: number; timestampUs: number }
  | { kind: 'wheel'; delta: number; timestampUs: number }
  | { kind: 'lock-keys'; flags: number }
  | { kind: 'text'; text: string }
  /** A §5.2 event the simulated app does not act on (gamepad, haptics, touch, …), checked for size only. */
  | { kind: 'other'; type: number }
  | { kind: 'invalid'; reason: string; hex: string };

/**
 * A decoded event plus how it travelled: `framed` is true when it came through the version > 2
 * parser; `sentAtUs` is the client's send time from the `0x23` wrapper, when there was one.
 */
export type DecodedInput = DecodedInputEvent & { framed: boolean; sentAtUs?: number };

/** Version ≤ 2 announces itself as the bare u16 LE version; later versions as marker 526 (0x020E) + version. */
export function encodeInputHandshake(version: 2 | 3): Buffer {
  return version === 2 ? Buffer.from([0x02, 0x00]) : Buffer.from([0x0e, 0x02, 0x03, 0x00]);
}

const TYPE_HEARTBEAT = 2;
const TYPE_KEY_DOWN = 3;
const TYPE_KEY_UP = 4;
const TYPE_MOVE = 5;
const TYPE_RELATIVE_MOVE = 7;
const TYPE_BUTTON_DOWN = 8;
const TYPE_BUTTON_UP = 9;
const TYPE_WHEEL = 10;
const TYPE_LOCK_KEYS = 19;
const TYPE_TEXT = 23;
const TYPE_TOUCH = 24;

const PREFIX_PLAIN_GROUP = 0x20;
const PREFIX_QUEUED_EVENT = 0x21;
const PREFIX_EVENT = 0x22;
const PREFIX_SEND_TIME = 0x23;
const PREFIX_GROUP_MARK = 0x24;
const PREFIX_PLAIN_BATCH = 0xff;

/** Bytes of the current text chunk limit: the client splits longer text on character boundaries. */
const MAX_TEXT_CHUNK = 1016;
/** The plain group header: 0x20, u16 length, two u64 timestamps. */
const PLAIN_GROUP_HEADER = 19;
/** How much of an offending message an `invalid` item quotes. */
const HEX_QUOTE_LIMIT = 64;

/** Fixed sizes of the event types the client sends, type field included. */
const EVENT_SIZES = new Map<number, { name: string; size: number }>([
  [TYPE_HEARTBEAT, { name: 'heartbeat', size: 10 }],
  [TYPE_KEY_DOWN, { name: 'key down', size: 18 }],
  [TYPE_KEY_UP, { name: 'key up', size: 18 }],
  [TYPE_MOVE, { name: 'absolute move', size: 26 }],
  [TYPE_RELATIVE_MOVE, { name: 'relative move', size: 22 }],
  [TYPE_BUTTON_DOWN, { name: 'button down', size: 18 }],
  [TYPE_BUTTON_UP, { name: 'button up', size: 18 }],
  [TYPE_WHEEL, { name: 'wheel', size: 22 }],
  [12, { name: 'gamepad', size: 38 }],
  [13, { name: 'haptics enable', size: 6 }],
  [17, { name: 'gamepad HID report', size: 72 }],
  [18, { name: 'gamepad connect', size: 10 }],
  [TYPE_LOCK_KEYS, { name: 'lock-key state', size: 5 }],
]);

interface Framing {
  framed: boolean;
  sentAtUs?: number;
}

/**
 * Decodes one binary message received on `input_channel_v1`, given the version the server announced
 * with {@link encodeInputHandshake}. Returns the events in order; problems are `invalid` items.
 */
export function decodeInputMessage(data: Buffer, version: number): DecodedInput[] {
  const out: DecodedInput[] = [];
  try {
    if (data.length === 0) {
      push(out, invalid('empty input message', data), { framed: version > 2 });
    } else if (version > 2) {
      decodeFramed(data, version, out);
    } else {
      decodePlain(data, version, out);
    }
  } catch (error) {
    // Defensive only: every read above is bounds-checked, but a parser of untrusted bytes must not throw.
    push(out, invalid(`decoder error: ${String(error)}`, data), { framed: version > 2 });
  }
  return out;
}

function decodePlain(data: Buffer, version: number, out: DecodedInput[]): void {
  const framing: Framing = { framed: false };
  const first = data[0];
  if (first === PREFIX_SEND_TIME) {
    push(out, invalid(`0x23 send-time wrapper is the framed format, but version ${version} (plain) was announced`, data), framing);
  } else if (first === PREFIX_EVENT) {
    push(out, decodePrefixedText(data, `0x22-prefixed event in plain format (version ${version}): only text chunks carry 0x22`), framing);
  } else if (first === PREFIX_PLAIN_BATCH) {
    decodePlainBatch(data, out);
  } else {
    push(out, decodeBareEvent(data), framing);
  }
}

/** A raw event as a whole message or a plain batch item: text is never sent this way. */
function decodeBareEvent(bytes: Buffer): DecodedInputEvent {
  if (bytes.length >= 4 && bytes.readUInt32LE(0) === TYPE_TEXT) {
    return invalid('text (type 23) must be sent with the 0x22 prefix', bytes);
  }
  return decodeEvent(bytes);
}

/** `0x22` + a text chunk; `otherwise` is the reason given when the prefixed event is not text. */
function decodePrefixedText(data: Buffer, otherwise: string): DecodedInputEvent {
  const event = data.subarray(1);
  if (event.length >= 4 && event.readUInt32LE(0) === TYPE_TEXT) return decodeEvent(event);
  return invalid(otherwise, data);
}

/**
 * `0xFF` then items `[u16 BE length][item]`: a raw (move) event, a group `0x20 [u16 BE group length]
 * [TS][TS] ([u8 size][move])*`, or, last, the event that triggered the flush (possibly a 0x22 text chunk).
 */
function decodePlainBatch(data: Buffer, out: DecodedInput[]): void {
  const framing: Framing = { framed: false };
  if (data.length === 1) {
    push(out, invalid('0xFF batch container without items', data), framing);
    return;
  }
  let offset = 1;
  while (offset < data.length) {
    if (offset + 2 > data.length) {
      push(out, invalid(`batch item length truncated at offset ${offset}`, data), framing);
      return;
    }
    const length = data.readUInt16BE(offset);
    const start = offset + 2;
    if (length === 0 || start + length > data.length) {
      push(out, invalid(`batch item at offset ${offset} declares ${length} bytes, ${data.length - start} remain`, data), framing);
      return;
    }
    const item = data.subarray(start, start + length);
    if (item[0] === PREFIX_PLAIN_GROUP) {
      decodePlainGroup(item, out);
    } else if (item[0] === PREFIX_EVENT) {
      push(out, decodePrefixedText(item, 'only text chunks carry the 0x22 prefix in plain format'), framing);
    } else {
      push(out, decodeBareEvent(item), framing);
    }
    offset = start + length;
  }
}

function decodePlainGroup(group: Buffer, out: DecodedInput[]): void {
  const framing: Framing = { framed: false };
  if (group.length < PLAIN_GROUP_HEADER) {
    push(out, invalid(`move group shorter than its ${PLAIN_GROUP_HEADER}-byte header`, group), framing);
    return;
  }
  const declared = group.readUInt16BE(1);
  if (declared !== group.length) {
    push(out, invalid(`move group declares ${declared} bytes but its batch item has ${group.length}`, group), framing);
    return;
  }
  let offset = PLAIN_GROUP_HEADER;
  while (offset < group.length) {
    const size = group[offset] ?? 0;
    const start = offset + 1;
    if ((size !== 22 && size !== 26) || start + size > group.length) {
      push(
        out,
        invalid(`move group entry at offset ${offset} has size ${size} (22 or 26 expected, ${group.length - start} remain)`, group),
        framing,
      );
      return;
    }
    const event = group.subarray(start, start + size);
    const type = event.readUInt32LE(0);
    const decoded =
      type === (size === 26 ? TYPE_MOVE : TYPE_RELATIVE_MOVE)
        ? decodeEvent(event)
        : invalid(`move group entry of size ${size} holds type ${type}`, event);
    push(out, decoded, framing);
    offset = start + size;
  }
}

function decodeFramed(data: Buffer, version: number, out: DecodedInput[]): void {
  const first = data[0];
  if (first === PREFIX_SEND_TIME) {
    decodeSendTimeWrapper(data, out);
    return;
  }
  const framing: Framing = { framed: true };
  if (first === PREFIX_EVENT) {
    // Text chunks and the input heartbeat bypass the send-time wrapper (§5.2, §5.3).
    const event = data.subarray(1);
    const type = event.length >= 4 ? event.readUInt32LE(0) : -1;
    push(
      out,
      type === TYPE_TEXT || type === TYPE_HEARTBEAT
        ? decodeEvent(event)
        : invalid(`0x22 event of type ${type} without the 0x23 send-time wrapper (only text and the heartbeat skip it)`, data),
      framing,
    );
  } else if (first === PREFIX_PLAIN_BATCH) {
    push(out, invalid(`0xFF batch container is the plain format, but version ${version} (framed) was announced`, data), framing);
  } else if (data.length >= 4 && (EVENT_SIZES.has(data.readUInt32LE(0)) || data.readUInt32LE(0) === TYPE_TEXT)) {
    push(out, invalid(`plain event of type ${data.readUInt32LE(0)}, but version ${version} (framed) was announced`, data), framing);
  } else {
    push(out, invalid(`unknown prefix 0x${hexByte(first ?? 0)} in framed format`, data), framing);
  }
}

/** `0x23 [u64 BE send time µs]`, then `0x24 [TS]` group marks, `0x21 [u16 BE len][event]` queued moves and a final `0x22 event`. */
function decodeSendTimeWrapper(data: Buffer, out: DecodedInput[]): void {
  if (data.length < 9) {
    push(out, invalid('0x23 send-time wrapper truncated (9 bytes needed)', data), { framed: true });
    return;
  }
  const framing: Framing = { framed: true, sentAtUs: readTimestamp(data, 1) };
  if (data.length === 9) {
    push(out, invalid('0x23 send-time wrapper carries no event', data), framing);
    return;
  }
  let offset = 9;
  while (offset < data.length) {
    const prefix = data[offset];
    if (prefix === PREFIX_GROUP_MARK) {
      if (offset + 9 > data.length) {
        push(out, invalid(`0x24 group mark truncated at offset ${offset}`, data), framing);
        return;
      }
      offset += 9;
    } else if (prefix === PREFIX_QUEUED_EVENT) {
      if (offset + 3 > data.length) {
        push(out, invalid(`0x21 item header truncated at offset ${offset}`, data), framing);
        return;
      }
      const length = data.readUInt16BE(offset + 1);
      const start = offset + 3;
      if (length === 0 || start + length > data.length) {
        push(out, invalid(`0x21 item at offset ${offset} declares ${length} bytes, ${data.length - start} remain`, data), framing);
        return;
      }
      push(out, decodeBareEvent(data.subarray(start, start + length)), framing);
      offset = start + length;
    } else if (prefix === PREFIX_EVENT) {
      // The current event runs to the end of the message.
      const event = data.subarray(offset + 1);
      const type = event.length >= 4 ? event.readUInt32LE(0) : -1;
      if (type === TYPE_TEXT) {
        push(out, invalid('text chunks are never wrapped in 0x23', data), framing);
      } else if (type === TYPE_HEARTBEAT) {
        push(out, invalid('the input heartbeat is sent without the 0x23 wrapper', data), framing);
      } else {
        push(out, decodeEvent(event), framing);
      }
      return;
    } else {
      push(out, invalid(`unknown item prefix 0x${hexByte(prefix ?? 0)} at offset ${offset} inside 0x23 wrapper`, data), framing);
      return;
    }
  }
}

/** One event, type u32 LE at 0, checked against the size its type must have. */
function decodeEvent(event: Buffer): DecodedInputEvent {
  if (event.length < 4) return invalid(`event of ${event.length} bytes is shorter than its 4-byte type`, event);
  const type = event.readUInt32LE(0);
  if (type === TYPE_TEXT) return decodeText(event);
  if (type === TYPE_TOUCH) return decodeTouch(event);
  const known = EVENT_SIZES.get(type);
  if (!known) return invalid(`unknown event type ${type}; §5.2 defines 2-5, 7-10, 12, 13, 17-19, 23 and 24`, event);
  if (event.length !== known.size) {
    return invalid(`${known.name} (type ${type}) must be ${known.size} bytes, got ${event.length}`, event);
  }
  switch (type) {
    case TYPE_HEARTBEAT:
      return { kind: 'heartbeat' };
    case TYPE_KEY_DOWN:
    case TYPE_KEY_UP:
      return {
        kind: 'key',
        down: type === TYPE_KEY_DOWN,
        vk: event.readUInt16BE(4),
        modifiers: event.readUInt16BE(6),
        timestampUs: readTimestamp(event, 10),
      };
    case TYPE_MOVE:
      return {
        kind: 'move',
        x: event.readUInt16BE(4),
        y: event.readUInt16BE(6),
        refWidth: event.readUInt16BE(10),
        refHeight: event.readUInt16BE(12),
        timestampUs: readTimestamp(event, 18),
      };
    case TYPE_RELATIVE_MOVE:
      return { kind: 'relative-move', dx: event.readInt16BE(4), dy: event.readInt16BE(6), timestampUs: readTimestamp(event, 14) };
    case TYPE_BUTTON_DOWN:
    case TYPE_BUTTON_UP:
      return { kind: 'button', down: type === TYPE_BUTTON_DOWN, button: event.readUInt8(4), timestampUs: readTimestamp(event, 10) };
    case TYPE_WHEEL:
      return { kind: 'wheel', delta: event.readInt16BE(6), timestampUs: readTimestamp(event, 14) };
    case TYPE_LOCK_KEYS:
      return { kind: 'lock-keys', flags: event.readUInt8(4) };
    default:
      return { kind: 'other', type };
  }
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

function decodeText(event: Buffer): DecodedInputEvent {
  const bytes = event.subarray(4);
  if (bytes.length === 0) return invalid('empty text chunk', event);
  if (bytes.length > MAX_TEXT_CHUNK) return invalid(`text chunk of ${bytes.length} bytes exceeds ${MAX_TEXT_CHUNK}`, event);
  try {
    // Chunks are split on character boundaries, so each one must be valid UTF-8 by itself.
    return { kind: 'text', text: strictUtf8.decode(bytes) };
  } catch {
    return invalid('text chunk is not valid UTF-8', event);
  }
}

/** Touch: type, u16 BE length, u16 BE count, count × 16-byte points. Reported as `other`, checked for shape. */
function decodeTouch(event: Buffer): DecodedInputEvent {
  if (event.length < 8) return invalid(`touch event of ${event.length} bytes is shorter than its 8-byte header`, event);
  const declared = event.readUInt16BE(4);
  const count = event.readUInt16BE(6);
  if (declared !== event.length || event.length !== 8 + 16 * count) {
    return invalid(`touch event of ${event.length} bytes declares length ${declared} and ${count} points`, event);
  }
  return { kind: 'other', type: TYPE_TOUCH };
}

/** u64 BE microseconds written as two u32 halves; large values lose precision rather than throw. */
function readTimestamp(bytes: Buffer, offset: number): number {
  return bytes.readUInt32BE(offset) * 2 ** 32 + bytes.readUInt32BE(offset + 4);
}

function invalid(reason: string, bytes: Buffer): DecodedInputEvent {
  return { kind: 'invalid', reason, hex: toHex(bytes) };
}

function push(out: DecodedInput[], event: DecodedInputEvent, framing: Framing): void {
  out.push(framing.sentAtUs === undefined ? { ...event, framed: framing.framed } : { ...event, ...framing });
}

function toHex(bytes: Buffer): string {
  const quoted = [...bytes.subarray(0, HEX_QUOTE_LIMIT)].map(hexByte).join(' ');
  return bytes.length > HEX_QUOTE_LIMIT ? `${quoted} … (${bytes.length} bytes)` : quoted;
}

function hexByte(byte: number): string {
  return byte.toString(16).padStart(2, '0');
}
