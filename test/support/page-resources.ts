/**
 * Counts what a page holds on to: open RTCPeerConnections and WebSockets, pending timeouts, intervals and animation
 * frames, fetches in flight, and listeners on window and document. Installed before the code under test runs (the
 * first import of a test file, or an init script of a benchmark page), it wraps those constructors and functions with
 * counting stand-ins that behave as the originals do.
 *
 * Each thing is attributed to where it was made: a stack frame served from `/src/` on the page's origin makes it the
 * library's. Test frameworks keep timers and listeners of their own, so "nothing left behind" is asserted on the
 * library's share; peers and sockets are counted page-wide too.
 */

export type ResourceKind =
  'peer' | 'socket' | 'timeout' | 'interval' | 'animation-frame' | 'fetch' | 'window-listener' | 'document-listener';

/** How many of each kind are open, pending or registered. */
export type ResourceCounts = Record<ResourceKind, number>;

export interface PageResources {
  /** Counts over the whole page. */
  all(): ResourceCounts;
  /** Counts of what the library made (created from code under `/src/`). */
  library(): ResourceCounts;
  /** One line per thing the library holds: its kind, what it is and the frame that made it, for failure messages. */
  describeLibrary(): string[];
}

interface Held {
  kind: ResourceKind;
  what: string;
  /** The first `/src/` frame of the stack that made it, or undefined when the library did not. */
  madeBy: string | undefined;
}

declare global {
  interface Window {
    /** The counters installed on this page, for a benchmark to read through the DevTools protocol. */
    pageResources?: PageResources;
  }
}

const kinds: ResourceKind[] = ['peer', 'socket', 'timeout', 'interval', 'animation-frame', 'fetch', 'window-listener', 'document-listener'];

