import { Task } from '@lit/task';
import { type PropertyValues, html, nothing } from 'lit';
import { property, state } from 'lit/decorators.js';
import { LiveElement } from '../internal/live-element.js';
import { formatDuration, isAbort } from '../internal/timing.js';
import { KitStreamError } from './kit-error.js';
import type { KitSessionEndReason } from './events.js';
import { styles } from './kit-stream-player.styles.js';
import { KitSessionClient, type KitReadySession } from './session-client.js';

/** Where the element is in a session's life. */
export type KitPlayerState = 'idle' | 'requesting' | 'pending' | 'connecting' | 'streaming' | 'reconnecting' | 'error' | 'ended';

/** The attributes that identify a session: changing one while a session is in use starts afresh. */
const sessionKeys = ['server', 'appId', 'profile', 'version', 'sessionId'] as const;

/** `terminate-on-disconnect` is on unless the attribute says "false". */
const onUnlessFalse = {
  fromAttribute: (value: string | null) => value === null || value.toLowerCase() !== 'false',
  toAttribute: (value: boolean) => (value ? '' : 'false'),
};

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
 * ready, and connects to it.
 *
 * @summary A live, interactive Omniverse Kit app stream in one tag.
 *
 * @fires {CustomEvent<KitSessionPendingDetail>} kit-session-pending - The service is still preparing the session.
 * @fires {CustomEvent<KitSessionReadyDetail>} kit-session-ready - The session is ready; detail has its host and ports.
 * @fires {CustomEvent<KitErrorDetail>} kit-error - Something failed; detail has a code, the HTTP status and the message shown.
 * @fires {CustomEvent<KitSessionEndedDetail>} kit-session-ended - The element let go of a session (and terminated it if it had created it).
 *
 * @slot waiting - Replaces the spinner shown while the session is requested, prepared and connected.
 *
 * @csspart base - The outer box.
 * @csspart video-area - The box the video is fitted into.
 * @csspart video - The `<video>` element.
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
 */
export class KitStreamPlayer extends LiveElement {
  static override styles = styles;

  /** Base URL of the Kit App Streaming API; may carry a path prefix (`https://host/streaming`). */
  @property({ reflect: true }) accessor server = '';

  /** Id of the application to stream (`POST /stream` `id`). */
  @property({ attribute: 'app-id', reflect: true }) accessor appId = '';

  /** Runtime profile of the application. */
  @property({ reflect: true }) accessor profile = '';

  /** Version of the application; empty means the latest. */
  @property({ reflect: true }) accessor version = '';

  /** USD stage the app loads, sent as `arguments.usd_stage_uri`. */
  @property({ attribute: 'usd-stage-uri' }) accessor usdStageUri = '';

  /** Further `arguments` for `POST /stream`, merged with `usd-stage-uri`. */
  @property({ attribute: false }) accessor arguments: Record<string, unknown> | undefined = undefined;

  /** Attach to this existing session instead of creating one. After the element creates a session, it holds that session's id. */
  @property({ attribute: 'session-id', reflect: true }) accessor sessionId = '';

  /** First wait between status polls, in ms; grows by 1.5x per pending answer up to 10 s. A `Retry-After` header wins. */
  @property({ attribute: 'poll-interval', type: Number }) accessor pollInterval = 2000;

  /** How long to wait for the session to be ready, in ms. First starts of an app compile shaders for minutes. */
  @property({ type: Number }) accessor timeout = 300_000;

  /** How long one HTTP request may take, in ms, before it counts as failed. */
  @property({ attribute: 'request-timeout', type: Number }) accessor requestTimeout = 30_000;

  /**
   * Terminate the session on removal and on `pagehide`. Applies only to sessions this element created, never to
   * ones it attached to with `session-id`. Set the attribute to "false" to keep the session.
   */
  @property({ attribute: 'terminate-on-disconnect', converter: onUnlessFalse }) accessor terminateOnDisconnect = true;

  /** Merged into every request: headers and credentials for gateways that need auth. */
  @property({ attribute: false }) accessor requestInit: RequestInit | undefined = undefined;

  @state() private accessor currentState: KitPlayerState = 'idle';
  @state() private accessor error: KitStreamError | undefined = undefined;
  @state() private accessor pendingSince: number | undefined = undefined;
  @state() private accessor now = 0;

  /** The session this element created and has not terminated yet. */
  private ownedSessionId: string | undefined;
  /** The session in use (pending, ready or streaming) and the client of the server it lives on. */
  private activeSession: { id: string; client: KitSessionClient } | undefined;
  /** A `session-id` value the element set itself, so it does not count as a user's change. */
  private ownSessionIdValue: string | undefined;
  /** Set by `stop()`: attribute changes do not start a session again until `start()`. */
  private stopped = false;
  private clock: ReturnType<typeof setInterval> | undefined;

