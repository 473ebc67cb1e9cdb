import { isRecord, parseJson } from '../internal/json.js';
import type { KitAppMessage, KitConnectOptions, KitConnection, KitConnector, KitStreamStats } from './connector.js';
import { KitStreamError } from './kit-error.js';

/** Any function of the library: parameter types differ between its versions, so none are assumed. */
type LibraryMethod = (...args: never[]) => unknown;

/** What the adapter calls on NVIDIA's `AppStreamer`: static methods of the class, or methods of an instance. */
export interface AppStreamerApi {
  connect: LibraryMethod;
  sendMessage: LibraryMethod;
  stop?: LibraryMethod;
  terminate?: LibraryMethod;
}

/**
 * NVIDIA's library (`@nvidia/omniverse-webrtc-streaming-library`, newer name `@nvidia/ov-web-rtc`, installed from
 * NVIDIA's registry) as users have it: the `AppStreamer` class (`import { AppStreamer } from ...`), the whole module
 * (`import * as streaming from ...`, which also tells the adapter the library's generation), or an object with the
 * same methods.
 */
export type AppStreamerLike = AppStreamerApi | (new () => AppStreamerApi) | { AppStreamer: AppStreamerApi | (new () => AppStreamerApi) };

/** Major version of the library, as far as the adapter must tell them apart. */
export type AppStreamerGeneration = 3 | 4 | 5 | 6;

export interface AppStreamerConnectorOptions {
  /**
   * The library's major version (2.x is not supported; 7 and later count as 6). Detected when not given (see
   * `inspect`), except that nothing at run time tells 3.x from 4.x, nor 6.0 to 6.4 from 4.x when only the
   * `AppStreamer` class is passed: say 3 for 3.x, and 6 for those when not passing the whole module.
   */
  generation?: AppStreamerGeneration;
  /** The library's own reconnect attempts. Default 5. */
  maxReconnects?: number;
  /** How long the library may take to report the stream started, ms. Default 30000. */
  connectTimeoutMs?: number;
  /** Cursor mode. Default 'free'. */
  cursor?: string;
  /** Send the microphone. Default false. */
  mic?: boolean;
  /** Launch the app on connect. Default true. */
  autoLaunch?: boolean;
  /** Pass touch events as such. Default true. */
  nativeTouchEvents?: boolean;
  /** Anything else to put in the library's `streamConfig`, spelt as that version of the library expects. */
  streamConfig?: Record<string, unknown>;
}

/** The library's members as the adapter calls them; `_stream` is the private stream object of 3.x to 5.x. */
interface Library {
  connect(props: { streamSource: unknown; streamConfig: Record<string, unknown> }): unknown;
  sendMessage(message: unknown): unknown;
  stop?(): unknown;
  terminate?(): unknown;
  _stream?: unknown;
}

/** What the adapter found out about the library it was given. */
interface LibraryProfile {
  generation: AppStreamerGeneration;
  /** The library to drive for one connection. */
  library(): Library;
  /** `StreamType.DIRECT` where the module exports it (5.x and later), else the string every version accepts. */
  streamSource: unknown;
}

/** Messages the library reports through its callbacks. */
interface StreamEvent {
  action?: string;
  status?: string;
  info?: unknown;
}

/** The element 3.x writes its progress text into (it throws when the element is missing); NVIDIA's samples keep it through 5.x. */
const messageDisplayId = 'message-display';

/** Keys that 3.x spells in lower case (its query-string defaults); 4.x and later spell them as here. */
const lowerCaseIn3 = ['signalingServer', 'signalingPort', 'mediaServer', 'mediaPort', 'sessionId', 'backendUrl', 'autoLaunch'];

/** A closing stream per library: the next connection waits for it, since the library drives one stream at a time. */
const closing = new WeakMap<object, Promise<unknown>>();

let nextMediaId = 1;

/**
 * A connector that hands the session to NVIDIA's own streaming library, the client NVIDIA supports for Kit.
 *
 * The library looks its `<video>` and `<audio>` up by id in the document, which cannot see into a shadow root,
 * so the adapter puts them in the element's light DOM, slotted as `media`. The library forwards input itself.
 * `AppStreamer` is one stream per page: use one such player at a time.
 */
export function createAppStreamerConnector(appStreamer: AppStreamerLike, options: AppStreamerConnectorOptions = {}): KitConnector {
  const profile = inspect(appStreamer, options.generation);
  return {
    connect: (connectOptions) => new AppStreamerConnection(profile, options, connectOptions).open(),
  };
}

/**
 * Tells the library's generation, from the most to the least explicit evidence: the `generation` option; a `version`
 * string on the module or the class; the module's exports (6.x renamed `eAction`/`eStatus` to `EventAction`/`EventStatus`,
 * 5.x added `StreamType`; 3.x and 4.x export neither); the shape of `connect` (6.5 moved state to instances: a class
 * whose instances have `connect` is 6.x and gets a fresh instance per connection). With nothing to tell, 4.x/5.x,
 * whose camelCase config and JSON-string messages are what NVIDIA's samples used longest.
 */
