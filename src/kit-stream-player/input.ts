import type { KitAppMessage } from './connector.js';

/** How the video is scaled into its box, as CSS `object-fit`. */
export type KitVideoFit = 'contain' | 'cover' | 'fill';

export interface Size {
  width: number;
  height: number;
}

/**
 * Maps a point in the element's box (CSS pixels from its top-left corner) to stream pixels, for a video of
 * `stream` size drawn with `fit`. Returns `undefined` for points on the letterbox bars, outside the picture.
 */
export function toStreamPoint(x: number, y: number, box: Size, stream: Size, fit: KitVideoFit): { x: number; y: number } | undefined {
  if (box.width <= 0 || box.height <= 0 || stream.width <= 0 || stream.height <= 0) return undefined;
  let scaleX: number;
  let scaleY: number;
  if (fit === 'fill') {
    scaleX = box.width / stream.width;
    scaleY = box.height / stream.height;
  } else {
    const pick = fit === 'cover' ? Math.max : Math.min;
    scaleX = scaleY = pick(box.width / stream.width, box.height / stream.height);
  }
  const offsetX = (box.width - stream.width * scaleX) / 2;
  const offsetY = (box.height - stream.height * scaleY) / 2;
  const streamX = (x - offsetX) / scaleX;
  const streamY = (y - offsetY) / scaleY;
  if (streamX < 0 || streamY < 0 || streamX > stream.width || streamY > stream.height) return undefined;
  return { x: Math.min(Math.round(streamX), stream.width - 1), y: Math.min(Math.round(streamY), stream.height - 1) };
}

export interface InputForwarderOptions {
  /** The focusable box that receives pointer and keyboard events. */
  surface: HTMLElement;
  /** The video whose intrinsic size gives stream coordinates. */
  video: HTMLVideoElement;
  fit: () => KitVideoFit;
  send: (message: KitAppMessage) => void;
}

/** Keys that stay with the page so keyboard users can always leave the stream. */
const pageKeys = new Set(['Tab']);

/**
 * Forwards pointer and keyboard input on `surface` to the app as messages in stream coordinates.
 * Pointer moves are coalesced to one message per animation frame.
 */
export class InputForwarder {
  readonly #controller = new AbortController();
  #pendingMove: KitAppMessage | undefined;
  #frame: number | undefined;
  #fallbackTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly options: InputForwarderOptions) {
    const { surface } = options;
    const listen = { signal: this.#controller.signal };
    surface.addEventListener('pointermove', (event) => this.#onPointerMove(event), listen);
    surface.addEventListener('pointerdown', (event) => this.#onPointerButton('pointerDown', event), listen);
    surface.addEventListener('pointerup', (event) => this.#onPointerButton('pointerUp', event), listen);
    surface.addEventListener('wheel', (event) => this.#onWheel(event), { ...listen, passive: false });
    surface.addEventListener('keydown', (event) => this.#onKey('keyDown', event), listen);
    surface.addEventListener('keyup', (event) => this.#onKey('keyUp', event), listen);
    surface.addEventListener('contextmenu', (event) => event.preventDefault(), listen);
  }

  /** Removes every listener and pending frame. */
  dispose(): void {
    this.#controller.abort();
    if (this.#frame !== undefined) cancelAnimationFrame(this.#frame);
    clearTimeout(this.#fallbackTimer);
    this.#frame = undefined;
    this.#pendingMove = undefined;
  }

  #point(event: MouseEvent): { x: number; y: number } | undefined {
    const { surface, video, fit } = this.options;
    const rect = surface.getBoundingClientRect();
    return toStreamPoint(
      event.clientX - rect.left,
      event.clientY - rect.top,
      { width: rect.width, height: rect.height },
      { width: video.videoWidth, height: video.videoHeight },
      fit(),
    );
  }

  #onPointerMove(event: PointerEvent): void {
    const point = this.#point(event);
    if (!point) return;
    this.#pendingMove = {
      eventType: 'pointerMove',
      payload: { ...point, buttons: event.buttons, pointerType: event.pointerType, ...modifiers(event) },
    };
    if (this.#frame !== undefined) return;
    const flush = () => {
      if (this.#frame !== undefined) cancelAnimationFrame(this.#frame);
      clearTimeout(this.#fallbackTimer);
      this.#frame = undefined;
      const move = this.#pendingMove;
      this.#pendingMove = undefined;
      if (move) this.options.send(move);
    };
    this.#frame = requestAnimationFrame(flush);
    // Hidden pages get no animation frames; a slower timer keeps moves flowing there.
    this.#fallbackTimer = setTimeout(flush, 100);
  }

  #onPointerButton(eventType: 'pointerDown' | 'pointerUp', event: PointerEvent): void {
    const point = this.#point(event);
    if (!point) return;
    if (eventType === 'pointerDown') {
      this.options.surface.focus({ preventScroll: true });
      try {
        // Keeps a drag going to the app when the pointer leaves the element.
        this.options.surface.setPointerCapture(event.pointerId);
      } catch {
        // Synthetic or already-released pointers cannot be captured; the press is still forwarded.
      }
    }
    this.options.send({
      eventType,
      payload: { ...point, button: event.button, buttons: event.buttons, pointerType: event.pointerType, ...modifiers(event) },
    });
  }

  #onWheel(event: WheelEvent): void {
    const point = this.#point(event);
    if (!point) return;
    event.preventDefault();
    this.options.send({
      eventType: 'wheel',
      payload: { ...point, deltaX: event.deltaX, deltaY: event.deltaY, deltaMode: event.deltaMode, ...modifiers(event) },
    });
  }

  #onKey(eventType: 'keyDown' | 'keyUp', event: KeyboardEvent): void {
    if (pageKeys.has(event.key) || event.isComposing) return;
    event.preventDefault();
    this.options.send({ eventType, payload: { key: event.key, code: event.code, repeat: event.repeat, ...modifiers(event) } });
  }
}

function modifiers(event: MouseEvent | KeyboardEvent) {
  return { altKey: event.altKey, ctrlKey: event.ctrlKey, metaKey: event.metaKey, shiftKey: event.shiftKey };
}
