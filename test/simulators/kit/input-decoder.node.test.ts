/**
 * The simulated Kit server's decoder of `input_channel_v1`: the worked examples of KIT-PROTOCOL.md
 * §5.4 (hex typed from the document), both framings, the framing violations it must report, and
 * random bytes that must never make it throw.
 *
 * Run: node --import tsx --test test/simulators/kit/input-decoder.node.test.ts
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeInputMessage, encodeInputHandshake } from '../../../demo/simulators/kit/media/input-decoder.js';
import type { DecodedInput } from '../../../demo/simulators/kit/media/input-decoder.js';
import { seededRandom } from '../../support/random.js';

/** Bytes from a hex dump as printed in the document (spaces ignored). */
function hex(dump: string): Buffer {
  return Buffer.from(dump.replace(/\s+/g, ''), 'hex');
}

const TS = 1_234_567;

// §5.4, 1920×1080 stream shown 1:1, version 2 (plain).
const MOVE_1920 = '05 00 00 00  00 64  00 32  00 00  07 80  04 38  00 00 00 00  00 00 00 00 00 12 D6 87';
const DOWN = '08 00 00 00  01  00  00 00 00 00  00 00 00 00 00 12 D6 87';
const UP = '09 00 00 00  01  00  00 00 00 00  00 00 00 00 00 12 D6 87';
const MOVE_960 = '05 00 00 00  00 32  00 19  00 00  03 C0 02 1C  00 00 00 00  00 00 00 00 00 12 D6 87';
const LOCK = '13 00 00 00  10';
const KEY_DOWN = '03 00 00 00  00 41  00 00  00 00  00 00 00 00 00 12 D6 87';
const KEY_UP = '04 00 00 00  00 41  00 00  00 00  00 00 00 00 00 12 D6 87';
// §5.4, the same button down with version 3.
const FRAMED_DOWN = '23 00 00 00 00 00 12 D6 90 22 08 00 00 00 01 00 00 00 00 00 00 00 00 00 00 12 D6 87';
// §5.2 table: wheel with deltaY 100 (value -100 = FF 9C), relative move dx 5, dy -5.
const WHEEL = '0A 00 00 00  00 00  FF 9C  00 00  00 00 00 00  00 00 00 00 00 12 D6 87';
const RELATIVE = '07 00 00 00  00 05  FF FB  00 00  00 00 00 00  00 00 00 00 00 12 D6 87';
const HEARTBEAT = '02 00 00 00  00 00 00 00 00 00';
const TEXT_HI = '22  17 00 00 00  68 69';

function only(items: DecodedInput[]): DecodedInput {
  assert.equal(items.length, 1, `one item expected, got ${JSON.stringify(items)}`);
  return items[0]!;
}

function assertInvalid(items: DecodedInput[], reason: RegExp): void {
  const item = only(items);
  assert.equal(item.kind, 'invalid', `invalid expected, got ${JSON.stringify(item)}`);
  if (item.kind === 'invalid') {
    assert.match(item.reason, reason);
    assert.match(item.hex, /^(|[0-9a-f]{2}( [0-9a-f]{2})*( … \(\d+ bytes\))?)$/);
  }
}

describe('input handshake', () => {
  it('announces version 2 as the bare u16 LE version and version 3 behind marker 526', () => {
    assert.deepEqual(encodeInputHandshake(2), hex('02 00'));
    assert.deepEqual(encodeInputHandshake(3), hex('0E 02 03 00'));
    assert.equal(encodeInputHandshake(3).readUInt16LE(0), 526);
    assert.equal(encodeInputHandshake(3).readUInt16LE(2), 3);
  });
});

