import { html, nothing, type PropertyValues } from 'lit';
import { LiveElement } from '../internal/live-element.js';
import { formatDuration, sleep } from '../internal/timing.js';
import type { ThetaSetupStep, ThetaStreamSummary } from './events.js';
import { mapStyles, renderIngestorMap } from './ingestor-map.js';
import { ThetaApiError, ThetaClient, type ThetaIngestor, type ThetaStream } from './theta-client.js';
import { styles } from './theta-live-setup.styles.js';

/** What the go-live step is showing. */
type LiveStatus = 'waiting' | 'on' | 'ended' | 'expired';

interface Selection {
  ingestorId: string;
  server: string;
  key: string;
  selectedAt: number;
}

/** What survives a page reload, in `sessionStorage`: never a secret, never the stream key. */
interface SavedProgress {
  streamId: string;
  streamName: string;
  ingestorId?: string;
  selectedAt?: number;
}

interface FailedAction {
  action: string;
  message: string;
  retry: () => void;
}

/** The part of hls.js the preview uses; `import Hls from 'hls.js'` fits it. */
export interface HlsPlayer {
  loadSource(url: string): void;
  attachMedia(media: HTMLMediaElement): void;
  on(event: string, listener: (event: string, data: { fatal?: boolean }) => void): void;
  destroy(): void;
  /** Seconds from the live edge, once known (hls.js 1.x). */
  readonly latency?: number;
}

/** The `Hls` class of hls.js. */
export interface HlsLibrary {
  new (): HlsPlayer;
  isSupported?(): boolean;
}

/** The preview of a live stream, from the moment its video is rendered until it is stopped. */
interface Preview {
  video: HTMLVideoElement;
  uri: string;
  /** Aborts the playlist checks and retry timers. */
  stop: AbortController;
  hls?: HlsPlayer;
  /** Seconds of the three newest segments when playback was started: what a player holds back from live. */
  holdBack?: number;
  /** Wall-clock seconds minus media seconds when playback began; growth past it is time lost to stalls. */
  start?: number;
  retries: number;
  state: 'waiting' | 'playing' | 'failed';
  /** Seconds behind live, rounded. */
  behind?: number;
}

const hlsType = 'application/vnd.apple.mpegurl';

let warnedAboutSecret = false;

const localHosts = new Set(['localhost', '127.0.0.1', '[::1]', '::1']);

/**
 * A guided Theta Video API livestream setup: pick or create a stream, choose an edge ingestor, get the RTMP server
 * and key for OBS, and see the stream go live.
 *
 * Point `api-base` at a Theta proxy (`live-stream-elements/theta-proxy`), which holds the service-account secret on
 * a server. The `serviceAccountSecret` property exists for local tools only.
 *
 * @summary Set up a Theta livestream for OBS, step by step.
 *
 * @fires {CustomEvent<ThetaStreamCreatedDetail>} theta-stream-created - A stream was created.
 * @fires {CustomEvent<ThetaStreamSelectedDetail>} theta-stream-selected - A stream was picked.
 * @fires {CustomEvent<ThetaStreamDeletedDetail>} theta-stream-deleted - A stream was deleted after the user confirmed it.
 * @fires {CustomEvent<ThetaIngestorSelectedDetail>} theta-ingestor-selected - An ingestor was reserved: server, key, expiry.
 * @fires {CustomEvent<ThetaIngestorUnselectedDetail>} theta-ingestor-unselected - The ingestor was released.
 * @fires {CustomEvent<ThetaStatusChangeDetail>} theta-status-change - The stream went live (`on`) or ended (`off`).
 * @fires {CustomEvent<ThetaErrorDetail>} theta-error - A call failed; detail has the service's message.
 *
 * @attr {ThetaSetupStep} step - Read-only: the step the user is on (`stream`, `ingestor` or `live`), as `currentStep`.
 *
 * @csspart base - The outer box.
 * @csspart steps - The list of the three steps.
 * @csspart heading - Each step's heading.
 * @csspart error - The error box (role alert).
 * @csspart stream-list - The account's streams.
 * @csspart create-form - The form that creates a stream.
 * @csspart map - The ingestor map (inline SVG).
 * @csspart ingestor-list - The table of ingestors.
 * @csspart credentials - The RTMP server and stream key.
 * @csspart live-badge - The LIVE badge.
 * @csspart preview - The muted live preview (a `<video>`).
 * @csspart button - Every button.
 *
 * @cssproperty --theta-live-setup-accent - Buttons and highlights. Default #1f6feb.
 * @cssproperty --theta-live-setup-live - The LIVE badge. Default #d1242f.
 * @cssproperty --theta-live-setup-border - Borders. Default a quarter of the text colour.
 * @cssproperty --theta-live-setup-radius - Corner radius. Default 8px.
 * @cssproperty --theta-live-setup-font - Font.
 * @cssproperty --theta-live-setup-error - Error colour. Default #d1242f.
 * @cssproperty --theta-live-setup-map-land - Land on the ingestor map. Default a mix of the text colour.
 * @cssproperty --theta-live-setup-map-sea - Sea on the ingestor map. Default a lighter mix of the text colour.
 */
