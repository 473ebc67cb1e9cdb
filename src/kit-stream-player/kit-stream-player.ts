import { type PropertyValues, html, nothing } from 'lit';
import { LiveElement } from '../internal/live-element.js';
import { formatDuration, isAbort, sleep } from '../internal/timing.js';
import type { KitAppMessage, KitCloseReason, KitConnection, KitConnector, KitStreamStats } from './connector.js';
import type { KitSessionEndReason } from './events.js';
import { InputForwarder, type KitVideoFit } from './input.js';
import { KitSignalingConnector } from './kit-signaling-connector.js';
import { KitStreamError } from './kit-error.js';
import { styles } from './kit-stream-player.styles.js';
import { KitSessionClient, type KitReadySession } from './session-client.js';

/** Where the element is in a session's life. */
export type KitPlayerState = 'idle' | 'requesting' | 'pending' | 'connecting' | 'streaming' | 'reconnecting' | 'error' | 'ended';

/** The attributes that identify a session: changing one while a session is in use starts afresh. */
const sessionKeys = ['server', 'appId', 'profile', 'version', 'sessionId'] as const;

/** Boolean attributes that are on by default: on unless the attribute says "false". */
const onUnlessFalse = {
  fromAttribute: (value: string | null) => value === null || value.toLowerCase() !== 'false',
  toAttribute: (value: boolean) => (value ? '' : 'false'),
};

/** `signaling-secure`: present (or "true") forces wss, "false" forces ws, absent follows the page. */
const trueFalseOrUnset = {
  fromAttribute: (value: string | null) => (value === null ? undefined : value.toLowerCase() !== 'false'),
  toAttribute: (value: boolean | undefined) => (value === undefined ? null : String(value)),
};

/** What the status line says in each state; idle and streaming say nothing. */
const statusTexts: Partial<Record<KitPlayerState, string>> = {
  requesting: 'Requesting a session...',
  pending: 'Preparing the app...',
  connecting: 'Connecting...',
  reconnecting: 'Reconnecting...',
  ended: 'The stream has ended.',
  error: 'The stream could not continue.',
};

/** Frames that stop for this long make a stall. */
const stallAfterMs = 5000;

interface SessionConfig {
  server: string;
  appId: string;
  profile: string;
  version: string;
  sessionId: string;
  arguments: Record<string, unknown> | undefined;
}

/**
 * Streams an NVIDIA Omniverse Kit app from a Kit App Streaming service: asks for a session, waits until it is
 * ready, connects to it over WebRTC and forwards the viewer's input to the app.
 *
 * @summary A live, interactive Omniverse Kit app stream in one tag.
 *
 * @fires {CustomEvent<KitSessionPendingDetail>} kit-session-pending - The service is still preparing the session.
 * @fires {CustomEvent<KitSessionReadyDetail>} kit-session-ready - The session is ready; detail has its host and ports.
 * @fires {CustomEvent<KitConnectedDetail>} kit-connected - The first frame was decoded.
 * @fires {CustomEvent<KitDisconnectedDetail>} kit-disconnected - The stream's connection closed; the element reconnects when it can.
 * @fires {CustomEvent<KitMessageDetail>} kit-message - A message from the app.
 * @fires {CustomEvent<KitTimerWarningDetail>} kit-timer-warning - The app warns that the session ends soon unless the viewer acts.
 * @fires {CustomEvent<KitStatsDetail>} kit-stats - Stream figures, once a second while streaming.
 * @fires {CustomEvent<KitStallDetail>} kit-stall - No new frame for 5 s.
 * @fires {CustomEvent<KitStallDetail>} kit-recovered - Frames flow again after a stall.
 * @fires {CustomEvent<KitErrorDetail>} kit-error - Something failed; detail has a code, the HTTP status and the message shown.
 * @fires {CustomEvent<KitSessionEndedDetail>} kit-session-ended - The element let go of a session (and terminated it if it had created it).
 *
 * @attr {KitPlayerState} state - Read-only: where the element is in a session's life, reflected from the `state` property.
 *
 * @slot waiting - Replaces the spinner shown while the session is requested, prepared and connected.
 * @slot media - Light-DOM `<video>`/`<audio>` for connectors whose library finds its media elements by id.
 *
 * @csspart base - The outer box.
 * @csspart video-area - The focusable box the video is fitted into; it receives input for the app.
 * @csspart video - The `<video>` element.
 * @csspart controls - The bar with the mute and fullscreen buttons.
 * @csspart mute-button - The Unmute / Mute button.
 * @csspart fullscreen-button - The Fullscreen / Exit fullscreen button.
 * @csspart stats - The statistics overlay (`show-stats`).
 * @csspart overlay - The layer over the video while not streaming.
 * @csspart spinner - The default waiting indicator.
 * @csspart status - The status line (an ARIA live region).
 * @csspart error - The error box (role alert).
 * @csspart error-message - The error text.
 * @csspart retry-button - The Retry button.
 *
 * @cssproperty --kit-stream-player-background - Background behind the video. Default black.
 * @cssproperty --kit-stream-player-color - Text colour of status and errors. Default white.
 * @cssproperty --kit-stream-player-font - Font of status and errors.
 * @cssproperty --kit-stream-player-accent - Spinner and focus colour.
 * @cssproperty --kit-stream-player-error-color - Colour of the error box's edge.
 * @cssproperty --kit-stream-player-aspect-ratio - Aspect ratio of the element when no height is set. Default 16 / 9.
 * @cssproperty --kit-stream-player-radius - Corner radius of buttons.
 * @cssproperty --kit-stream-player-controls-background - Background of the control buttons.
 */
