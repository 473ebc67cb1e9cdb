/**
 * Kit's binary input protocol as `<kit-stream-player>` writes it: golden bytes from the worked examples of the protocol
 * notes (1:1 and half-size click, key A, the version-3 framing), text chunking, key tables and the server handshake.
 *
 * Run: node --import tsx --test test/kit-stream-player/input-protocol.node.test.ts
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  InputChannelWriter,
  encodeHeartbeat,
  encodeKey,
  encodeLockKeys,
  encodeMouseButton,
  encodeMouseMove,
  encodeText,
  encodeWheel,
  lockKeyFlags,
  modifierFlags,
  parseInputHandshake,
  virtualKeyCode,
} from '../../src/kit-stream-player/input-protocol.js';

/** Bytes as spaced upper-case hex, the way the protocol notes write them. */
const hex = (bytes: Uint8Array) => Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0').toUpperCase()).join(' ');
const fromHex = (text: string) => Uint8Array.from(text.split(' '), (byte) => parseInt(byte, 16));

/** 1234.567 ms after the stream started. */
const TS = 1_234_567;
const TS_HEX = '00 00 00 00 00 12 D6 87';

describe('event encoders', () => {
  it('encode the click of the worked example at 1:1', () => {
    const move = encodeMouseMove(100, 50, 1920, 1080, TS);
    assert.equal(hex(move), `05 00 00 00 00 64 00 32 00 00 07 80 04 38 00 00 00 00 ${TS_HEX}`);
    assert.equal(move.length, 26);
    assert.equal(hex(encodeMouseButton(true, 1, TS)), `08 00 00 00 01 00 00 00 00 00 ${TS_HEX}`);
    assert.equal(hex(encodeMouseButton(false, 1, TS)), `09 00 00 00 01 00 00 00 00 00 ${TS_HEX}`);
  });

  it('encode the same click shown at 960x540 in picture pixels with that reference', () => {
    assert.equal(hex(encodeMouseMove(50, 25, 960, 540, TS)), `05 00 00 00 00 32 00 19 00 00 03 C0 02 1C 00 00 00 00 ${TS_HEX}`);
  });

  it('encode key A with its lock state', () => {
    assert.equal(hex(encodeLockKeys(0x10)), '13 00 00 00 10');
    assert.equal(hex(encodeKey(true, 0x41, 0, TS)), `03 00 00 00 00 41 00 00 00 00 ${TS_HEX}`);
    assert.equal(hex(encodeKey(false, 0x41, 0, TS)), `04 00 00 00 00 41 00 00 00 00 ${TS_HEX}`);
    assert.equal(hex(encodeKey(true, 0x41, 0b1011, TS)).slice(0, 23), '03 00 00 00 00 41 00 0B', 'modifiers as u16 BE at 6');
  });

  it('write timestamps as u64 big-endian microseconds, high word first, never negative', () => {
    assert.equal(hex(encodeKey(true, 0x41, 0, 2 ** 32 + 5).subarray(10)), '00 00 00 01 00 00 00 05');
    assert.equal(hex(encodeKey(true, 0x41, 0, 2 ** 40).subarray(10)), '00 00 01 00 00 00 00 00');
    assert.equal(hex(encodeKey(true, 0x41, 0, -5).subarray(10)), '00 00 00 00 00 00 00 00');
    assert.equal(hex(encodeKey(true, 0x41, 0, 1.6).subarray(10)), '00 00 00 00 00 00 00 02');
  });

  it('encode the wheel as -deltaY in an i16, clamped', () => {
    const wheel = (deltaY: number) => hex(encodeWheel(deltaY, TS));
    assert.equal(wheel(100), `0A 00 00 00 00 00 FF 9C 00 00 00 00 00 00 ${TS_HEX}`);
    assert.equal(wheel(-100).slice(0, 23), '0A 00 00 00 00 00 00 64');
    assert.equal(wheel(1e6).slice(18, 23), '80 00');
    assert.equal(wheel(-1e6).slice(18, 23), '7F FF');
    assert.equal(wheel(2.7).slice(18, 23), 'FF FE', 'fractions are truncated');
    assert.equal(wheel(Number.NaN).slice(18, 23), '00 00');
    assert.equal(encodeWheel(100, TS).length, 22);
  });

  it('encode the heartbeat as type 2 and six zero bytes', () => {
    assert.equal(hex(encodeHeartbeat()), '02 00 00 00 00 00 00 00 00 00');
  });
});