export class ThetaLiveSetup extends LiveElement {
  static override styles = [styles, mapStyles];

  // Declared without decorators: their compiled form would weigh more than the rest of the element.
  static override properties = {
    apiBase: { attribute: 'api-base', reflect: true },
    serviceAccountId: { attribute: 'service-account-id' },
    streamId: { attribute: 'stream-id' },
    streamName: { attribute: 'stream-name' },
    pollInterval: { attribute: 'poll-interval', type: Number },
    selectionTimeout: { attribute: 'selection-timeout', type: Number },
    requestInit: { attribute: false },
    hlsLibrary: { attribute: false },
    activeStep: { state: true },
    streams: { state: true },
    stream: { state: true },
    ingestors: { state: true },
    selection: { state: true },
    liveStatus: { state: true },
    liveStream: { state: true },
    keyRevealed: { state: true },
    busy: { state: true },
    failure: { state: true },
    limitReached: { state: true },
    announcement: { state: true },
    now: { state: true },
    unmuted: { state: true },
    highlighted: { state: true },
    confirmingDelete: { state: true },
  };

  constructor() {
    super();
    // A secret set on the element before its definition loaded is an own property that hides the accessor:
    // take it over, so that it is used (and warned about) like one set afterwards.
    if (Object.hasOwn(this, 'serviceAccountSecret')) {
      const early = (this as { serviceAccountSecret?: string }).serviceAccountSecret;
      delete (this as { serviceAccountSecret?: string }).serviceAccountSecret;
      this.serviceAccountSecret = early;
    }
    this.apiBase = 'https://api.thetavideoapi.com';
    this.serviceAccountId = '';
    this.streamId = '';
    this.streamName = 'My livestream';
    this.pollInterval = 3000;
    this.selectionTimeout = 300_000;
    this.activeStep = 'stream';
    this.liveStatus = 'waiting';
    this.keyRevealed = false;
    this.limitReached = false;
    this.announcement = '';
    this.now = Date.now();
  }

  /** The Theta Video API, or better a Theta proxy that holds the secret. */
  declare apiBase: string;

  /** The service account whose streams are listed; not needed behind a proxy. */
  declare serviceAccountId: string;

  /** Start at the ingestor step with this stream. */
  declare streamId: string;

  /** The name offered for a new stream. */
  declare streamName: string;

  /** How often the go-live step checks the stream's status, in ms. */
  declare pollInterval: number;

  /** How long an unused ingestor selection lasts, in ms (the service's is 5 minutes). */
  declare selectionTimeout: number;

  /** Merged into every request, e.g. `{credentials: 'include'}` for a proxy behind a login. */
  declare requestInit: RequestInit | undefined;

  /**
   * hls.js, for the live preview where the browser cannot play HLS itself: the `Hls` class (`import Hls from 'hls.js'`)
   * or the URL of hls.js as an ES module, imported when first needed. Never bundled. Property only: an attribute that
   * loads code would let injected markup run scripts.
   */
  declare hlsLibrary: HlsLibrary | string | undefined;

  declare private activeStep: ThetaSetupStep;
  declare private streams: ThetaStream[] | undefined;
  declare private stream: ThetaStream | undefined;
  declare private ingestors: ThetaIngestor[] | undefined;
  declare private selection: Selection | undefined;
  declare private liveStatus: LiveStatus;
  declare private liveStream: ThetaStream | undefined;
  declare private keyRevealed: boolean;
  declare private busy: string | undefined;
  declare private failure: FailedAction | undefined;
  declare private limitReached: boolean;
  declare private announcement: string;
  declare private now: number;
  declare private unmuted: boolean | undefined;
  /** The ingestor hovered or focused, in the table or on the map. */
  declare private highlighted: string | undefined;
  /** The stream whose Delete awaits confirmation. */
  declare private confirmingDelete: string | undefined;

  #secret: string | undefined;
  /** Aborts every request and timer of the current connection to the document. */
  #lifetime = new AbortController();
  #pollController: AbortController | undefined;
  #countdown: ReturnType<typeof setInterval> | undefined;
  #preview: Preview | undefined;
  /** When the pending unselect began; the busy flag shows it on screen. */
  #releasingSince = 0;

  /**
   * The service account's secret. Property only: never an attribute, never rendered, logged or put in an event.
   * It grants full control of the account, so on any page but localhost the element warns that it belongs on a server.
   */
  get serviceAccountSecret(): string | undefined {
    return this.#secret;
  }

  set serviceAccountSecret(secret: string | undefined) {
    this.#secret = secret || undefined;
    if (this.#secret && !warnedAboutSecret && !localHosts.has(globalThis.location?.hostname ?? '')) {
      warnedAboutSecret = true;
      console.warn(
        '<theta-live-setup>: a Theta service-account secret was given to this page. It grants full control of the account; ' +
          'keep it on a server and point api-base at a proxy (live-stream-elements/theta-proxy).',
      );
    }
  }