export class KitStreamPlayer extends LiveElement {
  static override styles = styles;

  // Declared without decorators: their compiled form would weigh more than the rest of the element.
  static override properties = {
    server: { reflect: true },
    appId: { attribute: 'app-id', reflect: true },
    profile: { reflect: true },
    version: { reflect: true },
    usdStageUri: { attribute: 'usd-stage-uri' },
    arguments: { attribute: false },
    sessionId: { attribute: 'session-id', reflect: true },
    pollInterval: { attribute: 'poll-interval', type: Number },
    timeout: { type: Number },
    requestTimeout: { attribute: 'request-timeout', type: Number },
    terminateOnDisconnect: { attribute: 'terminate-on-disconnect', converter: onUnlessFalse },
    requestInit: { attribute: false },
    interactive: { converter: onUnlessFalse, reflect: true },
    fit: { reflect: true },
    showStats: { attribute: 'show-stats', type: Boolean, reflect: true },
    maxReconnects: { attribute: 'max-reconnects', type: Number },
    signalingPath: { attribute: 'signaling-path' },
    signalingSecure: { attribute: 'signaling-secure', converter: trueFalseOrUnset },
    streamWidth: { attribute: 'stream-width', type: Number },
    streamHeight: { attribute: 'stream-height', type: Number },
    fps: { type: Number },
    maxBitrate: { attribute: 'max-bitrate', type: Number },
    accessToken: { attribute: false },
    debug: { type: Boolean },
    connector: { attribute: false },
    muted: { attribute: false },
    currentState: { state: true },
    error: { state: true },
    pendingSince: { state: true },
    now: { state: true },
    latestStats: { state: true },
    fullscreen: { state: true },
    slottedMedia: { state: true },
  };

  /** Base URL of the Kit App Streaming API; may carry a path prefix (`https://host/streaming`). */
  declare server: string;

  /** Id of the application to stream (`POST /stream` `id`). */
  declare appId: string;

  /** Runtime profile of the application. */
  declare profile: string;

  /** Version of the application; empty means the latest. */
  declare version: string;

  /** USD stage the app loads, sent as `arguments.usd_stage_uri`. */
  declare usdStageUri: string;

  /** Further `arguments` for `POST /stream`, merged with `usd-stage-uri`. */
  declare arguments: Record<string, unknown> | undefined;

  /** Attach to this existing session instead of creating one. After the element creates a session, it holds that session's id. */
  declare sessionId: string;

  /** First wait between status polls, in ms; grows by 1.5x per pending answer up to 10 s. A `Retry-After` header wins. */
  declare pollInterval: number;

  /** How long to wait for the session to be ready, in ms. First starts of an app compile shaders for minutes. */
  declare timeout: number;

  /** How long one HTTP request may take, in ms, before it counts as failed. */
  declare requestTimeout: number;

  /**
   * Terminate the session on removal and on `pagehide`. Applies only to sessions this element created, never to
   * ones it attached to with `session-id`. Set the attribute to "false" to keep the session.
   */
  declare terminateOnDisconnect: boolean;

  /** Merged into every request: headers and credentials for gateways that need auth. */
  declare requestInit: RequestInit | undefined;