describe('plain input (version 2), §5.4 worked example', () => {
  it('decodes the absolute move at 1:1', () => {
    assert.deepEqual(only(decodeInputMessage(hex(MOVE_1920), 2)), {
      kind: 'move',
      x: 100,
      y: 50,
      refWidth: 1920,
      refHeight: 1080,
      timestampUs: TS,
      framed: false,
    });
  });

  it('decodes the absolute move of a picture shown at 960x540', () => {
    assert.deepEqual(only(decodeInputMessage(hex(MOVE_960), 2)), {
      kind: 'move',
      x: 50,
      y: 25,
      refWidth: 960,
      refHeight: 540,
      timestampUs: TS,
      framed: false,
    });
  });

  it('decodes button down and up', () => {
    assert.deepEqual(only(decodeInputMessage(hex(DOWN), 2)), { kind: 'button', down: true, button: 1, timestampUs: TS, framed: false });
    assert.deepEqual(only(decodeInputMessage(hex(UP), 2)), { kind: 'button', down: false, button: 1, timestampUs: TS, framed: false });
  });

  it('decodes the lock state and the key "A" down and up', () => {
    assert.deepEqual(only(decodeInputMessage(hex(LOCK), 2)), { kind: 'lock-keys', flags: 0x10, framed: false });
    assert.deepEqual(only(decodeInputMessage(hex(KEY_DOWN), 2)), {
      kind: 'key',
      down: true,
      vk: 0x41,
      modifiers: 0,
      timestampUs: TS,
      framed: false,
    });
    assert.deepEqual(only(decodeInputMessage(hex(KEY_UP), 2)), {
      kind: 'key',
      down: false,
      vk: 0x41,
      modifiers: 0,
      timestampUs: TS,
      framed: false,
    });
  });

  it('decodes wheel, relative move and heartbeat', () => {
    assert.deepEqual(only(decodeInputMessage(hex(WHEEL), 2)), { kind: 'wheel', delta: -100, timestampUs: TS, framed: false });
    assert.deepEqual(only(decodeInputMessage(hex(RELATIVE), 2)), { kind: 'relative-move', dx: 5, dy: -5, timestampUs: TS, framed: false });
    assert.deepEqual(only(decodeInputMessage(hex(HEARTBEAT), 2)), { kind: 'heartbeat', framed: false });
  });

  it('decodes text, which is 0x22-prefixed even in plain format', () => {
    assert.deepEqual(only(decodeInputMessage(hex(TEXT_HI), 2)), { kind: 'text', text: 'hi', framed: false });
    const euro = Buffer.concat([hex('22 17 00 00 00'), Buffer.from('€ ü', 'utf8')]);
    assert.deepEqual(only(decodeInputMessage(euro, 2)), { kind: 'text', text: '€ ü', framed: false });
  });

  it('reports §5.2 events the app does not act on as other, checked for size', () => {
    assert.deepEqual(only(decodeInputMessage(hex('0D 00 00 00 00 01'), 2)), { kind: 'other', type: 13, framed: false });
    assert.deepEqual(only(decodeInputMessage(hex('12 00 00 00 06 01 01 00 00 00'), 2)), { kind: 'other', type: 18, framed: false });
    assert.deepEqual(only(decodeInputMessage(hex('18 00 00 00 00 08 00 00'), 2)), { kind: 'other', type: 24, framed: false });
    assertInvalid(decodeInputMessage(hex('0D 00 00 00 00'), 2), /haptics enable \(type 13\) must be 6 bytes, got 5/);
  });

  it('rejects event types outside the §5.2 table', () => {
    for (const type of [0, 1, 6, 11, 14, 15, 16, 20, 21, 22, 25, 99, 0x1000]) {
      const event = Buffer.alloc(18);
      event.writeUInt32LE(type, 0);
      assertInvalid(decodeInputMessage(event, 2), new RegExp(`unknown event type ${type};`));
    }
    assertInvalid(decodeInputMessage(hex('63 00 00 00 01 02'), 2), /unknown event type 99/);
    assertInvalid(decodeInputMessage(hex(`23 00 00 00 00 00 12 D6 90 22 63 00 00 00 01 02`), 3), /unknown event type 99/);
  });

  it('decodes the 0xFF batch: a raw move, a group of relative moves, then the current event', () => {
    const groupTimestamps = '00 00 00 00 00 12 D6 88  00 00 00 00 00 12 D6 80';
    const message = hex(`FF  00 1A ${MOVE_1920}  00 41 20 00 41 ${groupTimestamps} 16 ${RELATIVE} 16 ${RELATIVE}  00 12 ${DOWN}`);
    const kinds = decodeInputMessage(message, 2).map((item) => item.kind);
    assert.deepEqual(kinds, ['move', 'relative-move', 'relative-move', 'button']);
    assert.ok(decodeInputMessage(message, 2).every((item) => !item.framed));
  });

  it('accepts a text chunk as the current event of a batch', () => {
    const message = hex(`FF 00 16 ${RELATIVE} 00 07 ${TEXT_HI}`);
    assert.deepEqual(
      decodeInputMessage(message, 2).map((item) => item.kind),
      ['relative-move', 'text'],
    );
  });
});

