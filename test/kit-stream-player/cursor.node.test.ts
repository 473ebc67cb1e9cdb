/**
 * Kit's cursor_channel: parsing the binary updates and turning them into safe CSS `cursor` values.
 *
 * Run: node --import tsx --test test/kit-stream-player/cursor.node.test.ts
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CursorStyles, parseCursorMessage } from '../../src/kit-stream-player/cursor.js';
import { seededRandom } from '../support/random.js';

/** A 1x1 transparent PNG, as base64. */
const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==';

/** A kind 0/1 message: kind, id, hotspot, MIME (u8 length), image text (u16 LE length), then optional tail bytes. */
function cursorMessage(
  kind: number,
  id: number,
  hotspotX: number,
  hotspotY: number,
  mime: string,
  data: string,
  tail: number[] = [],
): Uint8Array {
  const mimeBytes = new TextEncoder().encode(mime);
  const dataBytes = new TextEncoder().encode(data);
  return Uint8Array.from([
    kind,
    id,
    hotspotX,
    hotspotY,
    mimeBytes.length,
    ...mimeBytes,
    dataBytes.length & 0xff,
    dataBytes.length >> 8,
    ...dataBytes,
    ...tail,
  ]);
}

const random = seededRandom;

describe('parseCursorMessage', () => {
  it('reads a system cursor, with or without the rest of the layout', () => {
    assert.deepEqual(parseCursorMessage(Uint8Array.from([0, 12])), { kind: 'system', id: 12 });
    assert.deepEqual(parseCursorMessage(cursorMessage(0, 2, 0, 0, '', '').buffer as ArrayBuffer), { kind: 'system', id: 2 });
    assert.deepEqual(parseCursorMessage(Uint8Array.from([0, 3, 1])), { kind: 'system', id: 3 });
  });

  it('reads an image with its MIME type, hotspot and base64 text', () => {
    assert.deepEqual(parseCursorMessage(cursorMessage(1, 5, 3, 4, 'image/png', PNG)), {
      kind: 'image',
      id: 5,
      hotspotX: 3,
      hotspotY: 4,
      mime: 'image/png',
      data: PNG,
    });
  });

  it('reads an image longer than 255 characters (u16 little-endian length)', () => {
    const data = 'A'.repeat(300);
    const update = parseCursorMessage(cursorMessage(1, 1, 0, 0, 'image/png', data));
    assert.equal(update?.kind === 'image' && update.data, data);
  });

  it('reads a reference to a cached image (no image text)', () => {
    assert.deepEqual(parseCursorMessage(cursorMessage(1, 5, 3, 4, '', '')), { kind: 'image', id: 5, hotspotX: 3, hotspotY: 4 });
  });

  it('ignores the optional position and scale after the image', () => {
    const update = parseCursorMessage(cursorMessage(1, 5, 3, 4, 'image/png', PNG, [0xff, 0x7f, 0xff, 0x7f, 100, 0]));
    assert.equal(update?.kind === 'image' && update.data, PNG);
  });

  it('reads the confinement flag', () => {
    assert.deepEqual(parseCursorMessage(Uint8Array.from([10, 1])), { kind: 'confine', allowUnconfined: true });
    assert.deepEqual(parseCursorMessage(Uint8Array.from([10, 0])), { kind: 'confine', allowUnconfined: false });
    assert.deepEqual(parseCursorMessage(Uint8Array.from([10, 2])), { kind: 'confine', allowUnconfined: false });
  });

  it('reads a view into a larger buffer from its own offset', () => {
    const message = cursorMessage(1, 9, 1, 2, 'image/png', PNG);
    const buffer = new Uint8Array(message.length + 20).fill(0xee);
    buffer.set(message, 10);
    const view = new DataView(buffer.buffer, 10, message.length);
    assert.deepEqual(parseCursorMessage(view), parseCursorMessage(message));
  });

  it('refuses every truncation of an image message, unknown kinds and empty input', () => {
    const message = cursorMessage(1, 5, 3, 4, 'image/png', PNG);
    for (let length = 0; length < message.length; length++) {
      assert.equal(parseCursorMessage(message.subarray(0, length)), undefined, `first ${length} bytes`);
    }
    assert.equal(parseCursorMessage(Uint8Array.from([0])), undefined);
    assert.equal(parseCursorMessage(Uint8Array.from([2, 1, 0, 0, 0, 0, 0])), undefined);
    assert.equal(parseCursorMessage(new ArrayBuffer(0)), undefined);
    assert.equal(parseCursorMessage('text' as unknown as ArrayBuffer), undefined);
    assert.equal(parseCursorMessage(null as unknown as ArrayBuffer), undefined);
  });

  it('reads text frames as no message, even when the text is a number', () => {
    for (const text of ['12', '0', '1 2 3']) assert.equal(parseCursorMessage(text as unknown as ArrayBuffer), undefined, text);
    assert.equal(parseCursorMessage([0, 2] as unknown as ArrayBuffer), undefined, 'an array of bytes is no binary message');
  });

  it('never throws on random bytes', () => {
    const next = random(99);
    for (let index = 0; index < 500; index++) {
      const bytes = new Uint8Array(Math.floor(next() * 40));
      for (let at = 0; at < bytes.length; at++) bytes[at] = next() < 0.3 ? [0, 1, 10][Math.floor(next() * 3)] : Math.floor(next() * 256);
      const update = parseCursorMessage(bytes);
      if (update?.kind === 'image') assert.ok(5 + (update.mime?.length ?? 0) + 2 <= bytes.length);
    }
  });
});