  /** Forward pointer and keyboard input to the app. On by default; `interactive="false"` makes a view-only player. */
  declare interactive: boolean;

  /** How the video fits the element, as CSS `object-fit`: `contain` (default, letterboxed), `cover` or `fill`. */
  declare fit: KitVideoFit;

  /** Draw the `kit-stats` figures over the video. */
  declare showStats: boolean;

  /** Reconnect attempts after the stream is lost, before giving up with an error. */
  declare maxReconnects: number;

  /**
   * Path on the signaling server before `/sign_in`, for gateways that route signaling by path (a value that
   * already ends in `/sign_in` is used as it is). Default none: `ws://<route ip>:<port>/sign_in`.
   */
  declare signalingPath: string;

  /** Use `wss://` for signaling. Default: when the page is https. */
  declare signalingSecure: boolean | undefined;

  /** Stream width asked of connectors that negotiate it; a multiple of 32. */
  declare streamWidth: number;

  /** Stream height asked of connectors that negotiate it; even. */
  declare streamHeight: number;

  /** Frame rate asked of connectors that negotiate it. */
  declare fps: number;

  /** Highest video bitrate to ask for, in kbit/s. Default 20000. */
  declare maxBitrate: number;

  /**
   * Bearer token for gateways in front of Kit that check one. A property only, never an attribute: it is sent
   * inside the signaling WebSocket's subprotocol, as Kit's auth proxies expect, and nowhere else.
   */
  declare accessToken: string | undefined;

  /** Log the signaling and control exchange to the console (tokens redacted), to diagnose a failing stream. */
  declare debug: boolean;

  /** The connector that reaches the media; by default Kit's own signaling over WebSocket and WebRTC. */
  declare connector: KitConnector | undefined;

  /** Whether the stream's sound is muted. Streams start muted so that autoplay is allowed. */
  declare muted: boolean;

  declare private currentState: KitPlayerState;
  declare private error: KitStreamError | undefined;
  declare private pendingSince: number | undefined;
  declare private now: number;
  declare private latestStats: KitStreamStats | undefined;
  declare private fullscreen: boolean;
  declare private slottedMedia: boolean;