describe('encodeText', () => {
  const payloads = (chunks: Uint8Array[]) => chunks.map((chunk) => chunk.subarray(5));
  const decode = (chunks: Uint8Array[]) => new TextDecoder().decode(Buffer.concat(payloads(chunks)));

  it('prefixes each chunk with 0x22 and type 23 as u32 LE', () => {
    assert.deepEqual(encodeText('hé').map(hex), ['22 17 00 00 00 68 C3 A9']);
    assert.deepEqual(encodeText(''), []);
  });

  it('fills chunks to 1016 bytes', () => {
    assert.deepEqual(
      encodeText('a'.repeat(1016)).map((chunk) => chunk.length),
      [1021],
    );
    const chunks = encodeText('a'.repeat(1017));
    assert.deepEqual(
      chunks.map((chunk) => chunk.length),
      [1021, 6],
    );
    assert.equal(hex(chunks[1]!), '22 17 00 00 00 61');
  });

  it('never splits a multi-byte character at the 1016-byte boundary', () => {
    const euro = encodeText(`${'a'.repeat(1015)}€b`); // € is E2 82 AC: it would straddle bytes 1015..1017
    assert.deepEqual(
      euro.map((chunk) => chunk.length),
      [1020, 9],
    );
    assert.equal(hex(euro[1]!), '22 17 00 00 00 E2 82 AC 62');
    const emoji = encodeText(`${'a'.repeat(1014)}😀`); // F0 9F 98 80 at bytes 1014..1017
    assert.deepEqual(
      payloads(emoji).map((payload) => payload.length),
      [1014, 4],
    );
    assert.equal(hex(emoji[1]!), '22 17 00 00 00 F0 9F 98 80');
    const long = '€😀ü'.repeat(700);
    const chunks = encodeText(long);
    assert.ok(chunks.every((chunk) => chunk.length <= 1021 && hex(chunk.subarray(0, 5)) === '22 17 00 00 00'));
    for (const payload of payloads(chunks)) assert.doesNotThrow(() => new TextDecoder('utf-8', { fatal: true }).decode(payload));
    assert.equal(decode(chunks), long);
  });
});