  /** The step the user is on: `stream`, `ingestor` or `live`. Read-only. */
  get currentStep(): ThetaSetupStep {
    return this.activeStep;
  }

  override connectedCallback(): void {
    super.connectedCallback();
    // Begin in the first update, so that properties a framework sets right after inserting the element count.
    this.#needsBegin = true;
    this.requestUpdate();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.#lifetime.abort();
    this.#stopWatching();
    this.#stopPreview();
  }

  protected override willUpdate(changed: PropertyValues): void {
    const accountChanged = this.hasUpdated && (changed.has('apiBase') || changed.has('serviceAccountId') || changed.has('streamId'));
    if (this.isConnected && (this.#needsBegin || accountChanged)) this.#restart();
    if (changed.has('activeStep') || !this.hasUpdated) this.setAttribute('step', this.activeStep);
  }

  #needsBegin = false;

  /** Forgets what was shown and begins again: on connecting, and when the API or account changes. */
  #restart(): void {
    this.#needsBegin = false;
    this.#lifetime.abort();
    this.#lifetime = new AbortController();
    this.#stopWatching();
    this.streams = undefined;
    this.stream = undefined;
    this.ingestors = undefined;
    this.selection = undefined;
    this.failure = undefined;
    this.busy = undefined;
    this.liveStatus = 'waiting';
    this.limitReached = false;
    this.activeStep = 'stream';
    void this.#begin();
  }

  #client(): ThetaClient {
    return new ThetaClient({
      apiBase: this.apiBase,
      serviceAccountId: this.serviceAccountId || undefined,
      serviceAccountSecret: this.#secret,
      requestInit: this.requestInit,
    });
  }