  private readonly sessionTask = new Task(this, {
    autoRun: false,
    args: () => [this.sessionConfig()] as const,
    task: ([config], { signal }) => this.acquireSession(config, signal),
  });

  /** Where the element is in a session's life; reflected as the `state` attribute. Read-only. */
  get state(): KitPlayerState {
    return this.currentState;
  }

  /** Starts a session by hand (again), ending the current one first. */
  start(): void {
    this.stopped = false;
    this.restart('replaced');
  }

  /** Ends the current session (terminating it if the element created it) and stays idle until `start()`. */
  stop(): void {
    this.stopped = true;
    this.endSession('stopped');
    this.setState('ended');
  }

  override connectedCallback(): void {
    super.connectedCallback();
    window.addEventListener('pagehide', this.onPageHide);
    window.addEventListener('pageshow', this.onPageShow);
    // Back in a document (re-attached, or moved): pick up where the session was. A moved element keeps its session.
    if (this.hasUpdated && !this.stopped) this.resume();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    window.removeEventListener('pagehide', this.onPageHide);
    window.removeEventListener('pageshow', this.onPageShow);
    // Stop every request and timer now; whether to terminate is decided once we know this is a removal, not a move.
    this.sessionTask.abort();
    this.stopClock();
    queueMicrotask(() => {
      if (this.isConnected) return;
      this.endSession('disconnected', { terminate: this.terminateOnDisconnect });
      this.setState('idle');
    });
  }

  /** Session changes are acted on before rendering, so the state they set is drawn in the same update. */
  protected override willUpdate(changed: PropertyValues): void {
    const keysChanged = sessionKeys.some((key) => changed.has(key) && !(key === 'sessionId' && this.sessionId === this.ownSessionIdValue));
    if (keysChanged && this.isConnected && !this.stopped) this.restart('replaced');
    if (changed.has('currentState') || !this.hasUpdated) this.setAttribute('state', this.currentState);
  }

  override render() {
    const busy = this.currentState === 'requesting' || this.currentState === 'pending' || this.currentState === 'connecting' || this.currentState === 'reconnecting';
    const overlay = this.currentState !== 'streaming';
    return html`
      <div part="base" class="base">
        <div part="video-area" class="video-area">
          <video part="video" muted playsinline aria-label="Live app stream"></video>
        </div>
        ${overlay
          ? html`<div part="overlay" class="overlay">
              ${busy ? html`<slot name="waiting"><div part="spinner" class="spinner" aria-hidden="true"></div></slot>` : nothing}
              <p part="status" class="status" role="status" aria-live="polite">${this.statusText()}${this.elapsedText()}</p>
              ${this.error
                ? html`<div part="error" class="error" role="alert">
                    <p part="error-message" class="error-message">${this.error.message}</p>
                    <button part="retry-button" type="button" @click=${this.start}>Retry</button>
                  </div>`
                : nothing}
            </div>`
          : nothing}
      </div>
    `;
  }

  private statusText(): string {
    switch (this.currentState) {
      case 'requesting':
        return 'Requesting a session...';
      case 'pending':
        return 'Preparing the app...';
      case 'connecting':
        return 'Connecting...';
      case 'reconnecting':
        return 'Reconnecting...';
      case 'ended':
        return 'The stream has ended.';
      case 'error':
        return 'The stream could not start.';
      default:
        return '';
    }
  }

  /** The ticking time while pending; hidden from the live region so screen readers are not told every second. */
  private elapsedText() {
    if (this.currentState !== 'pending' || this.pendingSince === undefined) return nothing;
    return html` <span class="elapsed" aria-hidden="true">${formatDuration(this.now - this.pendingSince)}</span>`;
  }