describe('key tables', () => {
  it('map physical keys to Windows virtual keys', () => {
    const samples: Record<string, number> = {
      KeyA: 0x41,
      KeyZ: 0x5a,
      Digit1: 0x31,
      Digit0: 0x30,
      Enter: 0x0d,
      NumpadEnter: 0x0d,
      ShiftLeft: 0xa0,
      ShiftRight: 0xa1,
      ControlLeft: 0xa2,
      ControlRight: 0xa3,
      AltLeft: 0xa4,
      AltRight: 0xa5,
      MetaLeft: 0x5b,
      MetaRight: 0x5c,
      ArrowLeft: 0x25,
      ArrowDown: 0x28,
      F1: 0x70,
      F12: 0x7b,
      F24: 0x87,
      Minus: 0xbd,
      Slash: 0xbf,
      Numpad0: 0x60,
      Numpad9: 0x69,
      NumpadAdd: 0x6b,
      Escape: 0x1b,
      Backspace: 0x08,
      Tab: 0x09,
      Space: 0x20,
      CapsLock: 0x14,
      Home: 0x24,
      PageDown: 0x22,
      Delete: 0x2e,
    };
    for (const [code, vk] of Object.entries(samples)) assert.equal(virtualKeyCode(code), vk, code);
    for (const code of ['', 'Unidentified', 'KeyAA', 'Keya', 'F0', 'F25', 'Digit10', 'constructor', '__proto__', 'toString']) {
      assert.equal(virtualKeyCode(code), 0, code);
    }
  });

  it('map every key of the table, aliases included, and every letter, digit and function key', () => {
    // prettier-ignore
    const table: Record<string, number> = {
      Backspace: 0x08, Tab: 0x09, NumpadClear: 0x0c, Enter: 0x0d, NumpadEnter: 0x0d, Pause: 0x13, CapsLock: 0x14,
      Lang1: 0x15, Lang2: 0x19, Escape: 0x1b, Space: 0x20, PageUp: 0x21, PageDown: 0x22, End: 0x23, Home: 0x24,
      ArrowLeft: 0x25, ArrowUp: 0x26, ArrowRight: 0x27, ArrowDown: 0x28, PrintScreen: 0x2a, Insert: 0x2d, Delete: 0x2e,
      MetaLeft: 0x5b, OSLeft: 0x5b, MetaRight: 0x5c, OSRight: 0x5c, ContextMenu: 0x5d,
      NumpadMultiply: 0x6a, NumpadAdd: 0x6b, NumpadSubtract: 0x6d, NumpadDecimal: 0x6e, NumpadDivide: 0x6f,
      NumLock: 0x90, ScrollLock: 0x91, ShiftLeft: 0xa0, ShiftRight: 0xa1, ControlLeft: 0xa2, ControlRight: 0xa3,
      AltLeft: 0xa4, AltRight: 0xa5, Semicolon: 0xba, Equal: 0xbb, NumpadEqual: 0xbb, Comma: 0xbc, NumpadComma: 0xbc,
      Minus: 0xbd, Period: 0xbe, Slash: 0xbf, Backquote: 0xc0, IntlYen: 0xc1, IntlRo: 0xc2, BracketLeft: 0xdb,
      Backslash: 0xdc, BracketRight: 0xdd, Quote: 0xde, IntlBackslash: 0xe2, KanaMode: 0xe9, Convert: 0xea, NonConvert: 0xeb,
    };
    for (let i = 0; i < 26; i++) table[`Key${String.fromCharCode(65 + i)}`] = 0x41 + i;
    for (let i = 0; i < 10; i++) Object.assign(table, { [`Digit${i}`]: 0x30 + i, [`Numpad${i}`]: 0x60 + i });
    for (let i = 1; i <= 24; i++) table[`F${i}`] = 0x6f + i;
    for (const [code, vk] of Object.entries(table)) assert.equal(virtualKeyCode(code), vk, code);
    for (const code of ['OSFoo', 'NumpadEscape', 'NumpadEnd', 'Enter/NumpadEnter', 'Meta', 'Numpad', 'Key', 'Digit', 'F']) {
      assert.equal(virtualKeyCode(code), 0, code);
    }
  });

  it('set a modifier bit only while another key is pressed with it', () => {
    const flags = (code: string, held: Partial<Record<'shiftKey' | 'ctrlKey' | 'altKey' | 'metaKey', boolean>>) =>
      modifierFlags({ shiftKey: false, ctrlKey: false, altKey: false, metaKey: false, code, ...held });
    assert.equal(flags('KeyA', {}), 0);
    assert.equal(flags('KeyA', { shiftKey: true }), 1);
    assert.equal(flags('ShiftLeft', { shiftKey: true }), 0);
    assert.equal(flags('KeyA', { ctrlKey: true, altKey: true, metaKey: true }), 0b1110);
    assert.equal(flags('ControlRight', { ctrlKey: true }), 0);
    assert.equal(flags('AltLeft', { shiftKey: true, ctrlKey: true, altKey: true, metaKey: true }), 0b1011);
    assert.equal(flags('MetaLeft', { metaKey: true, shiftKey: true }), 1);
  });

  it('report CapsLock everywhere and NumLock and ScrollLock on Windows', () => {
    const event = (...on: string[]) => ({ getModifierState: (key: string) => on.includes(key) });
    assert.equal(lockKeyFlags(event(), false), 0x10);
    assert.equal(lockKeyFlags(event('CapsLock', 'NumLock'), false), 0x11);
    assert.equal(lockKeyFlags(event(), true), 0x70);
    assert.equal(lockKeyFlags(event('CapsLock', 'NumLock', 'ScrollLock'), true), 0x77);
    assert.equal(lockKeyFlags(event('NumLock'), true), 0x72);
  });
});