function inspect(given: AppStreamerLike, forced: AppStreamerGeneration | undefined): LibraryProfile {
  const exports = 'AppStreamer' in given ? (given as Record<string, unknown>) : undefined;
  const main = (exports?.AppStreamer ?? given) as Library & { version?: unknown; VERSION?: unknown };
  const perInstance = typeof main === 'function' && typeof (main as { prototype?: Partial<Library> }).prototype?.connect === 'function';
  const version = [exports?.version, exports?.VERSION, main.version, main.VERSION].find((value) => typeof value === 'string');
  const major = Number(/(\d+)\./.exec(version ?? '')?.[1]);
  const generation =
    forced ??
    (major > 0
      ? (Math.min(6, Math.max(3, major)) as AppStreamerGeneration)
      : exports?.EventAction !== undefined || perInstance
        ? 6
        : exports?.StreamType !== undefined
          ? 5
          : 4);
  return {
    generation,
    library: perInstance ? () => new (main as unknown as new () => Library)() : () => main,
    streamSource: (exports?.StreamType as { DIRECT?: unknown } | undefined)?.DIRECT ?? 'direct',
  };
}

class AppStreamerConnection implements KitConnection {
  /** The library forwards pointer and keyboard input itself. */
  readonly handlesInput = true;
  private readonly video: HTMLVideoElement;
  private readonly audio: HTMLAudioElement;
  private readonly library: Library;
  /** Set once `connect` was called: only then is there a stream of ours to end. */
  private connected = false;
  /** The `message-display` element this connection added (none when the page has one). */
  private messageDisplay: HTMLElement | undefined;
  private closed = false;
  private settle: { resolve(connection: KitConnection): void; reject(error: unknown): void } | undefined;
  private connectTimer: ReturnType<typeof setTimeout> | undefined;
  private previous: { time: number; frames: number } | undefined;

  constructor(
    private readonly profile: LibraryProfile,
    private readonly settings: AppStreamerConnectorOptions,
    private readonly options: KitConnectOptions,
  ) {
    this.library = profile.library();
    const id = nextMediaId++;
    this.video = Object.assign(document.createElement('video'), {
      id: `kit-stream-player-video-${id}`,
      muted: true,
      autoplay: true,
      playsInline: true,
    });
    this.video.slot = 'media';
    this.audio = Object.assign(document.createElement('audio'), { id: `kit-stream-player-audio-${id}`, muted: true, autoplay: true });
    this.audio.slot = 'media';
  }

  open(): Promise<KitConnection> {
    const { signal, host } = this.options;
    return new Promise<KitConnection>((resolve, reject) => {
      this.settle = { resolve, reject };
      if (signal.aborted) {
        reject(signal.reason);
        return;
      }
      signal.addEventListener('abort', this.onAbort, { once: true });
      const timeoutMs = this.settings.connectTimeoutMs ?? 30_000;
      this.connectTimer = setTimeout(
        () => this.fail(`The streaming library did not start the stream within ${timeoutMs / 1000} s.`),
        timeoutMs,
      );
      host.append(this.video, this.audio);
      if (!document.getElementById(messageDisplayId)) {
        // Hidden and in no slot: the library's progress text is for its own pages; the element shows its own state.
        this.messageDisplay = Object.assign(document.createElement('div'), { id: messageDisplayId, hidden: true });
        host.append(this.messageDisplay);
      }
      const library = this.library;
      const streamConfig = this.streamConfig();
      // A previous stream's end is waited for, but not for long: a library that never settles must not block this one.
      Promise.race([closing.get(library), new Promise((resolve) => setTimeout(resolve, 1000))])
        .then(() => {
          if (this.closed) return undefined;
          this.connected = true;
          return library.connect({ streamSource: this.profile.streamSource, streamConfig });
        })
        .catch((error: unknown) => this.fail(describe(error)));
    });
  }

  send(message: KitAppMessage): void {
    if (this.closed) throw new KitStreamError('connection', 'The stream is closed.');
    const body = { event_type: message.eventType, payload: message.payload ?? {} };
    // Before 6.x the library takes the JSON text it puts in its envelope; 6.x takes the object.
    void quietly(() => this.library.sendMessage(this.profile.generation >= 6 ? body : JSON.stringify(body)));
  }

  // eslint-disable-next-line @typescript-eslint/require-await -- KitConnection.stats() is asynchronous; this one reads the video element.
  async stats(): Promise<KitStreamStats | undefined> {
    if (this.closed || typeof this.video.getVideoPlaybackQuality !== 'function') return undefined;
    const frames = this.video.getVideoPlaybackQuality().totalVideoFrames;
    const time = performance.now();
    const previous = this.previous;
    this.previous = { time, frames };
    const seconds = previous ? (time - previous.time) / 1000 : 0;
    return {
      fps: seconds > 0 ? Math.round(((frames - previous!.frames) / seconds) * 10) / 10 : 0,
      bitrate: 0,
      rtt: undefined,
      packetsLost: 0,
      jitter: 0,
      width: this.video.videoWidth,
      height: this.video.videoHeight,
      framesDecoded: frames,
    };
  }