describe('framed input (version 3)', () => {
  it('decodes the §5.4 button down with its send time', () => {
    const message = hex(FRAMED_DOWN);
    assert.equal(message.length, 28);
    assert.deepEqual(only(decodeInputMessage(message, 3)), {
      kind: 'button',
      down: true,
      button: 1,
      timestampUs: TS,
      framed: true,
      sentAtUs: 1_234_576,
    });
  });

  it('decodes every event type wrapped the same way', () => {
    for (const event of [MOVE_1920, UP, LOCK, KEY_DOWN, WHEEL]) {
      const item = only(decodeInputMessage(hex(`23 00 00 00 00 00 12 D6 90 22 ${event}`), 3));
      assert.notEqual(item.kind, 'invalid', JSON.stringify(item));
      assert.equal(item.framed, true);
      assert.equal(item.sentAtUs, 1_234_576);
    }
  });

  it('decodes text and the heartbeat, which skip the 0x23 wrapper', () => {
    assert.deepEqual(only(decodeInputMessage(hex(TEXT_HI), 3)), { kind: 'text', text: 'hi', framed: true });
    assert.deepEqual(only(decodeInputMessage(hex(`22 ${HEARTBEAT}`), 3)), { kind: 'heartbeat', framed: true });
  });

  it('decodes queued moves: 0x24 group marks, 0x21 items and the final 0x22 event', () => {
    const message = hex(`23 00 00 00 00 00 12 D6 90  24 00 00 00 00 00 12 D6 80  21 00 16 ${RELATIVE}  21 00 1A ${MOVE_1920}  22 ${DOWN}`);
    const items = decodeInputMessage(message, 3);
    assert.deepEqual(
      items.map((item) => item.kind),
      ['relative-move', 'move', 'button'],
    );
    assert.ok(items.every((item) => item.framed && item.sentAtUs === 1_234_576));
  });

  it('accepts a flush of queued moves without a current event', () => {
    const message = hex(`23 00 00 00 00 00 12 D6 90  21 00 16 ${RELATIVE}`);
    assert.deepEqual(only(decodeInputMessage(message, 3)).kind, 'relative-move');
  });
});

