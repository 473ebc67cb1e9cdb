import {
  encodeKey,
  encodeLockKeys,
  encodeMouseButton,
  encodeMouseMove,
  encodeWheel,
  lockKeyFlags,
  modifierFlags,
  virtualKeyCode,
} from './input-protocol.js';
import type { KitInputSink } from './connector.js';

/** How the video is scaled into its box, as CSS `object-fit`. */
export type KitVideoFit = 'contain' | 'cover' | 'fill';

export interface Size {
  width: number;
  height: number;
}

/** A pointer position as Kit takes it: CSS pixels in the displayed picture, whose size is the reference. */
export type PicturePoint = { x: number; y: number; refWidth: number; refHeight: number };

/**
 * Maps a point in the element's box (CSS pixels from its top-left corner) into the picture of a `stream`-sized video
 * drawn with `fit`. Kit scales by the reference size itself, so the picture's CSS size is the reference: with `cover` it
 * is the whole picture, cropped part included; before the first frame it is the box. `undefined` on `contain`'s bars.
 */
export function toPicturePoint(
  x: number,
  y: number,
  box: Size,
  stream: Size,
  fit: KitVideoFit,
  /** Clamp points on `contain`'s bars to the picture's edge instead, as for a drag that leaves the picture. */
  clampToPicture = false,
): PicturePoint | undefined {
  if (!(box.width > 0 && box.height > 0)) return undefined;
  let { width, height } = box;
  if (fit !== 'fill' && stream.width > 0 && stream.height > 0) {
    const scale = (fit === 'cover' ? Math.max : Math.min)(box.width / stream.width, box.height / stream.height);
    width = stream.width * scale;
    height = stream.height * scale;
  }
  const pictureX = x - (box.width - width) / 2;
  const pictureY = y - (box.height - height) / 2;
  if (fit === 'contain' && !clampToPicture && (pictureX < 0 || pictureY < 0 || pictureX > width || pictureY > height)) return undefined;
  const refWidth = Math.trunc(width);
  const refHeight = Math.trunc(height);
  const clamp = (value: number, max: number) => Math.min(Math.max(Math.trunc(value), 0), max);
  return { x: clamp(pictureX, refWidth), y: clamp(pictureY, refHeight), refWidth, refHeight };
}

export interface InputForwarderOptions {
  /** The focusable box that receives pointer and keyboard events. */
  surface: HTMLElement;
  /** The video whose intrinsic size gives the picture's aspect ratio. */
  video: HTMLVideoElement;
  fit: () => KitVideoFit;
  sink: KitInputSink;
  /** `performance.now()` when streaming started: event timestamps count from here. */
  startedAt: number;
}

/** `MouseEvent.buttons` bit of each `MouseEvent.button`. */
const BUTTON_BITS = [1, 4, 2, 8, 16];

/**
 * Forwards pointer, wheel, keyboard and text input on `surface` to Kit's binary input protocol. Pointer moves are
 * coalesced to one absolute move per animation frame; a move still waiting goes out before any other event, so that a
 * press or a key lands where the pointer is.
 */
export class InputForwarder {
  /** Removes every listener, pending frame and timer. */
  readonly dispose: () => void;

