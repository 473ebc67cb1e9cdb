import { isRecord } from '../internal/http.js';
import type { KitAppMessage, KitConnectOptions, KitConnection, KitConnector, KitStreamStats } from './connector.js';
import { KitStreamError } from './kit-error.js';

/**
 * The part of NVIDIA's `AppStreamer` (from `@nvidia/omniverse-webrtc-streaming-library`, or its newer name
 * `@nvidia/ov-web-rtc`, installed from NVIDIA's registry) that the adapter uses.
 */
export interface AppStreamerLike {
  connect(props: { streamSource: 'direct'; streamConfig: Record<string, unknown> }): Promise<unknown>;
  sendMessage(message: string): unknown;
  stop?(): unknown;
  terminate?(): unknown;
}

export interface AppStreamerConnectorOptions {
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
  /** Anything else to put in the library's `streamConfig`. */
  streamConfig?: Record<string, unknown>;
}

/** Messages the library reports through its callbacks. */
interface StreamEvent {
  action?: string;
  status?: string;
  info?: unknown;
}

let nextMediaId = 1;

/**
 * A connector that hands the session to NVIDIA's own streaming library, the client NVIDIA supports for Kit.
 *
 * The library looks its `<video>` and `<audio>` up by id in the document, which cannot see into a shadow root,
 * so the adapter puts them in the element's light DOM, slotted as `media`. The library forwards input itself.
 * `AppStreamer` is one stream per page: use one such player at a time.
 */
export function createAppStreamerConnector(appStreamer: AppStreamerLike, options: AppStreamerConnectorOptions = {}): KitConnector {
  return {
    connect: (connectOptions) => new AppStreamerConnection(appStreamer, options, connectOptions).open(),
  };
}

class AppStreamerConnection implements KitConnection {
  /** The library forwards pointer and keyboard input itself. */
  readonly handlesInput = true;
  private readonly video: HTMLVideoElement;
  private readonly audio: HTMLAudioElement;
  private closed = false;
  private settle: { resolve(connection: KitConnection): void; reject(error: unknown): void } | undefined;
  private connectTimer: ReturnType<typeof setTimeout> | undefined;
  private previous: { time: number; frames: number } | undefined;

  constructor(
    private readonly appStreamer: AppStreamerLike,
    private readonly settings: AppStreamerConnectorOptions,
    private readonly options: KitConnectOptions,
  ) {
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
    const { signal, target, host, width, height, fps } = this.options;
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
      const streamConfig: Record<string, unknown> = {
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
        authenticate: false,
        videoElementId: this.video.id,
        audioElementId: this.audio.id,
        ...this.settings.streamConfig,
        // Status reports (authentication, loading, ...) reach the page as `kit-message` events of type `streamUpdate`.
        onUpdate: (event: unknown) => this.options.onMessage({ eventType: 'streamUpdate', payload: event }),
        onStart: (event: StreamEvent) => this.onStart(event),
        onCustomEvent: (event: unknown) => this.onCustomEvent(event),
        onStop: () => this.end('The stream stopped.'),
        onTerminate: () => this.end('The stream was terminated.'),
      };
      Promise.resolve()
        .then(() => this.appStreamer.connect({ streamSource: 'direct', streamConfig }))
        .catch((error: unknown) => this.fail(describe(error)));
    });
  }

  send(message: KitAppMessage): void {
    if (this.closed) throw new KitStreamError('connection', 'The stream is closed.');
    this.appStreamer.sendMessage(JSON.stringify({ event_type: message.eventType, payload: message.payload ?? {} }));
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

  close(): void {
    clearTimeout(this.connectTimer);
    if (this.closed) return;
    this.closed = true;
    this.options.signal.removeEventListener('abort', this.onAbort);
    try {
      this.appStreamer.stop?.();
    } catch {
      // Stopping a stream that never started throws in some versions of the library; there is nothing left to stop.
    }
    this.video.remove();
    this.audio.remove();
  }

  private readonly onAbort = (): void => {
    this.close();
    this.settle?.reject(this.options.signal.reason);
    this.settle = undefined;
  };

  private onStart(event: StreamEvent): void {
    if (event.status === 'error') {
      this.fail(typeof event.info === 'string' ? event.info : 'The streaming library could not start the stream.');
      return;
    }
    if (event.action === 'start' && event.status === 'success') {
      clearTimeout(this.connectTimer);
      this.settle?.resolve(this);
      this.settle = undefined;
    }
  }

  private onCustomEvent(event: unknown): void {
    let message: unknown = event;
    if (typeof message === 'string') {
      try {
        message = JSON.parse(message);
      } catch {
        return;
      }
    }
    if (isRecord(message) && typeof message.event_type === 'string') {
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

  private end(message: string): void {
    this.fail(message);
  }
}

function describe(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (isRecord(error) && typeof error.info === 'string') return error.info;
  return 'The streaming library could not connect.';
}