describe('framing violations', () => {
  it('rejects plain events when version 3 was announced', () => {
    assertInvalid(decodeInputMessage(hex(DOWN), 3), /plain event of type 8.*version 3/);
    assertInvalid(decodeInputMessage(hex(MOVE_1920), 3), /plain event/);
  });

  it('rejects framed messages when version 2 was announced', () => {
    assertInvalid(decodeInputMessage(hex(FRAMED_DOWN), 2), /0x23.*version 2/);
    assertInvalid(decodeInputMessage(hex(`22 ${DOWN}`), 2), /0x22-prefixed event in plain format/);
    assertInvalid(decodeInputMessage(hex(`22 ${HEARTBEAT}`), 2), /0x22-prefixed/);
  });

  it('rejects a 0x22 event without the send-time wrapper in version 3, unless text or heartbeat', () => {
    assertInvalid(decodeInputMessage(hex(`22 ${DOWN}`), 3), /without the 0x23 send-time wrapper/);
  });

  it('rejects text and heartbeat inside the 0x23 wrapper', () => {
    assertInvalid(decodeInputMessage(hex(`23 00 00 00 00 00 12 D6 90 ${TEXT_HI}`), 3), /text chunks are never wrapped/);
    assertInvalid(decodeInputMessage(hex(`23 00 00 00 00 00 12 D6 90 22 ${HEARTBEAT}`), 3), /heartbeat is sent without/);
  });

  it('rejects text without the 0x22 prefix', () => {
    assertInvalid(decodeInputMessage(hex('17 00 00 00 68 69'), 2), /0x22 prefix/);
  });

  it('rejects the 0xFF batch container in version 3', () => {
    assertInvalid(decodeInputMessage(hex(`FF 00 12 ${DOWN}`), 3), /0xFF batch container is the plain format/);
  });

  it('rejects events of the wrong length', () => {
    assertInvalid(decodeInputMessage(hex(MOVE_1920).subarray(0, 25), 2), /absolute move \(type 5\) must be 26 bytes, got 25/);
    assertInvalid(decodeInputMessage(Buffer.concat([hex(DOWN), hex('00')]), 2), /must be 18 bytes, got 19/);
    assertInvalid(decodeInputMessage(hex(`23 00 00 00 00 00 12 D6 90 22 ${LOCK} 00`), 3), /must be 5 bytes, got 6/);
    assertInvalid(decodeInputMessage(hex('02 00 00 00'), 2), /heartbeat.*must be 10 bytes/);
  });

  it('rejects truncated frames', () => {
    assertInvalid(decodeInputMessage(hex('23 00 00 00'), 3), /truncated/);
    assertInvalid(decodeInputMessage(hex('23 00 00 00 00 00 12 D6 90'), 3), /carries no event/);
    assertInvalid(decodeInputMessage(hex('23 00 00 00 00 00 12 D6 90 21 00 16 07 00'), 3), /declares 22 bytes/);
    assertInvalid(decodeInputMessage(hex('23 00 00 00 00 00 12 D6 90 24 00 00'), 3), /group mark truncated/);
    assertInvalid(decodeInputMessage(hex('FF 00 1A 05 00 00 00'), 2), /declares 26 bytes/);
    assertInvalid(decodeInputMessage(hex('FF 00'), 2), /length truncated/);
    assertInvalid(decodeInputMessage(hex('FF 00 05 20 00 05 00 00'), 2), /shorter than its 19-byte header/);
  });

  it('rejects unknown prefixes and empty messages', () => {
    assertInvalid(decodeInputMessage(hex('99 01 02'), 3), /unknown prefix 0x99/);
    assertInvalid(decodeInputMessage(hex(`23 00 00 00 00 00 12 D6 90 42 ${DOWN}`), 3), /unknown item prefix 0x42/);
    assertInvalid(decodeInputMessage(Buffer.alloc(0), 2), /empty/);
    assertInvalid(decodeInputMessage(Buffer.alloc(0), 3), /empty/);
    assertInvalid(decodeInputMessage(hex('FF'), 2), /without items/);
  });

  it('rejects malformed text chunks', () => {
    assertInvalid(decodeInputMessage(hex('22 17 00 00 00 FF FE'), 2), /not valid UTF-8/);
    assertInvalid(decodeInputMessage(hex('22 17 00 00 00'), 3), /empty text chunk/);
    const long = Buffer.concat([hex('22 17 00 00 00'), Buffer.alloc(1017, 0x61)]);
    assertInvalid(decodeInputMessage(long, 2), /exceeds 1016/);
  });

  it('keeps the items decoded before a bad one', () => {
    const items = decodeInputMessage(hex(`23 00 00 00 00 00 12 D6 90 21 00 16 ${RELATIVE} 77`), 3);
    assert.deepEqual(
      items.map((item) => item.kind),
      ['relative-move', 'invalid'],
    );
  });
});

describe('robustness', () => {
  const prng = seededRandom;

  it('never throws on random bytes and always returns well-formed items', () => {
    const random = prng(0x5eed);
    const prefixes = [0x02, 0x05, 0x08, 0x13, 0x17, 0x20, 0x21, 0x22, 0x23, 0x24, 0xff];
    const kinds = new Set(['heartbeat', 'key', 'move', 'relative-move', 'button', 'wheel', 'lock-keys', 'text', 'other', 'invalid']);
    let framedInvalid = 0;
    for (let round = 0; round < 4000; round++) {
      const length = Math.floor(random() * 80);
      const bytes = Buffer.alloc(length);
      for (let i = 0; i < length; i++) bytes[i] = Math.floor(random() * 256);
      // Bias the first bytes towards prefixes and types, so the deeper paths are reached too.
      if (length > 0 && random() < 0.7) bytes[0] = prefixes[Math.floor(random() * prefixes.length)]!;
      if (length > 9 && bytes[0] === 0x23 && random() < 0.7) bytes[9] = prefixes[Math.floor(random() * prefixes.length)]!;
      const version = round % 2 === 0 ? 2 : 3;
      const items = decodeInputMessage(bytes, version);
      assert.ok(items.length > 0, `no items for ${bytes.toString('hex')}`);
      for (const item of items) {
        assert.equal(typeof item.framed, 'boolean');
        assert.equal(item.framed, version > 2);
        assert.ok(kinds.has(item.kind), item.kind);
        if (item.kind === 'invalid') {
          assert.ok(item.reason.length > 0);
          if (version > 2) framedInvalid++;
        }
      }
    }
    // Random bytes are almost never a well-formed framed message.
    assert.ok(framedInvalid > 1900, `random framed bytes should be invalid, got ${framedInvalid} of 2000`);
  });
});