describe('parseInputHandshake', () => {
  it('reads both handshake forms', () => {
    assert.equal(parseInputHandshake(fromHex('02 00')), 2);
    assert.equal(parseInputHandshake(fromHex('03 00')), 3);
    assert.equal(parseInputHandshake(fromHex('0E 02 03 00')), 3);
    assert.equal(parseInputHandshake(fromHex('0E 02 02 00').buffer), 2, 'an ArrayBuffer');
    assert.equal(parseInputHandshake(fromHex('FF 0E 02 03 00').subarray(1)), 3, 'a view with an offset');
    assert.equal(parseInputHandshake(new DataView(fromHex('00 02 00').buffer, 1)), 2);
  });

  it('gives undefined for messages too short, and never throws', () => {
    assert.equal(parseInputHandshake(new Uint8Array(0)), undefined);
    assert.equal(parseInputHandshake(new ArrayBuffer(0)), undefined);
    assert.equal(parseInputHandshake(fromHex('02')), undefined);
    assert.equal(parseInputHandshake(fromHex('0E 02')), undefined);
    assert.equal(parseInputHandshake(fromHex('0E 02 03')), undefined);
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % 256;
    for (let i = 0; i < 500; i++) {
      const bytes = Uint8Array.from({ length: i % 9 }, random);
      if (i % 3 === 0 && bytes.length >= 2) bytes.set([0x0e, 0x02]);
      const version = parseInputHandshake(bytes);
      assert.ok(version === undefined || (Number.isInteger(version) && version >= 0 && version <= 0xffff), hex(bytes));
    }
  });
});

describe('InputChannelWriter', () => {
  const open = (clockUs = 1_234_576) => {
    const sent: string[] = [];
    const writer = new InputChannelWriter(
      (bytes) => sent.push(hex(bytes)),
      () => clockUs,
    );
    return { writer, sent };
  };
  const down = encodeMouseButton(true, 1, TS);

  it('writes plain events before the handshake and for version 2', () => {
    const { writer, sent } = open();
    assert.equal(writer.version, 0);
    writer.sendEvent(down);
    assert.equal(writer.receive(fromHex('02 00')), true);
    assert.equal(writer.version, 2);
    writer.sendEvent(down);
    writer.sendEvent(encodeHeartbeat());
    assert.deepEqual(sent, [hex(down), hex(down), '02 00 00 00 00 00 00 00 00 00']);
  });

  it('frames events with the send time and 0x22 for version 3, as in the worked example', () => {
    const { writer, sent } = open();
    assert.equal(writer.receive(fromHex('0E 02 03 00')), true);
    assert.equal(writer.version, 3);
    writer.sendEvent(down);
    assert.equal(sent[0], `23 00 00 00 00 00 12 D6 90 22 08 00 00 00 01 00 00 00 00 00 ${TS_HEX}`);
    assert.equal(fromHex(sent[0]!).length, 28);
  });

  it('sends the heartbeat and text without the send-time header in every version', () => {
    const { writer, sent } = open();
    writer.sendText('hi');
    writer.receive(fromHex('0E 02 03 00'));
    writer.sendEvent(encodeHeartbeat());
    writer.sendText('hi');
    assert.deepEqual(sent, ['22 17 00 00 00 68 69', '22 02 00 00 00 00 00 00 00 00 00', '22 17 00 00 00 68 69']);
  });

  it('takes only the first server message as the handshake', () => {
    const { writer } = open();
    assert.equal(writer.receive(fromHex('0E 02 03 00')), true);
    assert.equal(writer.receive(fromHex('02 00')), false);
    assert.equal(writer.receive(fromHex('01 00 06 00 00 00 FF FF 00 00')), false, 'a later server message');
    assert.equal(writer.version, 3);
  });

  it('keeps the plain format when the first message is no handshake', () => {
    const { writer, sent } = open();
    assert.equal(writer.receive(fromHex('07')), false);
    assert.equal(writer.receive(fromHex('0E 02 03 00')), false);
    assert.equal(writer.version, 0);
    writer.sendEvent(down);
    assert.deepEqual(sent, [hex(down)]);
  });
});