  get #video(): HTMLVideoElement {
    return this.renderRoot.querySelector('video')!;
  }

  get #videoArea(): HTMLElement {
    return this.renderRoot.querySelector('.video-area')!;
  }

  /** The session this element created and has not terminated yet. */
  #ownedSessionId: string | undefined;
  /** The session in use (pending, ready or streaming) and the client of the server it lives on. */
  #activeSession: { id: string; client: KitSessionClient } | undefined;
  /** A `session-id` value the element set itself, so it does not count as a user's change. */
  #ownSessionIdValue: string | undefined;
  /** Set by `stop()`: attribute changes do not start a session again until `start()`. */
  #stopped = false;
  #clock: ReturnType<typeof setInterval> | undefined;
  #connection: KitConnection | undefined;
  #input: InputForwarder | undefined;

  /**
   * Aborts the current run: one run is one session's whole life (requesting, pending, connecting, streaming and
   * reconnecting), so it must be abortable at any point of it, not only while a request is pending.
   */
  #run: AbortController | undefined;

  constructor() {
    super();
    this.server = '';
    this.appId = '';
    this.profile = '';
    this.version = '';
    this.usdStageUri = '';
    this.sessionId = '';
    this.pollInterval = 2000;
    this.timeout = 300_000;
    this.requestTimeout = 30_000;
    this.terminateOnDisconnect = true;
    this.interactive = true;
    this.fit = 'contain';
    this.showStats = false;
    this.maxReconnects = 5;
    this.signalingPath = '';
    this.streamWidth = 1920;
    this.streamHeight = 1080;
    this.fps = 60;
    this.maxBitrate = 20_000;
    this.debug = false;
    this.muted = true;
    this.currentState = 'idle';
    this.now = 0;
    this.fullscreen = false;
    this.slottedMedia = false;
  }

  /** Where the element is in a session's life; reflected as the `state` attribute. Read-only. */
  get state(): KitPlayerState {
    return this.currentState;
  }

  /** Starts a session by hand (again), ending the current one first. */
  start(): void {
    this.#stopped = false;
    this.#restart('replaced');
  }

  /** Ends the current session (terminating it if the element created it) and stays idle until `start()`. */
  stop(): void {
    this.#stopped = true;
    this.#endSession('stopped');
    this.#setState('ended');
  }

  /** Sends a message to the app, e.g. `sendMessage('openStageRequest', {url})`. Throws when not connected. */
  sendMessage(eventType: string, payload: unknown = {}): void {
    if (!this.#connection) throw new KitStreamError('connection', `Cannot send "${eventType}": the stream is not connected.`);
    this.#connection.send({ eventType, payload });
  }

  override connectedCallback(): void {
    super.connectedCallback();
    window.addEventListener('pagehide', this.#onPageHide);
    window.addEventListener('pageshow', this.#onPageShow);
    document.addEventListener('fullscreenchange', this.#onFullscreenChange);
    // Back in a document (re-attached, or moved): pick up where the session was. A moved element keeps its session.
    if (this.hasUpdated && !this.#stopped) this.#resume();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    window.removeEventListener('pagehide', this.#onPageHide);
    window.removeEventListener('pageshow', this.#onPageShow);
    document.removeEventListener('fullscreenchange', this.#onFullscreenChange);
    // Stop every request, timer and connection now; whether to terminate is decided once we know this is a removal, not a move.
    this.#closeConnection('The stream was closed (disconnected).');
    this.#run?.abort();
    this.#stopClock();
    queueMicrotask(() => {
      if (this.isConnected) return;
      this.#endSession('disconnected', { terminate: this.terminateOnDisconnect });
      this.#setState('idle');
    });
  }

  /** Session changes are acted on before rendering, so the state they set is drawn in the same update. */
  protected override willUpdate(changed: PropertyValues): void {
    const keysChanged = sessionKeys.some((key) => changed.has(key) && !(key === 'sessionId' && this.sessionId === this.#ownSessionIdValue));
    if (keysChanged && this.isConnected && !this.#stopped) this.#restart('replaced');
    if (changed.has('currentState') || !this.hasUpdated) this.setAttribute('state', this.currentState);
  }

  protected override updated(changed: PropertyValues): void {
    if (changed.has('muted')) this.#applyMuted();
  }

  override render() {
    const streaming = this.currentState === 'streaming';
    const busy =
      this.currentState === 'requesting' ||
      this.currentState === 'pending' ||
      this.currentState === 'connecting' ||
      this.currentState === 'reconnecting';
    const interactive = streaming && this.interactive;
    return html`
      <div part="base" class="base">
        <div
          part="video-area"
          class="video-area"
          tabindex=${interactive ? 0 : -1}
          role=${interactive ? 'application' : 'presentation'}
          aria-label=${interactive ? 'Interactive app stream. Keyboard and pointer input go to the app; press Tab to leave.' : nothing}
        >
          <video part="video" muted playsinline autoplay ?hidden=${this.slottedMedia} class=${`fit-${this.fit}`}></video>
          <slot name="media" @slotchange=${this.#onMediaSlotChange}></slot>
        </div>
        ${streaming ? this.#renderControls() : nothing}
        ${this.showStats && this.latestStats ? this.#renderStats(this.latestStats) : nothing}
        ${
          streaming
            ? nothing
            : html`<div part="overlay" class="overlay">
                ${busy ? html`<slot name="waiting"><div part="spinner" class="spinner" aria-hidden="true"></div></slot>` : nothing}
                <p part="status" class="status" role="status" aria-live="polite">${this.#statusText()}${this.#elapsedText()}</p>
                ${
                  this.error
                    ? html`<div part="error" class="error" role="alert">
                        <p part="error-message" class="error-message">${this.error.message}</p>
                        <button part="retry-button" type="button" @click=${() => this.start()}>Retry</button>
                      </div>`
                    : nothing
                }
              </div>`
        }
      </div>
    `;
  }

  #renderControls() {
    return html`<div part="controls" class="controls">
      <button part="mute-button" type="button" @click=${() => (this.muted = !this.muted)}>${this.muted ? 'Unmute' : 'Mute'}</button>
      <button part="fullscreen-button" type="button" @click=${this.#toggleFullscreen}>
        ${this.fullscreen ? 'Exit fullscreen' : 'Fullscreen'}
      </button>
    </div>`;
  }

  #renderStats(stats: KitStreamStats) {
    const round = Math.round;
    return html`<dl part="stats" class="stats">
      <div>
        <dt>Frame</dt>
        <dd>${stats.width}×${stats.height}</dd>
      </div>
      <div>
        <dt>FPS</dt>
        <dd>${round(stats.fps)}</dd>
      </div>
      <div>
        <dt>Bitrate</dt>
        <dd>${round(stats.bitrate)} kbit/s</dd>
      </div>
      <div>
        <dt>RTT</dt>
        <dd>${stats.rtt === undefined ? '–' : `${round(stats.rtt)} ms`}</dd>
      </div>
      <div>
        <dt>Lost</dt>
        <dd>${stats.packetsLost}</dd>
      </div>
      <div>
        <dt>Jitter</dt>
        <dd>${stats.jitter} ms</dd>
      </div>
    </dl>`;
  }

  #statusText(): string {
    return statusTexts[this.currentState] ?? '';
  }

  /** The ticking time while pending; hidden from the live region so screen readers are not told every second. */
  #elapsedText() {
    if (this.currentState !== 'pending' || this.pendingSince === undefined) return nothing;
    return html` <span class="elapsed" aria-hidden="true">${formatDuration(this.now - this.pendingSince)}</span>`;
  }

  #sessionConfig(): SessionConfig {
    const args = { ...this.arguments };
    if (this.usdStageUri) args.usd_stage_uri = this.usdStageUri;
    return {
      server: this.server.trim(),
      appId: this.appId.trim(),
      profile: this.profile.trim(),
      version: this.version.trim(),
      sessionId: this.sessionId.trim(),
      arguments: Object.keys(args).length > 0 ? args : undefined,
    };
  }

  #isConfigured(config = this.#sessionConfig()): boolean {
    return config.server !== '' && (config.sessionId !== '' || (config.appId !== '' && config.profile !== ''));
  }

  #restart(reason: KitSessionEndReason): void {
    this.#endSession(reason);
    this.#resume();
  }

  /** Starts (or re-attaches to) the configured session without ending anything first. */
  #resume(): void {
    if (!this.isConnected) return;
    this.error = undefined;
    if (!this.#isConfigured()) {
      if (this.#stopped || !this.server) this.#setState('idle');
      else this.#fail(new KitStreamError('configuration', missingConfigMessage(this.#sessionConfig())));
      return;
    }
    this.#run?.abort();
    const run = new AbortController();
    this.#run = run;
    void this.#runSession(this.#sessionConfig(), run.signal);
  }

  #client(config: SessionConfig): KitSessionClient {
    return new KitSessionClient({ server: config.server, requestInit: this.requestInit, requestTimeoutMs: this.requestTimeout });
  }

  /** A session's whole life. Returns when it fails; a new run or an abort ends it otherwise. */
  async #runSession(config: SessionConfig, signal: AbortSignal): Promise<void> {
    try {
      const client = this.#client(config);
      const session = await this.#acquireSession(client, config, signal);
      this.#setState('connecting');
      const { host, signalingPort, mediaPort } = session.target;
      this.emit('kit-session-ready', { id: session.id, host, signalingPort, mediaPort, routes: session.routes });
      await this.#streamWithReconnects(client, session, signal);
    } catch (error) {
      if (isAbort(error, signal)) return;
      if (error instanceof KitStreamError && error.code === 'server-ended') {
        this.#endSession('server-ended');
        this.#setState('ended');
        return;
      }
      const failure = error instanceof KitStreamError ? error : new KitStreamError('connection', String(error));
      this.#fail(failure);
      // A session the service no longer knows needs no terminate call.
      this.#endSession('error', { terminate: failure.code !== 'not-found' });
    } finally {
      this.#closeConnection();
    }
  }

  /** Creates (or finds) the session and waits until it is ready. */
  async #acquireSession(client: KitSessionClient, config: SessionConfig, signal: AbortSignal): Promise<KitReadySession> {
    const startedAt = performance.now();
    let answer;
    if (config.sessionId) {
      this.#setState('pending', startedAt);
      this.#activeSession = { id: config.sessionId, client };
      answer = await client.get(config.sessionId, signal);
    } else {
      this.#setState('requesting');
      // Not aborted with the run: a gateway may create the session even if the page stops listening, and a session
      // whose id was never learned could never be terminated. An abandoned run terminates what it created instead.
      answer = await client.create({
        appId: config.appId,
        profile: config.profile,
        version: config.version || undefined,
        arguments: config.arguments,
      });
      if (signal.aborted) {
        if (this.isConnected || this.terminateOnDisconnect) this.#terminate(client, answer.id, false);
        else this.#adoptSession(answer.id);
        throw signal.reason;
      }
      this.#ownedSessionId = answer.id;
      this.#activeSession = { id: answer.id, client };
      this.#setOwnSessionId(answer.id);
    }
    if (answer.ready) return answer;
    this.#setState('pending', startedAt);
    this.emit('kit-session-pending', {
      id: answer.id,
      elapsed: Math.round(performance.now() - startedAt),
      attempt: 1,
      message: answer.message,
    });
    return client.pollUntilReady(answer.id, {
      signal,
      ...this.#pollTiming(),
      startedAt,
      onPending: ({ id, elapsedMs, attempt, message }) =>
        this.emit('kit-session-pending', { id, elapsed: Math.round(elapsedMs), attempt: attempt + 1, message }),
    });
  }

  /**
   * Streams the session; when the connection is lost, checks the session and reconnects with backoff up to
   * `max-reconnects` times. Throws when the session is gone or the attempts are used up.
   */
  async #streamWithReconnects(client: KitSessionClient, ready: KitReadySession, signal: AbortSignal): Promise<never> {
    let session: KitReadySession | undefined = ready;
    let failures = 0;
    let readyAt = performance.now();
    let lastMessage = '';
    for (;;) {
      if (session) {
        const lost = await this.#streamOnce(session, readyAt, signal);
        // Reconnecting would not bring back a stream the server ended.
        if (lost.final) throw new KitStreamError(lost.final, lost.message);
        if (lost.streamed) failures = 0;
        lastMessage = lost.message;
      }
      failures++;
      const limit = Math.max(0, Math.floor(this.maxReconnects));
      if (failures > limit) {
        throw new KitStreamError(
          'connection',
          limit === 0
            ? `The stream was lost: ${lastMessage}`
            : `The stream was lost and ${limit} reconnect attempts failed. Last: ${lastMessage}`,
        );
      }
      this.#setState('reconnecting');
      await sleep(Math.min(500 * 2 ** (failures - 1), 8000), signal);
      try {
        const answer = await client.get(ready.id, signal);
        session = answer.ready
          ? answer
          : await client.pollUntilReady(ready.id, {
              signal,
              ...this.#pollTiming(),
            });
        readyAt = performance.now();
      } catch (error) {
        // The network that dropped the stream may drop the status check too: that is one failed attempt, not the end.
        if (!(error instanceof KitStreamError) || !error.transient) throw error;
        session = undefined;
        lastMessage = error.message;
      }
    }
  }

  /** One connection: connect, wait for the first frame, then watch until it closes. Resolves with why it ended. */
  async #streamOnce(
    session: KitReadySession,
    readyAt: number,
    signal: AbortSignal,
  ): Promise<{ message: string; streamed: boolean; final?: 'server-ended' | 'signaling' }> {
    const attempt = new AbortController();
    const attemptSignal = AbortSignal.any([signal, attempt.signal]);
    let onLost!: (reason: KitCloseReason, message: string) => void;
    // Settles when the connection is lost, or rejects when the session is abandoned, so that nothing waits forever.
    const lost = new Promise<{ reason: KitCloseReason; message: string }>((resolve, reject) => {
      onLost = (reason, message) => resolve({ reason, message });
      signal.addEventListener('abort', () => reject(signal.reason), { once: true, signal: attempt.signal });
    });
    lost.catch(() => undefined);
    let streamed = false;
    let monitor: ReturnType<typeof setInterval> | undefined;
    try {
      const connector =
        this.connector ?? new KitSignalingConnector({ signalingPath: this.signalingPath || undefined, secure: this.signalingSecure });
      await this.updateComplete;
      const area = this.#videoArea;
      area.style.removeProperty('cursor');
      let connection: KitConnection;
      try {
        connection = await connector.connect({
          target: { ...session.target, sessionId: session.id, server: this.#activeSession?.client.server ?? this.server },
          video: this.#video,
          host: this,
          signal: attemptSignal,
          width: this.streamWidth,
          height: this.streamHeight,
          fps: this.fps,
          maxBitrate: this.maxBitrate,
          accessToken: this.accessToken,
          debug: this.debug,
          onMessage: (message) => this.#onAppMessage(message),
          onTimerWarning: (code, secondsLeft) => this.emit('kit-timer-warning', { code, secondsLeft }),
          onCursor: (cursor) => area.style.setProperty('cursor', cursor),
          onClosed: (reason, detail) => onLost(reason, detail ?? reason),
        });
      } catch (error) {
        if (isAbort(error, signal)) throw error;
        const message = error instanceof Error ? error.message : String(error);
        const code = error instanceof KitStreamError ? error.code : undefined;
        const final = code === 'server-ended' || code === 'signaling' ? code : undefined;
        this.emit('kit-disconnected', { id: session.id, reason: final === 'server-ended' ? 'server-ended' : 'connect-failed', message });
        return { message, streamed: false, final };
      }
      this.#connection = connection;
      const early = await Promise.race([this.#firstFrame(connection, attemptSignal), lost]);
      if (early) {
        this.emit('kit-disconnected', { id: session.id, reason: early.reason, message: early.message });
        return { message: early.message, streamed: false, final: finalFor(early.reason) };
      }
      streamed = true;
      this.#setState('streaming');
      this.emit('kit-connected', { id: session.id, timeToFirstFrame: Math.round(performance.now() - readyAt) });
      await this.updateComplete;
      if (this.interactive && !connection.handlesInput && connection.input) {
        this.#input = new InputForwarder({
          surface: this.#videoArea,
          video: this.#mediaVideo(),
          fit: () => this.fit,
          sink: connection.input,
          startedAt: connection.input.startedAt ?? performance.now(),
        });
      }
      monitor = this.#watch(session.id, connection);
      const end = await lost;
      this.emit('kit-disconnected', { id: session.id, reason: end.reason, message: end.message });
      return { message: end.message, streamed, final: finalFor(end.reason) };
    } finally {
      clearInterval(monitor);
      attempt.abort();
      this.#closeConnection(signal.aborted ? 'The stream was closed.' : undefined);
    }
  }

  /** Resolves when the first frame is decoded, as the connection's stats or the video element tell; else with why not. */
  async #firstFrame(connection: KitConnection, signal: AbortSignal): Promise<{ reason: KitCloseReason; message: string } | undefined> {
    const video = this.#mediaVideo();
    for (let i = 0; i < 2000; i++) {
      if (video.readyState >= HTMLMediaElement.HAVE_CURRENT_DATA && video.videoWidth > 0) return undefined;
      if (((await connection.stats())?.framesDecoded ?? 0) > 0) return undefined;
      await sleep(10, signal);
    }
    return { reason: 'connect-timeout', message: 'Connected, but no video frame arrived.' };
  }

  /** Samples stats once a second: `kit-stats` events, the overlay, and stall detection. */
  #watch(id: string, connection: KitConnection): ReturnType<typeof setInterval> {
    let lastFrames = -1;
    let lastProgress = performance.now();
    let stalled = false;
    const sample = async (): Promise<void> => {
      const stats = await connection.stats().catch(() => undefined);
      if (!stats || this.#connection !== connection) return;
      this.latestStats = stats;
      this.emit('kit-stats', { id, ...stats });
      const now = performance.now();
      if (stats.framesDecoded > lastFrames) {
        if (stalled) {
          stalled = false;
          this.emit('kit-recovered', { id, since: Math.round(now - lastProgress) });
        }
        lastFrames = stats.framesDecoded;
        lastProgress = now;
      } else if (!stalled && now - lastProgress >= stallAfterMs) {
        stalled = true;
        this.emit('kit-stall', { id, since: Math.round(now - lastProgress) });
      }
    };
    return setInterval(() => void sample(), 1000);
  }

  #onAppMessage(message: KitAppMessage): void {
    this.emit('kit-message', { eventType: message.eventType, payload: message.payload });
  }

  /** The video that shows the stream: a slotted one when a connector put media in the light DOM, else the element's own. */
  #mediaVideo(): HTMLVideoElement {
    return this.querySelector<HTMLVideoElement>(':scope > video[slot="media"]') ?? this.#video;
  }

  /** Closes the stream's connection; with a message, it was the element's own decision and `kit-disconnected` says so. */
  #closeConnection(closedByClient?: string): void {
    const connection = this.#connection;
    const activeSession = this.#activeSession;
    this.#connection = undefined;
    this.#input?.dispose();
    this.#input = undefined;
    this.latestStats = undefined;
    if (!connection) return;
    connection.close();
    if (closedByClient && activeSession)
      this.emit('kit-disconnected', { id: activeSession.id, reason: 'closed-by-client', message: closedByClient });
  }

  /**
   * Lets go of the session in use: aborts its requests and connection and, when this element created it,
   * terminates it (unless `terminate` says otherwise). Emits `kit-session-ended` when there was a session.
   */
  #endSession(reason: KitSessionEndReason, options: { terminate?: boolean } = {}): void {
    const session = this.#activeSession;
    this.#closeConnection(`The stream was closed (${reason}).`);
    this.#run?.abort();
    this.#stopClock();
    this.#activeSession = undefined;
    if (session === undefined) return;
    const { id, client } = session;
    const terminate = this.#ownedSessionId === id && (options.terminate ?? true);
    if (terminate) {
      this.#ownedSessionId = undefined;
      this.#setOwnSessionId('');
      this.#terminate(client, id, reason === 'pagehide');
    }
    this.emit('kit-session-ended', { id, reason, terminated: terminate });
  }

  /** Sends the terminate call. It is the one request allowed to outlive the element, so it has no abort signal. */
  #terminate(client: KitSessionClient, id: string, keepalive: boolean): void {
    client.terminate(id, { keepalive }).catch((error: unknown) => {
      const failure = error instanceof KitStreamError ? error : new KitStreamError('network', String(error));
      // Already gone is what terminating asks for.
      if (failure.code === 'not-found') return;
      this.emit('kit-error', {
        code: failure.code,
        status: failure.status,
        message: `Could not terminate session ${id}: ${failure.message}`,
      });
    });
  }

  #fail(error: KitStreamError): void {
    this.error = error;
    this.#setState('error');
    this.emit('kit-error', { code: error.code, status: error.status, message: error.message });
  }

  #setState(next: KitPlayerState, pendingSince?: number): void {
    this.currentState = next;
    if (next !== 'error') this.error = undefined;
    if (next === 'pending') {
      this.pendingSince ??= pendingSince ?? performance.now();
      this.#startClock();
    } else {
      this.pendingSince = undefined;
      this.#stopClock();
    }
  }

  #pollTiming() {
    return { intervalMs: positive(this.pollInterval, 2000), timeoutMs: positive(this.timeout, 300_000) };
  }

  /** Keeps a session created by a run abandoned on removal, so that the element resumes it when it returns. */
  #adoptSession(id: string): void {
    this.#ownedSessionId = id;
    this.#setOwnSessionId(id);
  }

  #setOwnSessionId(id: string): void {
    this.#ownSessionIdValue = id;
    this.sessionId = id;
  }

  #startClock(): void {
    this.now = performance.now();
    this.#clock ??= setInterval(() => (this.now = performance.now()), 1000);
  }

  #stopClock(): void {
    clearInterval(this.#clock);
    this.#clock = undefined;
  }

  #applyMuted(): void {
    for (const media of [this.#video, ...this.querySelectorAll<HTMLMediaElement>(':scope > [slot="media"]')]) {
      if (!media) continue;
      media.muted = this.muted;
      if (!this.muted) media.play().catch(() => undefined);
    }
  }

  async #toggleFullscreen(): Promise<void> {
    try {
      if (document.fullscreenElement === this) await document.exitFullscreen();
      else await this.requestFullscreen();
    } catch {
      // Fullscreen can be refused (an iframe without allowfullscreen, say); the button then does nothing.
    }
  }

  #onMediaSlotChange(event: Event): void {
    this.slottedMedia = (event.target as HTMLSlotElement).assignedElements().some((element) => element instanceof HTMLVideoElement);
    this.#applyMuted();
  }

  readonly #onFullscreenChange = (): void => {
    this.fullscreen = document.fullscreenElement === this;
  };

  readonly #onPageHide = (): void => {
    this.#endSession('pagehide', { terminate: this.terminateOnDisconnect });
    this.#setState('ended');
  };

  readonly #onPageShow = (event: PageTransitionEvent): void => {
    if (event.persisted && !this.#stopped) this.#restart('replaced');
  };
}

/** Endings that reconnecting would not undo: the server ended the stream, or its signaling reported an error. */
function finalFor(reason: KitCloseReason): 'server-ended' | 'signaling' | undefined {
  return reason === 'server-ended' ? reason : reason === 'server-error' ? 'signaling' : undefined;
}

function positive(value: number, fallback: number): number {
  return Number.isFinite(value) && value > 0 ? value : fallback;
}

function missingConfigMessage(config: SessionConfig): string {
  const missing = [!config.appId && 'app-id', !config.profile && 'profile'].filter(Boolean).join(' and ');
  return `Set ${missing} (or session-id) to start a stream.`;
}
