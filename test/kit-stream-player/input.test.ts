import { expect } from '@open-wc/testing';
import { InputForwarder, toPicturePoint } from '../../src/kit-stream-player/input.js';
import type { KitVideoFit } from '../../src/kit-stream-player/input.js';

describe('toPicturePoint', () => {
  const stream = { width: 1920, height: 1080 };

  it('gives picture pixels with the picture as reference, at 1:1 and at half size', () => {
    const box = { width: 1920, height: 1080 };
    expect(toPicturePoint(100, 50, box, stream, 'contain')).to.deep.equal({ x: 100, y: 50, refWidth: 1920, refHeight: 1080 });
    expect(toPicturePoint(50, 25, { width: 960, height: 540 }, stream, 'contain')).to.deep.equal({
      x: 50,
      y: 25,
      refWidth: 960,
      refHeight: 540,
    });
  });

  it('removes the letterbox bars of contain', () => {
    // 1920x1080 contained in 800x600: picture 800x450 with bars of 75 px above and below.
    const box = { width: 800, height: 600 };
    const picture = { refWidth: 800, refHeight: 450 };
    expect(toPicturePoint(400, 300, box, stream, 'contain')).to.deep.equal({ x: 400, y: 225, ...picture });
    expect(toPicturePoint(0, 75, box, stream, 'contain')).to.deep.equal({ x: 0, y: 0, ...picture });
    expect(toPicturePoint(800, 525, box, stream, 'contain')).to.deep.equal({ x: 800, y: 450, ...picture });
    expect(toPicturePoint(100.9, 100.9, box, stream, 'contain')).to.deep.equal({ x: 100, y: 25, ...picture }, 'truncated');
    expect(toPicturePoint(400, 50, box, stream, 'contain'), 'a point on the top bar').to.equal(undefined);
    expect(toPicturePoint(400, 560, box, stream, 'contain'), 'a point on the bottom bar').to.equal(undefined);
  });

  it('counts the cropped part of cover in the position and the reference', () => {
    // 1920x1080 covering 600x600: picture 1066.7x600, 233.3 px cropped on each side.
    const box = { width: 600, height: 600 };
    const picture = { refWidth: 1066, refHeight: 600 };
    expect(toPicturePoint(0, 0, box, stream, 'cover')).to.deep.equal({ x: 233, y: 0, ...picture });
    expect(toPicturePoint(300, 300, box, stream, 'cover')).to.deep.equal({ x: 533, y: 300, ...picture });
    expect(toPicturePoint(600, 700, box, stream, 'cover'), 'clamped').to.deep.equal({ x: 833, y: 600, ...picture });
  });

  it('uses the box as the picture for fill, and before the first frame', () => {
    expect(toPicturePoint(480, 270, { width: 960, height: 1080 }, stream, 'fill')).to.deep.equal({
      x: 480,
      y: 270,
      refWidth: 960,
      refHeight: 1080,
    });
    const noFrame = { width: 0, height: 0 };
    expect(toPicturePoint(10, 20, { width: 100, height: 50 }, noFrame, 'contain')).to.deep.equal({
      x: 10,
      y: 20,
      refWidth: 100,
      refHeight: 50,
    });
    expect(toPicturePoint(10, 10, { width: 0, height: 0 }, stream, 'contain'), 'an element not laid out').to.equal(undefined);
  });
});