/** Installs the counters once per page and returns them; a second call returns the same ones. */
export function installPageResources(): PageResources {
  if (window.pageResources) return window.pageResources;
  const held = new Set<Held>();
  // The originals are kept to be called on each target with .call().
  /* eslint-disable @typescript-eslint/unbound-method */
  const nativeAdd = EventTarget.prototype.addEventListener;
  const nativeRemove = EventTarget.prototype.removeEventListener;
  const nativeClose = RTCPeerConnection.prototype.close;
  /* eslint-enable @typescript-eslint/unbound-method */
  const sourcePrefix = () => `${location.origin}/src/`;

  /** The first frame of the current stack that lies under `/src/`, as `file:line`, or undefined. */
  const libraryFrame = (): string | undefined => {
    const prefix = sourcePrefix();
    for (const line of (new Error().stack ?? '').split('\n')) {
      const start = line.indexOf(prefix);
      if (start < 0) continue;
      const frame = line.slice(start + prefix.length).replace(/\)?\s*$/, '');
      return `src/${frame.replace(/\?[^:]*/, '')}`;
    }
    return undefined;
  };
  const hold = (kind: ResourceKind, what: string): Held => {
    const entry: Held = { kind, what, madeBy: libraryFrame() };
    held.add(entry);
    return entry;
  };

  // Peer connections: open until close(), the only way a page closes one.
  const NativePeerConnection = window.RTCPeerConnection;
  const peers = new WeakMap<RTCPeerConnection, Held>();
  NativePeerConnection.prototype.close = function close(this: RTCPeerConnection) {
    const entry = peers.get(this);
    if (entry) held.delete(entry);
    nativeClose.call(this);
  };
  window.RTCPeerConnection = class extends NativePeerConnection {
    constructor(configuration?: RTCConfiguration) {
      super(configuration);
      peers.set(this, hold('peer', 'RTCPeerConnection'));
    }
  };

  // Sockets: open until their close event, whoever closed them.
  const NativeWebSocket = window.WebSocket;
  window.WebSocket = class extends NativeWebSocket {
    constructor(url: string | URL, protocols?: string | string[]) {
      super(url, protocols);
      const entry = hold('socket', `WebSocket ${String(url)}`);
      nativeAdd.call(this, 'close', () => held.delete(entry), { once: true });
    }
  };

  // Timeouts and intervals share one id space; clearTimeout and clearInterval clear either.
  const timers = new Map<number, Held>();
  const native = {
    setTimeout: window.setTimeout.bind(window),
    setInterval: window.setInterval.bind(window),
    clearTimeout: window.clearTimeout.bind(window),
    requestAnimationFrame: window.requestAnimationFrame.bind(window),
    cancelAnimationFrame: window.cancelAnimationFrame.bind(window),
    fetch: window.fetch.bind(window),
  };
  const clearTimer = (id: number | undefined) => {
    if (id === undefined) return;
    const entry = timers.get(id);
    if (entry) held.delete(entry);
    timers.delete(id);
    native.clearTimeout(id);
  };
  window.setTimeout = ((handler: TimerHandler, ms?: number, ...args: unknown[]) => {
    if (typeof handler !== 'function') return native.setTimeout(handler, ms, ...args);
    const id = native.setTimeout(
      (...callArgs: unknown[]) => {
        const entry = timers.get(id);
        if (entry) held.delete(entry);
        timers.delete(id);
        (handler as (...values: unknown[]) => void)(...callArgs);
      },
      ms,
      ...args,
    );
    timers.set(id, hold('timeout', `setTimeout ${ms ?? 0} ms`));
    return id;
  }) as typeof window.setTimeout;
  window.setInterval = ((handler: TimerHandler, ms?: number, ...args: unknown[]) => {
    const id = native.setInterval(handler, ms, ...args);
    timers.set(id, hold('interval', `setInterval ${ms ?? 0} ms`));
    return id;
  }) as typeof window.setInterval;
  window.clearTimeout = clearTimer as typeof window.clearTimeout;
  window.clearInterval = clearTimer as typeof window.clearInterval;

  const frames = new Map<number, Held>();
  window.requestAnimationFrame = (callback: FrameRequestCallback) => {
    const id = native.requestAnimationFrame((time) => {
      const entry = frames.get(id);
      if (entry) held.delete(entry);
      frames.delete(id);
      callback(time);
    });
    frames.set(id, hold('animation-frame', 'requestAnimationFrame'));
    return id;
  };
  window.cancelAnimationFrame = (id: number) => {
    const entry = frames.get(id);
    if (entry) held.delete(entry);
    frames.delete(id);
    native.cancelAnimationFrame(id);
  };

  window.fetch = (input: RequestInfo | URL, init?: RequestInit) => {
    const url = input instanceof Request ? input.url : String(input);
    const entry = hold('fetch', `fetch ${init?.method ?? (input instanceof Request ? input.method : 'GET')} ${url}`);
    const answer = native.fetch(input, init);
    const release = () => held.delete(entry);
    answer.then(release, release);
    return answer;
  };

  // Listeners on window and document, with the DOM's rules: one registration per (type, listener, capture); `once`
  // and an aborted `signal` remove it.
  interface Registration {
    target: EventTarget;
    type: string;
    listener: EventListenerOrEventListenerObject;
    capture: boolean;
    entry: Held;
    /** Ends the companion listeners that watch for `once` and `signal`. */
    watchers: AbortController;
  }
  const registrations: Registration[] = [];
  const captureOf = (options?: boolean | EventListenerOptions) => (typeof options === 'boolean' ? options : !!options?.capture);
  const find = (target: EventTarget, type: string, listener: EventListenerOrEventListenerObject, capture: boolean) =>
    registrations.findIndex(
      (registration) =>
        registration.target === target &&
        registration.type === type &&
        registration.listener === listener &&
        registration.capture === capture,
    );
  const unregister = (index: number) => {
    const [registration] = registrations.splice(index, 1);
    held.delete(registration.entry);
    registration.watchers.abort();
  };
  EventTarget.prototype.addEventListener = function addEventListener(
    this: EventTarget,
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | AddEventListenerOptions,
  ) {
    nativeAdd.call(this, type, listener, options);
    const tracked = this === window || this === document;
    const signal = typeof options === 'object' ? options.signal : undefined;
    const capture = captureOf(options);
    if (!tracked || !listener || signal?.aborted || find(this, type, listener, capture) >= 0) return;
    const where = this === window ? 'window' : 'document';
    const registration: Registration = {
      target: this,
      type,
      listener,
      capture,
      entry: hold(`${where}-listener`, `${where} "${type}" listener`),
      watchers: new AbortController(),
    };
    registrations.push(registration);
    const forget = () => {
      const index = registrations.indexOf(registration);
      if (index >= 0) unregister(index);
    };
    if (typeof options === 'object' && options.once)
      nativeAdd.call(this, type, forget, { once: true, capture, signal: registration.watchers.signal });
    signal?.addEventListener('abort', forget, { once: true, signal: registration.watchers.signal });
  };
  EventTarget.prototype.removeEventListener = function removeEventListener(
    this: EventTarget,
    type: string,
    listener: EventListenerOrEventListenerObject | null,
    options?: boolean | EventListenerOptions,
  ) {
    nativeRemove.call(this, type, listener, options);
    if (!listener || (this !== window && this !== document)) return;
    const index = find(this, type, listener, captureOf(options));
    if (index >= 0) unregister(index);
  };

  const count = (filter: (entry: Held) => boolean): ResourceCounts => {
    const counts = Object.fromEntries(kinds.map((kind) => [kind, 0])) as ResourceCounts;
    for (const entry of held) if (filter(entry)) counts[entry.kind]++;
    return counts;
  };
  window.pageResources = {
    all: () => count(() => true),
    library: () => count((entry) => entry.madeBy !== undefined),
    describeLibrary: () =>
      [...held].filter((entry) => entry.madeBy).map((entry) => `${entry.kind}: ${entry.what} (made at ${entry.madeBy})`),
  };
  return window.pageResources;
}
