import type { PropertyValues } from 'lit';
import { LiveElement } from '../internal/live-element.js';
import type { KitConnector } from './connector.js';
import { FullscreenController } from './controllers/fullscreen.js';
import { InputForwarding } from './controllers/input-forwarding.js';
import { PageLifecycle } from './controllers/page-lifecycle.js';
import { StreamMonitor } from './controllers/stream-monitor.js';
import type { KitVideoFit } from './input.js';
import { KitStreamError } from './kit-error.js';
import { KitSession, type KitPlayerState, type KitSessionConfig, type KitSessionListener, type KitSessionView } from './kit-session.js';
import { styles } from './kit-stream-player.styles.js';
import { renderPlayer } from './kit-stream-player.template.js';

export type { KitPlayerState } from './kit-session.js';

/** `signaling-secure` (not reflected): present (or "true") forces wss, "false" forces ws, absent follows the page. */
const trueFalseOrUnset = (value: string | null) => (value === null ? undefined : value.toLowerCase() !== 'false');

/** Boolean attributes that are on by default: on unless the attribute says "false". */
const onUnlessFalse = {
  fromAttribute: (value: string | null) => trueFalseOrUnset(value) ?? true,
  toAttribute: (value: boolean) => (value ? '' : 'false'),
};

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

  /** Where the session shows the stream; the session asks for it only once the element has rendered. */
  readonly #view = (): KitSessionView => ({
    host: this,
    video: this.renderRoot.querySelector('video')!,
    surface: this.renderRoot.querySelector('.video-area')!,
  });

  /** Everything the session and the stream monitor report comes through here: state to draw, `session-id`, events. */
  readonly #dispatch: KitSessionListener = (type, detail) => {
    if (type === 'state') this.requestUpdate();
    else if (type === 'session-id') this.sessionId = detail;
    else this.emit(type, detail);
  };

  /** The session's whole life: requesting, polling, connecting, streaming, reconnecting and ending it. */
  readonly #session = new KitSession(this, this.#view);
  readonly #monitor = new StreamMonitor(this, this.#session, this.#dispatch);
  readonly #fullscreen = new FullscreenController(this);
  /** A connector put its own video in the `media` slot: the element's own video hides. */
  #slottedMedia = false;
  /** Re-renders each second while pending, for the waiting time. */
  #tick: ReturnType<typeof setTimeout> | undefined;

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
    this.#session.subscribe(this.#dispatch);
    new InputForwarding(this, this.#session, this.#view);
    new PageLifecycle(this, this.#session);
  }

  /** Where the element is in a session's life; reflected as the `state` attribute. Read-only. */
  get state(): KitPlayerState {
    return this.#session.state;
  }

  /** Starts a session by hand (again), ending the current one first. */
  start(): void {
    this.#session.start(this.#config());
  }

  /** Ends the current session (terminating it if the element created it) and stays idle until `start()`. */
  stop(): void {
    this.#session.stop();
  }

  /** Sends a message to the app, e.g. `sendMessage('openStageRequest', {url})`. Throws when not connected. */
  sendMessage(eventType: string, payload: unknown = {}): void {
    const connection = this.#session.connection;
    if (!connection) throw new KitStreamError('connection', `Cannot send "${eventType}": the stream is not connected.`);
    connection.send({ eventType, payload });
  }

  override connectedCallback(): void {
    super.connectedCallback();
    this.#session.resume();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    // A move takes the element out and back in within one task: only a removal lets go of the session.
    queueMicrotask(() => this.isConnected || this.#session.suspend('disconnected'));
  }

  /** Attribute changes reach the session before rendering, so the state they set is drawn in the same update. */
  protected override willUpdate(): void {
    this.#session.configure(this.#config());
    this.setAttribute('state', this.state);
  }

  protected override updated(changed: PropertyValues): void {
    if (changed.has('muted')) this.#applyMuted();
    clearTimeout(this.#tick);
    if (this.state === 'pending') this.#tick = setTimeout(() => this.requestUpdate(), 1000);
  }

  override render() {
    return renderPlayer(this, this.#session, this.#monitor.stats, this.#fullscreen, this.#slottedMedia, this.#onMediaSlotChange);
  }

  /** The session the attributes describe. */
  #config(): KitSessionConfig {
    const args = { ...this.arguments };
    if (this.usdStageUri) args.usd_stage_uri = this.usdStageUri;
    return {
      server: this.server.trim(),
      appId: this.appId.trim(),
      profile: this.profile.trim(),
      version: this.version.trim(),
      sessionId: this.sessionId.trim(),
      arguments: args,
    };
  }

  #applyMuted(): void {
    for (const media of [this.renderRoot.querySelector('video')!, ...this.querySelectorAll<HTMLMediaElement>(':scope > [slot="media"]')]) {
      media.muted = this.muted;
      if (!this.muted) media.play().catch(() => undefined);
    }
  }

  readonly #onMediaSlotChange = (event: Event): void => {
    this.#slottedMedia = (event.target as HTMLSlotElement).assignedElements().some((element) => element.localName === 'video');
    this.#applyMuted();
    this.requestUpdate();
  };
}