describe('InputForwarder', () => {
  /** What the fake sink received: events as hex, text as `text:…`. */
  let sent: string[];
  let surface: HTMLDivElement;
  let forwarder: InputForwarder;
  let startedAt: number;
  const lock = navigator.userAgent.includes('Windows') ? '70' : '10';

  const hex = (bytes: Uint8Array) => Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0').toUpperCase()).join(' ');
  /** The event's timestamp as Kit wants it: u64 BE microseconds since streaming started. */
  const ts = (event: Event) => {
    const us = Math.max(0, Math.round((event.timeStamp - startedAt) * 1000));
    const word = (value: number) =>
      value
        .toString(16)
        .toUpperCase()
        .padStart(8, '0')
        .replace(/(..)(?!$)/g, '$1 ');
    return `${word(Math.floor(us / 2 ** 32))} ${word(us >>> 0)}`;
  };
  const nextFrame = () => new Promise<void>((resolve) => requestAnimationFrame(() => resolve()));

  /** A 640x480 surface showing a 1920x1080 video: with contain, the picture is 640x360 between bars of 60 px. */
  function start(fit: KitVideoFit = 'contain') {
    surface = document.createElement('div');
    surface.tabIndex = 0;
    surface.style.cssText = 'position: fixed; left: 0; top: 0; width: 640px; height: 480px';
    const video = document.createElement('video');
    Object.defineProperty(video, 'videoWidth', { value: 1920 });
    Object.defineProperty(video, 'videoHeight', { value: 1080 });
    surface.append(video);
    document.body.append(surface);
    sent = [];
    startedAt = performance.now();
    const sink = { sendEvent: (event: Uint8Array) => sent.push(hex(event)), sendText: (text: string) => sent.push(`text:${text}`) };
    forwarder = new InputForwarder({ surface, video, fit: () => fit, sink, startedAt });
  }

  function dispatch<E extends Event>(event: E, target: EventTarget = surface): E {
    target.dispatchEvent(event);
    return event;
  }
  const pointer = (type: string, x: number, y: number, init: PointerEventInit = {}) =>
    dispatch(
      new PointerEvent(type, {
        clientX: x,
        clientY: y,
        pointerId: 1,
        isPrimary: true,
        button: -1,
        bubbles: true,
        cancelable: true,
        ...init,
      }),
    );
  const key = (type: 'keydown' | 'keyup', code: string, init: KeyboardEventInit = {}) =>
    dispatch(new KeyboardEvent(type, { code, key: code.replace(/^Key/, '').toLowerCase(), bubbles: true, cancelable: true, ...init }));

  beforeEach(() => start());
  afterEach(() => {
    forwarder.dispose();
    surface.remove();
  });

  it('sends the position of a press before the press, and one move per frame', async () => {
    pointer('pointermove', 100, 100);
    expect(sent, 'moves wait for the next frame').to.deep.equal([]);
    const down = pointer('pointerdown', 320, 240, { button: 0, buttons: 1 });
    const up = pointer('pointerup', 320, 240, { button: 0 });
    expect(sent).to.deep.equal([
      `05 00 00 00 01 40 00 B4 00 00 02 80 01 68 00 00 00 00 ${ts(down)}`,
      `08 00 00 00 01 00 00 00 00 00 ${ts(down)}`,
      `09 00 00 00 01 00 00 00 00 00 ${ts(up)}`,
    ]);
    expect(document.activeElement, 'a press focuses the stream').to.equal(surface);
    sent = [];
    pointer('pointermove', 10, 70);
    const last = pointer('pointermove', 20, 80);
    await nextFrame();
    await nextFrame();
    expect(sent).to.deep.equal([`05 00 00 00 00 14 00 14 00 00 02 80 01 68 00 00 00 00 ${ts(last)}`]);
  });

  it('flushes a waiting move before a key, and sends the lock state before the first key only', () => {
    const move = pointer('pointermove', 100, 100);
    const down = key('keydown', 'KeyA');
    const up = key('keyup', 'KeyA');
    expect(sent).to.deep.equal([
      `05 00 00 00 00 64 00 28 00 00 02 80 01 68 00 00 00 00 ${ts(move)}`,
      `13 00 00 00 ${lock}`,
      `03 00 00 00 00 41 00 00 00 00 ${ts(down)}`,
      `04 00 00 00 00 41 00 00 00 00 ${ts(up)}`,
    ]);
    expect(down.defaultPrevented && up.defaultPrevented).to.equal(true);
    sent = [];
    const shifted = key('keydown', 'KeyB', { shiftKey: true, modifierCapsLock: true });
    expect(sent, 'a changed lock state is sent again').to.deep.equal([
      `13 00 00 00 ${lock.replace('0', '1')}`,
      `03 00 00 00 00 42 00 01 00 00 ${ts(shifted)}`,
    ]);
  });

  it('keeps Tab, auto-repeats and releases of keys it never pressed to itself', () => {
    const tab = key('keydown', 'Tab', { key: 'Tab' });
    key('keyup', 'Tab', { key: 'Tab' });
    key('keyup', 'KeyC');
    expect(sent).to.deep.equal([]);
    expect(tab.defaultPrevented, 'Tab moves focus as usual').to.equal(false);
    const down = key('keydown', 'KeyC');
    key('keydown', 'KeyC', { repeat: true });
    key('keydown', 'KeyC', { repeat: true });
    expect(sent).to.deep.equal([`13 00 00 00 ${lock}`, `03 00 00 00 00 43 00 00 00 00 ${ts(down)}`]);
    key('keydown', 'KeyD', { isComposing: true });
    dispatch(new KeyboardEvent('keydown', { code: 'KeyE', bubbles: true }), document);
    expect(sent.length, 'keys while composing or outside the stream').to.equal(2);
  });

  it('types keys without a key code, IME results and pasted text as text', () => {
    const unknown = key('keydown', '', { key: 'ß' });
    key('keyup', '', { key: 'ß' });
    key('keydown', '', { key: 'Unidentified' });
    dispatch(new CompositionEvent('compositionend', { data: '日本語', bubbles: true }));
    const clipboardData = new DataTransfer();
    clipboardData.setData('text/plain', 'pasted 😀');
    const paste = dispatch(new ClipboardEvent('paste', { clipboardData, bubbles: true, cancelable: true }));
    expect(sent).to.deep.equal(['text:ß', 'text:日本語', 'text:pasted 😀']);
    expect(unknown.defaultPrevented && paste.defaultPrevented).to.equal(true);
  });

  it('sends the wheel as -deltaY in pixels', () => {
    const pixels = dispatch(new WheelEvent('wheel', { deltaY: 100, bubbles: true, cancelable: true }));
    const lines = dispatch(new WheelEvent('wheel', { deltaY: -3, deltaMode: WheelEvent.DOM_DELTA_LINE, bubbles: true, cancelable: true }));
    dispatch(new WheelEvent('wheel', { deltaX: 50, bubbles: true, cancelable: true }));
    expect(sent).to.deep.equal([
      `0A 00 00 00 00 00 FF 9C 00 00 00 00 00 00 ${ts(pixels)}`,
      `0A 00 00 00 00 00 00 78 00 00 00 00 00 00 ${ts(lines)}`,
    ]);
    expect(pixels.defaultPrevented, 'the page does not scroll').to.equal(true);
  });

  it('sends each button once while held, ignores presses on the bars and keeps the context menu away', () => {
    pointer('pointerdown', 320, 30, { button: 0, buttons: 1 });
    pointer('pointerup', 320, 30, { button: 0 });
    expect(sent, 'a press on the bar').to.deep.equal([]);
    const right = pointer('pointerdown', 0, 60, { button: 2, buttons: 2 });
    pointer('pointerdown', 0, 60, { button: 2, buttons: 2 });
    const chord = pointer('pointermove', 0, 60, { button: 0, buttons: 3 });
    const up = pointer('pointerup', 0, 60, { button: 2, buttons: 1 });
    const move = `05 00 00 00 00 00 00 00 00 00 02 80 01 68 00 00 00 00`;
    expect(sent).to.deep.equal([
      `${move} ${ts(right)}`,
      `08 00 00 00 03 00 00 00 00 00 ${ts(right)}`,
      `${move} ${ts(chord)}`,
      `08 00 00 00 01 00 00 00 00 00 ${ts(chord)}`,
      `${move} ${ts(chord)}`,
      `09 00 00 00 03 00 00 00 00 00 ${ts(up)}`,
    ]);
    expect(dispatch(new MouseEvent('contextmenu', { bubbles: true, cancelable: true })).defaultPrevented).to.equal(true);
  });

  it('leaves Ctrl+V and Cmd+V to the browser, whose paste sends the text', () => {
    const ctrl = key('keydown', 'KeyV', { ctrlKey: true });
    const cmd = key('keydown', 'KeyV', { metaKey: true });
    expect(sent).to.deep.equal([]);
    expect(ctrl.defaultPrevented || cmd.defaultPrevented, 'the browser may paste').to.equal(false);
  });

  it('releases keys that macOS never reports released while Cmd was held', () => {
    const metaDown = key('keydown', 'MetaLeft', { key: 'Meta', metaKey: true });
    const c = key('keydown', 'KeyC', { metaKey: true });
    const meta = key('keyup', 'MetaLeft', { key: 'Meta' });
    expect(sent.slice(1)).to.deep.equal([
      `03 00 00 00 00 5B 00 00 00 00 ${ts(metaDown)}`,
      `03 00 00 00 00 43 00 08 00 00 ${ts(c)}`,
      `04 00 00 00 00 5B 00 00 00 00 ${ts(meta)}`,
      `04 00 00 00 00 43 00 00 00 00 ${ts(meta)}`,
    ]);
    sent = [];
    // A second press of a key whose release was lost sends the release first.
    key('keydown', 'KeyX');
    const again = key('keydown', 'KeyX');
    expect(sent.slice(-2)).to.deep.equal([`04 00 00 00 00 58 00 00 00 00 ${ts(again)}`, `03 00 00 00 00 58 00 00 00 00 ${ts(again)}`]);
  });

  it('keeps a drag on the picture when the pointer leaves it over the bars', async () => {
    pointer('pointerdown', 320, 240, { button: 0, buttons: 1 });
    sent = [];
    const drag = pointer('pointermove', 320, 10, { buttons: 1 });
    await nextFrame();
    await nextFrame();
    expect(sent).to.deep.equal([`05 00 00 00 01 40 00 00 00 00 02 80 01 68 00 00 00 00 ${ts(drag)}`]);
    pointer('pointerup', 320, 10, { button: 0 });
    sent = [];
    pointer('pointermove', 320, 10);
    await nextFrame();
    await nextFrame();
    expect(sent, 'without a button, the bars are outside the picture').to.deep.equal([]);
  });

  it('releases held keys when the stream loses focus', () => {
    surface.focus();
    const down = key('keydown', 'ShiftLeft', { shiftKey: true });
    surface.blur();
    expect(sent.slice(0, 2)).to.deep.equal([`13 00 00 00 ${lock}`, `03 00 00 00 00 A0 00 00 00 00 ${ts(down)}`]);
    expect(sent.slice(2)).to.have.length(1);
    expect(sent[2]).to.match(/^04 00 00 00 00 A0 00 00 00 00 /);
  });

  it('leaves nothing behind when disposed', async () => {
    pointer('pointermove', 100, 100);
    forwarder.dispose();
    key('keydown', 'KeyA');
    pointer('pointerdown', 320, 240, { button: 0, buttons: 1 });
    await nextFrame();
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(sent).to.deep.equal([]);
  });
});