  private sessionConfig(): SessionConfig {
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

  private isConfigured(config = this.sessionConfig()): boolean {
    return config.server !== '' && (config.sessionId !== '' || (config.appId !== '' && config.profile !== ''));
  }

  private restart(reason: KitSessionEndReason): void {
    this.endSession(reason);
    this.resume();
  }

  /** Starts (or re-attaches to) the configured session without ending anything first. */
  private resume(): void {
    if (!this.isConnected) return;
    this.error = undefined;
    if (!this.isConfigured()) {
      if (this.stopped || !this.server) this.setState('idle');
      else this.fail(new KitStreamError('configuration', missingConfigMessage(this.sessionConfig())));
      return;
    }
    void this.sessionTask.run();
  }

  private client(config: SessionConfig): KitSessionClient {
    return new KitSessionClient({ server: config.server, requestInit: this.requestInit, requestTimeoutMs: this.requestTimeout });
  }

  /** Creates or finds the session and waits until it is ready. Runs as the session task, so a new run aborts this one. */
  private async acquireSession(config: SessionConfig, signal: AbortSignal): Promise<void> {
    const client = this.client(config);
    const startedAt = performance.now();
    try {
      let answer;
      if (config.sessionId) {
        this.setState('pending', startedAt);
        this.activeSession = { id: config.sessionId, client };
        answer = await client.get(config.sessionId, signal);
      } else {
        this.setState('requesting');
        answer = await client.create(
          { appId: config.appId, profile: config.profile, version: config.version || undefined, arguments: config.arguments },
          signal,
        );
        this.ownedSessionId = answer.id;
        this.activeSession = { id: answer.id, client };
        this.setOwnSessionId(answer.id);
      }
      let ready: KitReadySession;
      if (answer.ready) {
        ready = answer;
      } else {
        this.setState('pending', startedAt);
        this.emit('kit-session-pending', { id: answer.id, elapsed: Math.round(performance.now() - startedAt), attempt: 1, message: answer.message });
        ready = await client.pollUntilReady(answer.id, {
          signal,
          intervalMs: positive(this.pollInterval, 2000),
          timeoutMs: positive(this.timeout, 300_000),
          startedAt,
          onPending: ({ id, elapsedMs, attempt, message }) =>
            this.emit('kit-session-pending', { id, elapsed: Math.round(elapsedMs), attempt: attempt + 1, message }),
        });
      }
      signal.throwIfAborted();
      this.onReady(ready);
    } catch (error) {
      if (isAbort(error, signal)) return;
      const failure = error instanceof KitStreamError ? error : new KitStreamError('network', String(error));
      this.fail(failure);
      // A session the service no longer knows needs no terminate call.
      this.endSession('error', { terminate: failure.code !== 'not-found' });
    }
  }

  private onReady(session: KitReadySession): void {
    this.setState('connecting');
    const { host, signalingPort, mediaPort } = session.target;
    this.emit('kit-session-ready', { id: session.id, host, signalingPort, mediaPort, routes: session.routes });
  }

  /**
   * Lets go of the session in use: aborts its requests and, when this element created it, terminates it
   * (unless `terminate` says otherwise). Emits `kit-session-ended` when there was a session.
   */
  private endSession(reason: KitSessionEndReason, options: { terminate?: boolean } = {}): void {
    this.sessionTask.abort();
    this.stopClock();
    const session = this.activeSession;
    this.activeSession = undefined;
    if (session === undefined) return;
    const { id, client } = session;
    const terminate = this.ownedSessionId === id && (options.terminate ?? true);
    if (terminate) {
      this.ownedSessionId = undefined;
      this.setOwnSessionId('');
      this.terminate(client, id, reason === 'pagehide');
    }
    this.emit('kit-session-ended', { id, reason, terminated: terminate });
  }

  /** Sends the terminate call. It is the one request allowed to outlive the element, so it has no abort signal. */
  private terminate(client: KitSessionClient, id: string, keepalive: boolean): void {
    client.terminate(id, { keepalive }).catch((error: unknown) => {
      const failure = error instanceof KitStreamError ? error : new KitStreamError('network', String(error));
      this.emit('kit-error', { code: failure.code, status: failure.status, message: `Could not terminate session ${id}: ${failure.message}` });
    });
  }

  private fail(error: KitStreamError): void {
    this.error = error;
    this.setState('error');
    this.emit('kit-error', { code: error.code, status: error.status, message: error.message });
  }

  private setState(next: KitPlayerState, pendingSince?: number): void {
    this.currentState = next;
    if (next !== 'error') this.error = undefined;
    if (next === 'pending') {
      this.pendingSince ??= pendingSince ?? performance.now();
      this.startClock();
    } else {
      this.pendingSince = undefined;
      this.stopClock();
    }
  }

  private setOwnSessionId(id: string): void {
    this.ownSessionIdValue = id;
    this.sessionId = id;
  }

  private startClock(): void {
    this.now = performance.now();
    this.clock ??= setInterval(() => (this.now = performance.now()), 1000);
  }

  private stopClock(): void {
    clearInterval(this.clock);
    this.clock = undefined;
  }

  private readonly onPageHide = (): void => {
    this.endSession('pagehide', { terminate: this.terminateOnDisconnect });
    this.setState('ended');
  };

  private readonly onPageShow = (event: PageTransitionEvent): void => {
    if (event.persisted && !this.stopped) this.restart('replaced');
  };
}

function positive(value: number, fallback: number): number {
  return Number.isFinite(value) && value > 0 ? value : fallback;
}

function missingConfigMessage(config: SessionConfig): string {
  const missing = [!config.appId && 'app-id', !config.profile && 'profile'].filter(Boolean).join(' and ');
  return `Set ${missing} (or session-id) to start a stream.`;
}