  get #storageKey(): string {
    return `theta-live-setup:${this.apiBase}|${this.serviceAccountId}`;
  }

  /** Picks up where the user was: a saved selection, a saved stream, the `stream-id` attribute, or the start. */
  async #begin(): Promise<void> {
    const stored = this.#load();
    // The `stream-id` attribute names the stream to set up; saved progress counts only for that same stream.
    const saved = stored && (!this.streamId || stored.streamId === this.streamId) ? stored : undefined;
    const streamId = saved?.streamId ?? (this.streamId || undefined);
    if (!streamId) {
      await this.#loadStreams();
      return;
    }
    await this.#run('load-stream', async (signal) => {
      const stream = await this.#client().getStream(streamId, signal);
      this.stream = stream;
      const credentials = stream.stream_server && stream.stream_key ? { server: stream.stream_server, key: stream.stream_key } : undefined;
      const inWindow = saved?.selectedAt !== undefined && saved.selectedAt + this.selectionTimeout > Date.now();
      // A live stream resumes live however long ago its ingestor was selected; a waiting one only within the window.
      if (saved?.ingestorId && saved.selectedAt !== undefined && credentials && (inWindow || stream.status === 'on')) {
        this.selection = { ingestorId: saved.ingestorId, ...credentials, selectedAt: saved.selectedAt };
        this.#enterLive(stream);
      } else if (stream.status === 'on') {
        this.#enterLive(stream);
      } else {
        this.activeStep = 'ingestor';
        this.#save();
        await this.#loadIngestors();
      }
    });
  }

  // ---- actions -------------------------------------------------------------------------------------------

  /**
   * Runs one call with a busy flag, so a double click never sends it twice, and turns a failure into the error box
   * and a `theta-error` event. Returns false when it failed or was already running.
   */
  async #run(action: string, work: (signal: AbortSignal) => Promise<void>, retry?: () => void): Promise<boolean> {
    if (this.busy === action) return false;
    this.busy = action;
    this.failure = undefined;
    const signal = this.#lifetime.signal;
    try {
      await work(signal);
      return true;
    } catch (error) {
      if (signal.aborted) return false;
      this.#report(action, error, retry ?? (() => void this.#run(action, work, retry)));
      return false;
    } finally {
      if (this.busy === action) this.busy = undefined;
    }
  }

  /** Shows a failed call in the error box (with what Retry does) and reports it as `theta-error`. */
  #report(action: string, error: unknown, retry: () => void): void {
    const failure = error instanceof ThetaApiError ? error : new ThetaApiError(String(error), { status: 0, code: 'network' });
    this.failure = { action, message: failure.message, retry };
    this.emit('theta-error', { step: this.activeStep, action, status: failure.status, code: failure.code, message: failure.message });
  }

  async #loadStreams(): Promise<void> {
    this.activeStep = 'stream';
    await this.#run('list-streams', async (signal) => {
      this.streams = (await this.#client().listStreams(signal)).streams;
    });
  }

  async #createStream(event: SubmitEvent): Promise<void> {
    event.preventDefault();
    const input = (event.currentTarget as HTMLFormElement).elements.namedItem('name') as HTMLInputElement;
    const name = input.value.trim();
    if (!name) {
      input.focus();
      return;
    }
    this.limitReached = false;
    await this.#run('create-stream', async (signal) => {
      try {
        const stream = await this.#client().createStream(name, signal);
        this.emit('theta-stream-created', { stream: summary(stream) });
        this.streams = [...(this.streams ?? []), stream];
        await this.#useStream(stream);
      } catch (error) {
        if (error instanceof ThetaApiError && /limit/i.test(error.message)) this.limitReached = true;
        throw error;
      }
    });
  }

  /** Shows or hides the confirmation of a Delete, and moves focus to where the user continues. */
  async #askDelete(streamId: string | undefined, focusId: string): Promise<void> {
    this.confirmingDelete = streamId;
    await this.updateComplete;
    (this.renderRoot as ShadowRoot).getElementById(focusId)?.focus();
  }

  async #deleteStream(stream: ThetaStream): Promise<void> {
    await this.#run('delete-stream', async (signal) => {
      try {
        await this.#client().deleteStream(stream.id, signal);
      } catch (error) {
        // Already gone (deleted elsewhere): what the user asked for.
        if (!(error instanceof ThetaApiError && error.status === 404)) throw error;
      }
      this.streams = this.streams?.filter((other) => other.id !== stream.id);
      this.limitReached = false;
      this.announcement = `${stream.name} was deleted.`;
      this.emit('theta-stream-deleted', { streamId: stream.id });
      await this.#askDelete(undefined, 'stream-name');
    });
  }

  async #useStream(stream: ThetaStream): Promise<void> {
    this.stream = stream;
    this.emit('theta-stream-selected', { stream: summary(stream) });
    this.activeStep = 'ingestor';
    this.#save();
    await this.#loadIngestors();
  }

  async #loadIngestors(): Promise<void> {
    await this.#run('list-ingestors', async (signal) => {
      this.ingestors = (await this.#client().listIngestors(signal)).ingestors;
    });
  }

  async #selectIngestor(ingestorId: string): Promise<void> {
    const stream = this.stream;
    if (!stream) return;
    if (this.selection?.ingestorId === ingestorId && this.#remaining() > 0) {
      // Still ours: go back to it rather than asking the service again.
      this.#enterLive(stream);
      return;
    }
    const previous = this.selection;
    await this.#run('select-ingestor', async (signal) => {
      if (previous && previous.ingestorId !== ingestorId && this.#remaining() > 0 && this.liveStatus !== 'on') {
        // Only one ingestor at a time: release the one chosen before, so it does not stay reserved.
        await this.#client().unselectIngestor(previous.ingestorId, signal);
        this.selection = undefined;
        this.emit('theta-ingestor-unselected', { streamId: stream.id, ingestorId: previous.ingestorId });
      }
      const { stream_server: server, stream_key: key } = await this.#client().selectIngestor(ingestorId, stream.id, signal);
      const selectedAt = Date.now();
      this.selection = { ingestorId, server, key, selectedAt };
      this.keyRevealed = false;
      this.emit('theta-ingestor-selected', { streamId: stream.id, ingestorId, server, key, expiresAt: selectedAt + this.selectionTimeout });
      this.#enterLive(stream);
    });
  }

  async #unselect(): Promise<void> {
    const { stream, selection } = this;
    if (!stream || !selection) return;
    // The service may take long to release it: the step shows for how long (the countdown's clock ticks meanwhile).
    this.#releasingSince = this.now = Date.now();
    await this.#run('unselect-ingestor', async (signal) => {
      await this.#client().unselectIngestor(selection.ingestorId, signal);
      this.emit('theta-ingestor-unselected', { streamId: stream.id, ingestorId: selection.ingestorId });
      this.selection = undefined;
      this.#stopWatching();
      this.activeStep = 'ingestor';
      this.#save();
      await this.#loadIngestors();
    });
  }

  #back(): void {
    this.failure = undefined;
    if (this.activeStep === 'live') {
      this.#stopWatching();
      this.activeStep = 'ingestor';
      if (!this.ingestors) void this.#loadIngestors();
    } else if (this.activeStep === 'ingestor') {
      this.stream = undefined;
      this.activeStep = 'stream';
      this.#save();
      if (!this.streams) void this.#loadStreams();
    }
  }

  #enterLive(stream: ThetaStream): void {
    this.activeStep = 'live';
    this.liveStream = stream;
    this.liveStatus = stream.status === 'on' ? 'on' : 'waiting';
    this.#save();
    this.#watch(stream.id);
  }

  /** Polls the stream's status and ticks the expiry countdown until the step is left or the element removed. */
  #watch(streamId: string): void {
    this.#stopWatching();
    const controller = new AbortController();
    this.#pollController = controller;
    const signal = AbortSignal.any([controller.signal, this.#lifetime.signal]);
    this.now = Date.now();
    this.#countdown = setInterval(() => {
      this.now = Date.now();
    }, 1000);
    void (async () => {
      let reportedFailure = '';
      while (!signal.aborted) {
        try {
          await sleep(Math.max(250, this.pollInterval), signal);
          const stream = await this.#client().getStream(streamId, signal);
          reportedFailure = '';
          if (this.failure?.action === 'watch-stream') this.failure = undefined;
          this.#onStreamStatus(stream);
        } catch (error) {
          if (signal.aborted) return;
          // One report per distinct failure; polling goes on, as the status may come back.
          const message = error instanceof Error ? error.message : String(error);
          if (message !== reportedFailure) {
            reportedFailure = message;
            this.#report('watch-stream', error, () => this.#watch(streamId));
          }
        }
      }
    })();
  }

  #onStreamStatus(stream: ThetaStream): void {
    const previous = this.liveStatus;
    const { id: streamId, status, playback_uri: playbackUri, player_uri: playerUri } = stream;
    this.liveStream = stream;
    if ((status === 'on') !== (previous === 'on')) {
      this.liveStatus = status === 'on' ? 'on' : 'ended';
      this.announcement = status === 'on' ? 'Your stream is live.' : 'The stream ended.';
      if (status === 'off') {
        // The selection was used: the service released the ingestor when the stream ended.
        this.selection = undefined;
        this.#save();
      }
      this.emit('theta-status-change', { streamId, status, playbackUri, playerUri });
    } else if (previous === 'waiting' && this.selection && this.#remaining() <= 0 && !stream.stream_server) {
      this.liveStatus = 'expired';
      this.announcement = 'The ingestor selection expired.';
      this.#save();
    }
  }

  #stopWatching(): void {
    this.#pollController?.abort();
    this.#pollController = undefined;
    clearInterval(this.#countdown);
    this.#countdown = undefined;
  }

  #remaining(): number {
    return this.selection ? this.selection.selectedAt + this.selectionTimeout - this.now : 0;
  }

  async #copy(what: 'server' | 'key'): Promise<void> {
    const text = what === 'server' ? this.selection?.server : this.selection?.key;
    if (!text) return;
    try {
      await navigator.clipboard.writeText(text);
      this.announcement = what === 'server' ? 'RTMP server copied.' : 'Stream key copied.';
    } catch {
      this.announcement = 'Copying was not allowed: select the text and copy it by hand.';
    }
  }

  #save(): void {
    try {
      if (!this.stream) {
        sessionStorage.removeItem(this.#storageKey);
        return;
      }
      const progress: SavedProgress = { streamId: this.stream.id, streamName: this.stream.name };
      if (this.selection && this.liveStatus !== 'expired' && this.liveStatus !== 'ended') {
        progress.ingestorId = this.selection.ingestorId;
        progress.selectedAt = this.selection.selectedAt;
      }
      sessionStorage.setItem(this.#storageKey, JSON.stringify(progress));
    } catch {
      // Storage can be unavailable (privacy settings); resuming after a reload is then not possible.
    }
  }

  #load(): SavedProgress | undefined {
    try {
      const value = JSON.parse(sessionStorage.getItem(this.#storageKey) ?? 'null') as unknown;
      if (typeof value === 'object' && value !== null && typeof (value as SavedProgress).streamId === 'string')
        return value as SavedProgress;
    } catch {
      // Nothing usable saved.
    }
    return undefined;
  }

  // ---- rendering ---------------------------------------------------------------------------------------

  override render() {
    const steps: Array<[ThetaSetupStep, string]> = [
      ['stream', 'Stream'],
      ['ingestor', 'Ingestor'],
      ['live', 'Go live'],
    ];
    return html`<section part="base" class="base" aria-label="Livestream setup">
      <ol part="steps" class="steps">
        ${steps.map(([step, label]) => html`<li aria-current=${step === this.activeStep ? 'step' : 'false'}>${label}</li>`)}
      </ol>
      <p class="visually-hidden" role="status" aria-live="polite">${this.announcement}</p>
      ${
        this.failure
          ? html`<div part="error" class="error" role="alert">
              <p>${this.failure.message}</p>
              ${
                this.limitReached && this.failure.action === 'create-stream'
                  ? html`<p>
                      Each account can have 3 streams. Reuse one of your streams below instead, or remove one with its Delete button.
                    </p>`
                  : nothing
              }
              <button part="button" type="button" @click=${() => this.failure?.retry()}>Retry</button>
            </div>`
          : nothing
      }
      ${this.activeStep === 'stream' ? this.#renderStreamStep() : this.activeStep === 'ingestor' ? this.#renderIngestorStep() : this.#renderLiveStep()}
    </section>`;
  }

  #renderStreamStep() {
    const streams = this.streams;
    return html`<h2 part="heading">1. Choose a stream</h2>
      ${
        streams === undefined
          ? html`<p>${this.busy === 'list-streams' ? 'Loading your streams...' : ''}</p>`
          : streams.length === 0
            ? html`<p>No streams yet: create one below.</p>`
            : html`<ul part="stream-list" class="stream-list">
                ${streams.map(
                  (stream) =>
                    html`<li>
                      <span class="name" id=${`stream-${stream.id}`}>${stream.name}</span>
                      <span class=${`badge ${stream.status}`}>${stream.status === 'on' ? 'On' : 'Off'}</span>
                      ${stream.update_time ? html`<time datetime=${stream.update_time}>${formatTime(stream.update_time)}</time>` : nothing}
                      <button part="button" type="button" aria-describedby=${`stream-${stream.id}`} @click=${() => this.#useStream(stream)}>
                        Use this stream
                      </button>
                      ${
                        this.confirmingDelete === stream.id
                          ? html`<span class="confirm" role="group" aria-labelledby=${`stream-${stream.id}`}>
                              Delete it for good?
                              <button part="button" type="button" class="danger" @click=${() => this.#deleteStream(stream)}>
                                Delete stream
                              </button>
                              <button
                                part="button"
                                type="button"
                                id="cancel-delete"
                                @click=${() => this.#askDelete(undefined, `delete-${stream.id}`)}
                              >
                                Cancel
                              </button>
                            </span>`
                          : html`<button
                              part="button"
                              type="button"
                              id=${`delete-${stream.id}`}
                              aria-describedby=${`stream-${stream.id}`}
                              @click=${() => this.#askDelete(stream.id, 'cancel-delete')}
                            >
                              Delete
                            </button>`
                      }
                    </li>`,
                )}
              </ul>`
      }
      <form part="create-form" class="create-form" @submit=${this.#createStream}>
        <label for="stream-name">New stream name</label>
        <input id="stream-name" name="name" .value=${this.streamName} maxlength="100" autocomplete="off" required />
        <button part="button" type="submit" ?disabled=${this.busy === 'create-stream'}>Create stream</button>
      </form>`;
  }

  #renderIngestorStep() {
    const ingestors = this.ingestors;
    const highlight = (id: string | undefined) => (this.highlighted = id);
    return html`<h2 part="heading">2. Choose an edge ingestor</h2>
      <p>For the stream <strong>${this.stream?.name ?? ''}</strong>. The nearest ingestor usually gives the best result.</p>
      ${
        ingestors === undefined
          ? html`<p>${this.busy === 'list-ingestors' ? 'Finding ingestors near you...' : ''}</p>`
          : ingestors.length === 0
            ? html`<p>No ingestor is available right now. Try again in a minute.</p>`
            : html`${renderIngestorMap({
                  ingestors,
                  selectedId: this.selection?.ingestorId,
                  highlightedId: this.highlighted,
                  onHighlight: highlight,
                })}
                <table part="ingestor-list" class="ingestor-list">
                  <caption class="visually-hidden">
                    Edge ingestors, nearest first
                  </caption>
                  <thead>
                    <tr>
                      <th scope="col">IP address</th>
                      <th scope="col">State</th>
                      <th scope="col">Stake</th>
                      <th scope="col"><span class="visually-hidden">Action</span></th>
                    </tr>
                  </thead>
                  <tbody @mouseleave=${() => highlight(undefined)} @focusout=${() => highlight(undefined)}>
                    ${ingestors.map((ingestor, index) => {
                      const ours = ingestor.id === this.selection?.ingestorId;
                      return html`<tr
                        class=${ingestor.id === this.highlighted ? 'highlighted' : ''}
                        @mouseenter=${() => highlight(ingestor.id)}
                        @focusin=${() => highlight(ingestor.id)}
                      >
                        <td id=${`ingestor-${index}`}>
                          ${ingestor.ip ?? ingestor.id} ${index === 0 ? html`<span class="badge nearest">Nearest</span>` : nothing}
                          ${ours ? html`<span class="badge">Selected</span>` : nothing}
                        </td>
                        <td>${ingestor.state}</td>
                        <td>${ingestor.stakes === null ? '–' : ingestor.stakes.toLocaleString()}</td>
                        <td>
                          <button
                            part="button"
                            type="button"
                            aria-describedby=${`ingestor-${index}`}
                            ?disabled=${this.busy === 'select-ingestor' || (ingestor.state !== 'available' && !ours)}
                            @click=${() => this.#selectIngestor(ingestor.id)}
                          >
                            Select
                          </button>
                        </td>
                      </tr>`;
                    })}
                  </tbody>
                </table>`
      }
      <div class="actions"><button part="button" type="button" @click=${this.#back}>Back</button></div>`;
  }

  #renderLiveStep() {
    const selection = this.selection;
    const stream = this.liveStream ?? this.stream;
    const releasing = this.busy === 'unselect-ingestor';
    return html`<h2 part="heading">3. Go live</h2>
      ${
        this.liveStatus === 'on'
          ? html`<p class="live"><span part="live-badge" class="live-badge">LIVE</span> ${stream?.name ?? ''} is live.</p>
              ${releasing ? nothing : this.#renderPreview(stream)}`
          : this.liveStatus === 'ended'
            ? html`<p>The stream ended. Select an ingestor again to go live once more.</p>`
            : this.liveStatus === 'expired'
              ? html`<p>The ingestor selection expired: no stream arrived within ${formatDuration(this.selectionTimeout)}.</p>
                  <button part="button" type="button" @click=${() => selection && this.#reselect(selection.ingestorId)}>
                    Select again
                  </button>`
              : nothing
      }
      ${
        selection && this.liveStatus !== 'ended' && this.liveStatus !== 'expired'
          ? html`<dl part="credentials" class="credentials">
                <div>
                  <dt>RTMP server</dt>
                  <dd>
                    <code>${selection.server}</code>
                    <button part="button" type="button" @click=${() => this.#copy('server')}>Copy server</button>
                  </dd>
                </div>
                <div>
                  <dt>Stream key</dt>
                  <dd>
                    <code class="key">${this.keyRevealed ? selection.key : '•'.repeat(16)}</code>
                    <button part="button" type="button" @click=${() => (this.keyRevealed = !this.keyRevealed)}>
                      ${this.keyRevealed ? 'Hide key' : 'Show key'}
                    </button>
                    <button part="button" type="button" @click=${() => this.#copy('key')}>Copy key</button>
                  </dd>
                </div>
              </dl>
              ${
                this.liveStatus === 'waiting'
                  ? html`<ol class="obs-steps">
                        <li>In OBS, open Settings &gt; Stream.</li>
                        <li>Choose Service: Custom.</li>
                        <li>Paste the RTMP server into Server and the stream key into Stream Key.</li>
                        <li>Click Start Streaming.</li>
                      </ol>
                      <p class="countdown">
                        Waiting for your stream. The selection expires in
                        <span class="time">${formatDuration(Math.max(0, this.#remaining()))}</span> unless a stream arrives.
                      </p>`
                  : nothing
              }`
          : nothing
      }
      ${
        releasing
          ? html`<p class="progress">Releasing the ingestor... ${Math.round((this.now - this.#releasingSince) / 1000)} s</p>`
          : nothing
      }
      <div class="actions">
        ${
          selection && this.liveStatus !== 'ended'
            ? html`<button part="button" type="button" ?disabled=${releasing} @click=${this.#unselect}>Unselect</button>`
            : nothing
        }
        <button part="button" type="button" @click=${this.#back}>Back</button>
      </div>`;
  }

  /** The stream itself, muted, with the player page and HLS address beside it. */
  #renderPreview(stream: ThetaStream | undefined) {
    if (!stream) return nothing;
    const uri = stream.playback_uri;
    const preview = this.#preview;
    const state = preview?.state;
    return html`${
        !uri
          ? nothing
          : !document.createElement('video').canPlayType(hlsType) && !this.hlsLibrary
            ? html`<p>This browser cannot play the preview: open the player page to watch your stream.</p>`
            : html`<video
                  part="preview"
                  .muted=${!this.unmuted}
                  autoplay
                  playsinline
                  ?hidden=${state === 'failed'}
                  aria-label="Preview of your stream"
                  @playing=${this.#onPlaying}
                  @timeupdate=${this.#onPreviewTime}
                  @error=${() => this.#preview && !this.#preview.hls && void this.#retryPreview(this.#preview)}
                ></video>
                <p class="actions">
                  ${
                    state === 'failed'
                      ? 'The preview could not start.'
                      : state !== 'playing'
                        ? 'Waiting for the first seconds of video...'
                        : preview?.behind
                          ? `About ${preview.behind} s behind live.`
                          : ''
                  }
                  <button part="button" type="button" @click=${() => (this.unmuted = !this.unmuted)}>
                    ${this.unmuted ? 'Mute' : 'Unmute'}
                  </button>
                </p>`
      }
      <p>
        ${
          stream.player_uri
            ? html`<a href=${safeLink(stream.player_uri)} target="_blank" rel="noopener noreferrer">Open the player page</a>`
            : nothing
        }
        ${uri ? html`HLS: <a href=${safeLink(uri)} target="_blank" rel="noopener noreferrer"><code>${uri}</code></a>` : nothing}
      </p>`;
  }

  // ---- preview -------------------------------------------------------------------------------------------

  /** Starts the preview when its video appears or the playlist changes, and stops it when the video goes. */
  protected override updated(): void {
    const video = this.renderRoot.querySelector('video');
    const uri = this.liveStream?.playback_uri;
    if (this.#preview && (this.#preview.video !== video || this.#preview.uri !== uri)) this.#stopPreview();
    if (video && uri && !this.#preview)
      void this.#attachPreview((this.#preview = { video, uri, stop: new AbortController(), retries: 0, state: 'waiting' }));
  }

  /**
   * Waits for the first segments, then plays natively or through hls.js. Chromium refuses a live playlist of fewer
   * than three segments, and hls.js does not retry a 404, so both wait for the playlist to hold three.
   */
  async #attachPreview(preview: Preview): Promise<void> {
    const { video, uri, stop } = preview;
    try {
      const Hls = video.canPlayType(hlsType) ? undefined : await importHls(this.hlsLibrary);
      preview.holdBack = await segmentsReady(uri, stop.signal);
      if (Hls) {
        const hls = (preview.hls = new Hls());
        hls.on('hlsError', (_event, data) => data.fatal && void this.#retryPreview(preview));
        hls.loadSource(uri);
        hls.attachMedia(video);
      } else {
        video.src = uri;
      }
    } catch {
      if (!stop.signal.aborted) this.#show(preview, 'failed');
    }
  }

  #onPlaying(): void {
    const preview = this.#preview;
    if (!preview) return;
    preview.retries = 0;
    // Taken once: later `playing` events follow stalls, whose time counts as falling behind.
    preview.start ??= performance.now() / 1000 - preview.video.currentTime;
    this.#show(preview, 'playing');
  }

  #show(preview: Preview, state: Preview['state']): void {
    preview.state = state;
    this.requestUpdate();
  }

  /** A player that failed before or while playing starts over, a few times, later each time. */
  async #retryPreview(preview: Preview): Promise<void> {
    if (this.#preview !== preview) return;
    stopMedia(preview);
    preview.start = undefined;
    this.#show(preview, 'waiting');
    try {
      if (++preview.retries > 5) throw new Error('gave up');
      await sleep(500 * 2 ** preview.retries, preview.stop.signal);
    } catch {
      if (!preview.stop.signal.aborted) this.#show(preview, 'failed');
      return;
    }
    await this.#attachPreview(preview);
  }

  /**
   * "About N s behind live": hls.js's own estimate, or else the three segments a player holds back from the newest
   * (read from the playlist when playback began) plus the time lost since to stalls. Native live HLS has no
   * `seekable` range in Chromium to measure it from.
   */
  #onPreviewTime(): void {
    const preview = this.#preview;
    if (preview?.start === undefined) return;
    const lost = performance.now() / 1000 - preview.video.currentTime - preview.start;
    const behind = Math.max(1, Math.round(preview.hls?.latency || (preview.holdBack ?? NaN) + lost));
    if (behind !== preview.behind && behind > 0) {
      preview.behind = behind;
      this.requestUpdate();
    }
  }

  #stopPreview(): void {
    const preview = this.#preview;
    this.#preview = undefined;
    if (!preview) return;
    preview.stop.abort();
    stopMedia(preview);
  }

  async #reselect(ingestorId: string): Promise<void> {
    this.selection = undefined;
    await this.#selectIngestor(ingestorId);
  }
}

function summary(stream: ThetaStream): ThetaStreamSummary {
  return { id: stream.id, name: stream.name, status: stream.status };
}

function formatTime(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
}

/** Only web links become `href`s: a `javascript:` address from a server must not run. */
function safeLink(url: string): string {
  return /^https?:\/\//i.test(url) ? url : '#';
}

/** The hls.js class from the `hlsLibrary` property; throws when there is none or it cannot play here. */
async function importHls(library: HlsLibrary | string | undefined): Promise<HlsLibrary> {
  const Hls =
    typeof library === 'string'
      ? ((await import(/* @vite-ignore */ /* webpackIgnore: true */ new URL(library, document.baseURI).href)) as { default?: HlsLibrary })
          .default
      : library;
  if (!Hls || Hls.isSupported?.() === false) throw new Error('hls.js cannot play here');
  return Hls;
}

/**
 * Waits until the live playlist lists three segments, following a master playlist to its first variant, and returns
 * their seconds. Gives up after about a minute. Returns undefined at once when this page cannot read the playlist
 * (no CORS): the player then tries by itself.
 */
async function segmentsReady(uri: string, signal: AbortSignal): Promise<number | undefined> {
  for (let delay = 500, waited = 0; waited < 60_000; waited += delay, delay = Math.min(delay * 2, 4000)) {
    let text = '';
    for (let url = uri, hops = 0; hops < 2; hops++) {
      try {
        const response = await fetch(url, { signal, cache: 'no-store' });
        text = response.ok ? await response.text() : '';
      } catch (error) {
        if (signal.aborted) throw error;
        return undefined;
      }
      const variant = /#EXT-X-STREAM-INF[^\n]*\n\s*([^#\s][^\n]*)/.exec(text)?.[1];
      if (!variant) break;
      url = new URL(variant.trim(), url).href;
    }
    const durations = [...text.matchAll(/#EXTINF:\s*([\d.]+)/g)].map((match) => Number(match[1]));
    if (durations.length >= 3) return durations.slice(-3).reduce((sum, seconds) => sum + seconds, 0);
    await sleep(delay, signal);
  }
  throw new Error('No segments');
}

/** Stops a preview's downloads in place: hls.js destroyed, or the native source emptied. */
function stopMedia(preview: Preview): void {
  preview.hls?.destroy();
  preview.hls = undefined;
  if (preview.video.hasAttribute('src')) {
    preview.video.removeAttribute('src');
    preview.video.load();
  }
}