describe('CursorStyles', () => {
  it('maps system cursor ids to CSS names, unknown ids to default', () => {
    const styles = new CursorStyles();
    const names = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 255].map((id) => styles.apply({ kind: 'system', id }));
    assert.deepEqual(names, [
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
      'default',
      'default',
    ]);
  });

  it('turns an image into a data URL cursor with its hotspot, and reuses it by id', () => {
    const styles = new CursorStyles();
    const css = `url("data:image/png;base64,${PNG}") 3 4, auto`;
    assert.equal(styles.apply(parseCursorMessage(cursorMessage(1, 5, 3, 4, 'image/png', PNG))!), css);
    assert.equal(styles.apply(parseCursorMessage(cursorMessage(1, 5, 0, 0, '', ''))!), css);
    assert.equal(styles.apply({ kind: 'image', id: 6, hotspotX: 0, hotspotY: 0 }), undefined, 'an id never sent');
    assert.equal(styles.apply({ kind: 'confine', allowUnconfined: true }), undefined);
  });

  it('refuses MIME types and image text that could break out of the CSS value', () => {
    const styles = new CursorStyles();
    const hostile = [
      { mime: 'image/png) ; background:url(x', data: PNG },
      { mime: 'image/png"', data: PNG },
      { mime: 'text/html', data: PNG },
      { mime: 'image/svg+xml;charset=utf-8', data: PNG },
      { mime: undefined, data: PNG },
      { mime: 'image/png', data: 'AAA") ; x:url(' },
      { mime: 'image/png', data: 'AA AA' },
      { mime: 'image/png', data: 'AAA===' },
      { mime: 'image/png', data: 'A'.repeat(256 * 1024 + 4) },
    ];
    for (const { mime, data } of hostile) {
      assert.equal(styles.apply({ kind: 'image', id: 1, hotspotX: 0, hotspotY: 0, mime, data }), undefined, `${mime} ${data.slice(0, 20)}`);
    }
    assert.equal(styles.apply({ kind: 'image', id: 1, hotspotX: 0, hotspotY: 0 }), undefined, 'nothing refused was cached');
    assert.equal(
      styles.apply({ kind: 'image', id: 1, hotspotX: 0, hotspotY: 0, mime: 'image/svg+xml', data: 'PHN2Zz4=' }),
      'url("data:image/svg+xml;base64,PHN2Zz4=") 0 0, auto',
    );
  });

  it('keeps hotspots numeric', () => {
    const styles = new CursorStyles();
    assert.equal(
      styles.apply({ kind: 'image', id: 1, hotspotX: NaN, hotspotY: 2.7, mime: 'image/png', data: PNG }),
      `url("data:image/png;base64,${PNG}") 0 2, auto`,
    );
  });

  it('keeps at most 32 images, forgetting the least recently set', () => {
    const styles = new CursorStyles();
    for (let id = 0; id < 33; id++) styles.apply({ kind: 'image', id, hotspotX: 0, hotspotY: 0, mime: 'image/png', data: PNG });
    assert.equal(styles.apply({ kind: 'image', id: 0, hotspotX: 0, hotspotY: 0 }), undefined);
    assert.ok(styles.apply({ kind: 'image', id: 1, hotspotX: 0, hotspotY: 0 }));
    assert.ok(styles.apply({ kind: 'image', id: 32, hotspotX: 0, hotspotY: 0 }));
  });
});