  /**
   * Ends the client side so that the library can connect again. 3.x to 5.x keep their stream object after `stop()`,
   * and `connect` then does nothing. So every generation gets `terminate()` where it exists, without argument:
   * `terminate(true)` asks the user with `confirm()` and sends a DELETE of its own, and the element terminates
   * sessions itself. 3.x to 5.x clear the stream object only when `terminate()` succeeds (not after a failed start),
   * so their private static `_stream` is cleared here as well, as NVIDIA's sample does after `stop()`. 6.5 and later
   * keep their state per instance, and the adapter uses a fresh instance per connection.
   */
  close(): void {
    clearTimeout(this.connectTimer);
    if (this.closed) return;
    this.closed = true;
    this.options.signal.removeEventListener('abort', this.onAbort);
    const library = this.library;
    if (this.connected) {
      closing.set(
        library,
        quietly(() => (library.terminate ? library.terminate() : library.stop?.())),
      );
      if ('_stream' in library) library._stream = null;
    }
    this.video.remove();
    this.audio.remove();
    // 3.x keeps a reference to the element it found, so writing to it after removal is harmless.
    this.messageDisplay?.remove();
  }

  /** The direct-mode config, spelt for the library's generation. */
  private streamConfig(): Record<string, unknown> {
    const { target, width, height, fps, accessToken } = this.options;
    const config: Record<string, unknown> = {
      signalingServer: target.host,
      signalingPort: target.signalingPort,
      mediaServer: target.host,
      mediaPort: target.mediaPort,
      sessionId: target.sessionId,
      backendUrl: target.server,
      width,
      height,
      fps,
      autoLaunch: this.settings.autoLaunch ?? true,
      cursor: this.settings.cursor ?? 'free',
      mic: this.settings.mic ?? false,
      maxReconnects: this.settings.maxReconnects ?? 5,
      nativeTouchEvents: this.settings.nativeTouchEvents ?? true,
      // With a token the library signs in as `<session id>-Authorization.Bearer-<token>`, as Kit's auth proxies expect.
      authenticate: accessToken !== undefined,
      ...(accessToken === undefined ? {} : { accessToken }),
      videoElementId: this.video.id,
      audioElementId: this.audio.id,
    };
    if (target.mediaPort === undefined) {
      // Without a media route the library must use the server's candidates as they are. 4.x and later then want no
      // `mediaPort` (NVIDIA's sample leaves it out for a local Kit); 3.x would fill in its default port 14109 and
      // rewrite every candidate to it, unless it has no `mediaserver` either.
      delete config.mediaPort;
      if (this.profile.generation === 3) delete config.mediaServer;
    }
    if (this.profile.generation === 3) {
      // 3.x reads only these lower-case keys for the stream itself and ignores the camelCase ones.
      for (const key of lowerCaseIn3) {
        if (key in config) config[key.toLowerCase()] = config[key];
        delete config[key];
      }
    }
    return {
      ...config,
      ...this.settings.streamConfig,
      // Status reports (authentication, loading, ...) reach the page as `kit-message` events of type `streamUpdate`.
      onUpdate: (event: unknown) => this.options.onMessage({ eventType: 'streamUpdate', payload: event }),
      onStart: (event: StreamEvent) => this.onStart(event),
      onCustomEvent: (event: unknown) => this.onCustomEvent(event),
      onStop: () => this.fail('The stream stopped.'),
      onTerminate: () => this.fail('The stream was terminated.'),
    };
  }

  private readonly onAbort = (): void => {
    this.close();
    this.settle?.reject(this.options.signal.reason);
    this.settle = undefined;
  };

  private onStart(event: StreamEvent): void {
    // Compared in lower case: 6.x renamed the enums (`EventStatus`), and their values are not documented.
    const status = String(event.status).toLowerCase();
    if (status === 'error') {
      this.fail(describe(event.info, 'The streaming library could not start the stream.'));
    } else if (String(event.action).toLowerCase() === 'start' && status === 'success') {
      clearTimeout(this.connectTimer);
      this.settle?.resolve(this);
      this.settle = undefined;
    }
  }

  private onCustomEvent(event: unknown): void {
    const message = parseJson(event);
    if (!this.closed && isRecord(message) && typeof message.event_type === 'string') {
      this.options.onMessage({ eventType: message.event_type, payload: message.payload });
    }
  }

  private fail(message: string): void {
    if (this.closed) return;
    this.close();
    if (this.settle) {
      this.settle.reject(new KitStreamError('connection', message));
      this.settle = undefined;
    } else {
      this.options.onClosed('stream-ended', message);
    }
  }
}

/** Runs a library call whose result may be a promise, and settles without error either way. */
function quietly(call: () => unknown): Promise<unknown> {
  return new Promise((resolve) => resolve(call())).catch(() => undefined);
}

/** The library rejects and reports errors as `{action, status, info}`, where `info` is text or an `Error`. */
function describe(error: unknown, fallback = 'The streaming library could not connect.'): string {
  const info = isRecord(error) && 'info' in error ? error.info : error;
  if (typeof info === 'string') return info;
  return info instanceof Error ? info.message : fallback;
}