  constructor({ surface, video, fit, sink, startedAt }: InputForwarderOptions) {
    const controller = new AbortController();
    /** Buttons (DOM button + 1) and keys (`code`) Kit was told are down. */
    const buttons = new Set<number>();
    const keys = new Set<string>();
    const windows = navigator.userAgent.includes('Windows');
    let lockFlags = -1;
    let pendingMove: Uint8Array | undefined;
    /** The animation frame that sends the waiting move; 0 when none is requested (frame ids start at 1). */
    let frame = 0;
    let fallbackTimer: ReturnType<typeof setTimeout> | undefined;

    /** Microseconds since streaming started, as Kit's timestamps count (the encoders round them and keep them >= 0). */
    const time = (event: Event) => (event.timeStamp - startedAt) * 1000;

    const move = (event: MouseEvent) => {
      const rect = surface.getBoundingClientRect();
      const stream = { width: video.videoWidth, height: video.videoHeight };
      // While a button is down (a drag, the pointer captured), moves past the picture's edge stay on its edge.
      const point = toPicturePoint(event.clientX - rect.left, event.clientY - rect.top, rect, stream, fit(), buttons.size > 0);
      if (point) pendingMove = encodeMouseMove(point.x, point.y, point.refWidth, point.refHeight, time(event));
      return point;
    };

    const flushMove = () => {
      cancelAnimationFrame(frame);
      clearTimeout(fallbackTimer);
      frame = 0;
      const waiting = pendingMove;
      pendingMove = undefined;
      if (waiting) sink.sendEvent(waiting);
    };

    const send = (event: Uint8Array) => {
      flushMove();
      sink.sendEvent(event);
    };

    const sendText = (text: string | undefined) => {
      if (!text) return;
      flushMove();
      sink.sendText(text);
    };

    const onButton = (down: boolean, event: PointerEvent, button = event.button + 1) => {
      if (!event.isPrimary) return;
      if (down) {
        surface.focus({ preventScroll: true });
        // Presses on the letterbox bars stay with the page; a press lands where it is, even without a move before it.
        if (buttons.has(button) || !move(event)) return;
        buttons.add(button);
        try {
          // Keeps a drag going to the app when the pointer leaves the element.
          surface.setPointerCapture(event.pointerId);
        } catch {
          // Synthetic or already-released pointers cannot be captured; the press is still forwarded.
        }
      } else if (!buttons.delete(button)) return;
      send(encodeMouseButton(down, button, time(event)));
    };

    const sendKey = (down: boolean, code: string, modifiers: number, event: Event) => {
      if (down) keys.add(code);
      else keys.delete(code);
      send(encodeKey(down, virtualKeyCode(code), modifiers, time(event)));
    };

    const onKey = (down: boolean, event: KeyboardEvent) => {
      // Tab stays with the page so keyboard users can always leave the stream; IME keystrokes end up as text.
      if (event.isComposing || event.code === 'Tab' || event.key === 'Tab') return;
      // Ctrl+V / Cmd+V stay with the browser, whose paste event sends the page's clipboard as text.
      if ((event.ctrlKey || event.metaKey) && event.code === 'KeyV') return;
      if (!virtualKeyCode(event.code)) {
        // Keys without a physical key code (virtual keyboards, unusual layouts) are typed as text.
        if (down && /^.$/u.test(event.key)) {
          event.preventDefault();
          sendText(event.key);
        }
        return;
      }
      event.preventDefault();
      // Auto-repeats of a held key, and releases of keys pressed before the stream had focus, are not sent.
      if (down ? event.repeat : !keys.has(event.code)) return;
      const flags = lockKeyFlags(event, windows);
      if (flags !== lockFlags) send(encodeLockKeys((lockFlags = flags)));
      // macOS sends no key-up for keys pressed while Cmd is held: a key pressed again was released meanwhile.
      if (down && keys.has(event.code)) sendKey(false, event.code, modifierFlags(event), event);
      sendKey(down, event.code, modifierFlags(event), event);
      // For the same reason, releasing Cmd releases every key still held.
      if (!down && event.key === 'Meta') keys.forEach((code) => sendKey(false, code, 0, event));
    };

    const on = <K extends keyof HTMLElementEventMap>(type: K, listener: (event: HTMLElementEventMap[K]) => void) =>
      surface.addEventListener(type, listener, { signal: controller.signal, passive: false });
    on('pointermove', (event) => {
      if (!event.isPrimary) return;
      // Pressing or releasing a second button while one is held comes as a move with `button` set.
      if (event.button >= 0) onButton(!!(event.buttons & (BUTTON_BITS[event.button] ?? 0)), event);
      if (!move(event) || frame) return;
      frame = requestAnimationFrame(flushMove);
      // Hidden pages get no animation frames; a slower timer keeps moves flowing there.
      fallbackTimer = setTimeout(flushMove, 100);
    });
    on('pointerdown', (event) => onButton(true, event));
    on('pointerup', (event) => onButton(false, event));
    // A cancelled pointer (the browser took over a touch, say) sends no pointerup: its buttons are released here.
    on('pointercancel', (event) => buttons.forEach((button) => onButton(false, event, button)));
    on('wheel', (event) => {
      event.preventDefault();
      // Kit takes pixels, as Chrome reports them; line and page deltas (Firefox, some mice) become pixels at a typical
      // line height (40) and page height (800).
      const deltaY = event.deltaY * ([1, 40, 800][event.deltaMode] ?? 1);
      if (deltaY) send(encodeWheel(deltaY, time(event)));
    });
    on('keydown', (event) => onKey(true, event));
    on('keyup', (event) => onKey(false, event));
    on('contextmenu', (event) => event.preventDefault());
    on('compositionend', (event) => sendText(event.data));
    on('paste', (event) => {
      event.preventDefault();
      sendText(event.clipboardData?.getData('text/plain'));
    });
    // Keys held while focus leaves would stay down in the app: their key-ups go to another element.
    on('blur', (event) => keys.forEach((code) => sendKey(false, code, 0, event)));

    this.dispose = () => {
      controller.abort();
      pendingMove = undefined;
      flushMove();
    };
  }
}
