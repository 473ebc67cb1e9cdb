import { isAbort, sleep } from '../internal/timing.js';
import type { KitCloseReason, KitConnection } from './connector.js';
import type { KitSessionEndReason } from './events.js';
import { type KitErrorCode, KitStreamError, toKitError } from './kit-error.js';
import { KitSignalingConnector } from './kit-signaling-connector.js';
import type { KitPlayerState, KitSessionConfig, KitSessionListener, KitSessionSettings, KitSessionView } from './kit-session.types.js';
import { type KitReadySession, type KitSessionAnswer, KitSessionClient } from './session-client.js';

export type * from './kit-session.types.js';

/** The video that shows the stream: one a connector put in the light DOM, else the element's own. */
export function shownVideo({ host, video }: KitSessionView): HTMLVideoElement {
  return host.querySelector<HTMLVideoElement>(':scope > video[slot="media"]') ?? video;
}

/** How one connection ended. */
type Loss = { reason: KitCloseReason | 'connect-failed'; message: string };

/**
 * The life of one Kit App Streaming session, from the request to the end, with no Lit and no DOM of its own: the
 * element turns its attributes and lifecycle into the calls below, and draws and dispatches what `subscribe` reports.
 *
 * ```
 * idle -> requesting -> (pending ->) connecting -> streaming -> reconnecting -> streaming ...
 *         (attaching to a session-id: pending)          `-- lost, up to maxReconnects --'
 * any -> error (a failure)   any -> ended (stop(), pagehide, the server ended it)   any -> idle (removal)
 * ```
 *
 * A session can only start in `#begin`. Each start lets go of the session in use first; letting go terminates a
 * session this object created (once: it forgets the id as it sends the call), and a create answer that arrives
 * after its run was abandoned is terminated too, so every created session is terminated exactly once unless the
 * page asked to keep it.
 */
export class KitSession {
  /** Where the session is in its life. */
  readonly state: KitPlayerState = 'idle';
  /** Why the session failed, in state `error`. */
  readonly error: KitStreamError | undefined;
  /** `performance.now()` when the wait for the app began, in state `pending`. */
  readonly pendingSince: number | undefined;
  readonly #listeners = new Set<KitSessionListener>();
  /** What to run; its `sessionId` follows the session this object created, as the element's `session-id` does. */
  #config: KitSessionConfig | undefined;
  /** Set by `stop()`: nothing starts again until `start()`. */
  #stopped = false;
  /** Out of the document or the page hidden: nothing starts until `resume()`. */
  #suspended = true;
  /** Aborts the current run: one run is one session's whole life, abortable at any point of it. */
  #run: AbortController | undefined;
  /** The session in use (pending, ready or streaming) and the client of the server it lives on. */
  #active: { id: string; client: KitSessionClient } | undefined;
  /** The session this object created and has not terminated; `''` for none. */
  #created = '';
  #connection: KitConnection | undefined;
  readonly #settings: KitSessionSettings;
  /** Asked for when a connection is made: the element has rendered by then. */
  readonly #view: () => KitSessionView;

  constructor(settings: KitSessionSettings, view: () => KitSessionView) {
    this.#settings = settings;
    this.#view = view;
  }

  /** The id of the session in use. */
  get id(): string | undefined {
    return this.#active?.id;
  }

  /** The stream's connection, from the moment it is made until it closes. */
  get connection(): KitConnection | undefined {
    return this.#connection;
  }

  /** Calls `listener` with every update from now on; returns the function that stops that. */
  subscribe(listener: KitSessionListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Starts `config` (kept as the session's own) now, after `stop()` too, letting go of the session in use first. */
  start(config: KitSessionConfig): void {
    this.#stopped = false;
    this.#config = config;
    this.#begin();
  }

  /** Takes the current configuration (kept as the session's own); starts over when it names another session. */
  configure(config: KitSessionConfig): void {
    const previous = this.#config;
    this.#config = config;
    if (!previous || identity.some((key) => previous[key] !== config[key])) this.#begin();
  }

  /** Lets go of the session (terminating it if this object created it) and stays `ended` until `start()`. */
  stop(): void {
    this.#stopped = true;
    this.#letGo('stopped');
    this.#set('ended');
  }

  /**
   * Lets go of the session until `resume()`: the element was removed (not moved), or the page is going away or into
   * the back/forward cache. A session this object created is kept unless `terminateOnDisconnect`.
   */
  suspend(reason: 'disconnected' | 'pagehide'): void {
    this.#suspended = true;
    this.#letGo(reason, this.#settings.terminateOnDisconnect);
    this.#set(reason === 'pagehide' ? 'ended' : 'idle');
  }

  /** The element is in the document and the page is shown: after `suspend()`, starts again where it left off. */
  resume(): void {
    if (!this.#suspended) return;
    this.#suspended = false;
    this.#begin();
  }

  /** The one place a session starts. */
  #begin(): void {
    const config = this.#config;
    if (this.#suspended || this.#stopped || !config) return;
    this.#letGo('replaced');
    const { server, appId, profile } = config;
    if (server && (config.sessionId || (appId && profile))) {
      this.#run = new AbortController();
      void this.#live(config, this.#run.signal);
    } else if (server) {
      const missing = [!appId && 'app-id', !profile && 'profile'].filter(Boolean).join(' and ');
      this.#fail(new KitStreamError('configuration', `Set ${missing} (or session-id) to start a stream.`));
    } else this.#set('idle');
  }

  /** A session's whole life. Returns when it fails or ends; `#letGo` aborts it otherwise. */
  async #live(config: KitSessionConfig, signal: AbortSignal): Promise<void> {
    const { requestInit, requestTimeout } = this.#settings;
    const client = new KitSessionClient({ server: config.server, requestInit, requestTimeoutMs: requestTimeout });
    try {
      const ready = await this.#acquire(client, config, signal);
      this.#set('connecting');
      this.#emit('kit-session-ready', { id: ready.id, ...ready.target, routes: ready.routes });
      await this.#stream(client, ready, signal);
    } catch (error) {
      if (isAbort(error, signal)) return;
      const failure = toKitError(error, 'connection');
      if (failure.code === 'server-ended') {
        this.#letGo('server-ended');
        this.#set('ended');
        return;
      }
      this.#fail(failure);
      // A session the service no longer knows needs no terminate call.
      this.#letGo('error', failure.code !== 'not-found');
    }
  }

  /** Creates (or finds) the session and waits until it is ready. */
  async #acquire(client: KitSessionClient, config: KitSessionConfig, signal: AbortSignal): Promise<KitReadySession> {
    const startedAt = performance.now();
    // Read now: the id of a session created below is written into the configuration.
    const { sessionId } = config;
    let answer: KitSessionAnswer;
    if (sessionId) {
      this.#set('pending', startedAt);
      this.#active = { id: sessionId, client };
      answer = await client.get(sessionId, signal);
    } else {
      this.#set('requesting');
      // Not aborted with the run: a gateway may create the session even if the page stops listening, and a session
      // whose id was never learned could never be terminated. (An empty version or arguments are left out.)
      answer = await client.create(config);
      if (signal.aborted) {
        // An abandoned run terminates what it created, unless suspended with terminateOnDisconnect off: then it keeps
        // it, as it would have kept a session created in time.
        if (this.#suspended && !this.#settings.terminateOnDisconnect) this.#own(answer.id);
        else this.#terminate(client, answer.id, false);
        throw signal.reason;
      }
      this.#own(answer.id);
      this.#active = { id: answer.id, client };
    }
    if (answer.ready) return answer;
    // Attaching to a session-id is pending from the start.
    if (!sessionId) this.#set('pending', startedAt);
    const pending = ({ id, message }: { id: string; message?: string }, attempt: number) =>
      this.#emit('kit-session-pending', { id, elapsed: Math.round(performance.now() - startedAt), attempt, message });
    pending(answer, 1);
    // The poll's first answer is the second pending one.
    return client.pollUntilReady(answer.id, {
      signal,
      ...this.#pollTiming(),
      startedAt,
      onPending: (info) => pending(info, info.attempt + 1),
    });
  }

  /**
   * Streams the session; when the connection is lost, checks the session and reconnects with backoff up to
   * `maxReconnects` times. Throws when the session is gone or the attempts are used up.
   */
  async #stream(client: KitSessionClient, ready: KitReadySession, signal: AbortSignal): Promise<never> {
    let session: KitReadySession | undefined = ready;
    let failures = 0;
    let readyAt = performance.now();
    let lastMessage = '';
    for (;;) {
      if (session) {
        const ended = await this.#streamOnce(client, session, readyAt, signal);
        if (ended.streamed) failures = 0;
        lastMessage = ended.message;
      }
      // A value that is no number (a typo in `max-reconnects`) allows no reconnect rather than endless ones.
      const limit = Math.max(0, Math.floor(this.#settings.maxReconnects)) || 0;
      if (++failures > limit) {
        throw new KitStreamError(
          'connection',
          limit === 0
            ? `The stream was lost: ${lastMessage}`
            : `The stream was lost and ${limit} reconnect attempts failed. Last: ${lastMessage}`,
        );
      }
      this.#set('reconnecting');
      await sleep(Math.min(500 * 2 ** (failures - 1), 8000), signal);
      try {
        const answer = await client.get(ready.id, signal);
        session = answer.ready ? answer : await client.pollUntilReady(ready.id, { signal, ...this.#pollTiming() });
        readyAt = performance.now();
      } catch (error) {
        // The network that dropped the stream may drop the status check too: that is one failed attempt, not the end.
        if (!(error instanceof KitStreamError) || !error.transient) throw error;
        session = undefined;
        lastMessage = error.message;
      }
    }
  }

  /**
   * One connection: connect, wait for the first frame, then stream until it closes. Resolves with how it ended;
   * throws when reconnecting would not help (the server ended the stream, or its signaling reported an error).
   */
  async #streamOnce(
    client: KitSessionClient,
    session: KitReadySession,
    readyAt: number,
    signal: AbortSignal,
  ): Promise<{ message: string; streamed: boolean }> {
    const { id } = session;
    const settings = this.#settings;
    const view = this.#view();
    const attempt = new AbortController();
    const attemptSignal = AbortSignal.any([signal, attempt.signal]);
    let onLost!: (loss: Loss) => void;
    // Settles when the connection is lost, or rejects when the run is abandoned (with the run's reason), so that
    // nothing waits forever.
    const lost = new Promise<Loss>((resolve, reject) => {
      onLost = resolve;
      attemptSignal.addEventListener('abort', () => reject(attemptSignal.reason));
    });
    lost.catch(() => undefined);
    let connection: KitConnection | undefined;
    let streamed = false;
    /** Reports how the connection ended; throws when reconnecting would not undo that ending. */
    const end = (loss: Loss, final?: KitErrorCode) => {
      this.#emit('kit-disconnected', { id, ...loss });
      final ??= loss.reason === 'server-ended' ? 'server-ended' : loss.reason === 'server-error' ? 'signaling' : undefined;
      if (final) throw new KitStreamError(final, loss.message);
      return { message: loss.message, streamed };
    };
    try {
      const connector =
        settings.connector ?? new KitSignalingConnector({ signalingPath: settings.signalingPath, secure: settings.signalingSecure });
      view.surface.style.cursor = '';
      try {
        connection = await connector.connect({
          target: { ...session.target, sessionId: id, server: client.server },
          video: view.video,
          host: view.host,
          signal: attemptSignal,
          width: settings.streamWidth,
          height: settings.streamHeight,
          fps: settings.fps,
          maxBitrate: settings.maxBitrate,
          accessToken: settings.accessToken,
          debug: settings.debug,
          onMessage: (message) => this.#emit('kit-message', message),
          onTimerWarning: (code, secondsLeft) => this.#emit('kit-timer-warning', { code, secondsLeft }),
          onCursor: (cursor) => (view.surface.style.cursor = cursor),
          onClosed: (reason, message = reason) => onLost({ reason, message }),
        });
      } catch (error) {
        if (isAbort(error, signal)) throw error;
        const message = error instanceof Error ? error.message : String(error);
        const code = error instanceof KitStreamError ? error.code : undefined;
        return end({ reason: code === 'server-ended' ? code : 'connect-failed', message }, code === 'signaling' ? code : undefined);
      }
      this.#connection = connection;
      let loss = await Promise.race([this.#firstFrame(connection, shownVideo(view), attemptSignal), lost]);
      if (!loss) {
        streamed = true;
        this.#set('streaming');
        this.#emit('kit-connected', { id, timeToFirstFrame: Math.round(performance.now() - readyAt) });
        loss = await lost;
      }
      return end(loss);
    } finally {
      attempt.abort();
      connection?.close();
      if (this.#connection === connection) this.#connection = undefined;
    }
  }

  /** Resolves when the first frame is decoded, as the connection's stats or the video tell; else with why not. */
  async #firstFrame(connection: KitConnection, video: HTMLVideoElement, signal: AbortSignal): Promise<Loss | undefined> {
    // A deadline in time, not in turns: each turn waits for getStats, and a hidden tab's timers run late.
    for (const deadline = performance.now() + 20_000; performance.now() < deadline;) {
      // 2 is HAVE_CURRENT_DATA, written as a number so that this runs where HTMLMediaElement does not exist.
      if (video.readyState >= 2 && video.videoWidth > 0) return undefined;
      if (((await connection.stats())?.framesDecoded ?? 0) > 0) return undefined;
      await sleep(10, signal);
    }
    return { reason: 'connect-timeout', message: 'Connected, but no video frame arrived within 20 s.' };
  }

  /**
   * Lets go of the session in use: closes its connection, aborts its run and, when this object created it and
   * `terminate` allows, terminates it. Emits `kit-session-ended` when there was a session.
   */
  #letGo(reason: KitSessionEndReason, terminate = true): void {
    const active = this.#active;
    const connection = this.#connection;
    this.#connection = undefined;
    this.#active = undefined;
    connection?.close();
    this.#run?.abort();
    if (!active) return;
    const { id, client } = active;
    if (connection) {
      this.#emit('kit-disconnected', { id, reason: 'closed-by-client', message: `The stream was closed (${reason}).` });
    }
    terminate &&= this.#created === id;
    if (terminate) {
      this.#own('');
      this.#terminate(client, id, reason === 'pagehide');
    }
    this.#emit('kit-session-ended', { id, reason, terminated: terminate });
  }

  /** Sends the terminate call. It is the one request allowed to outlive its run, so it has no abort signal. */
  #terminate(client: KitSessionClient, id: string, keepalive: boolean): void {
    client.terminate(id, { keepalive }).catch((error: unknown) => {
      const failure = toKitError(error, 'network');
      // Already gone is what terminating asks for.
      if (failure.code !== 'not-found') this.#reportError(failure, `Could not terminate session ${id}: ${failure.message}`);
    });
  }

  /**
   * Records the session this object created (`''`: none any more). The configuration's `sessionId`, and so the
   * element's `session-id`, follows it, unless the page has named another session meanwhile.
   */
  #own(id: string): void {
    const config = this.#config!;
    if (config.sessionId === this.#created) this.#emit('session-id', (config.sessionId = id));
    this.#created = id;
  }

  #fail(error: KitStreamError): void {
    this.#set('error', undefined, error);
    this.#reportError(error);
  }

  /** Dispatches `kit-error` with the code and status of `error`, saying `shown` (by default its own message). */
  #reportError({ code, status, message }: KitStreamError, shown = message): void {
    this.#emit('kit-error', { code, status, message: shown });
  }

  /** The one place the state changes (and is reported, also when entered again: each reconnect attempt, say). */
  #set(state: KitPlayerState, pendingSince?: number, error?: KitStreamError): void {
    // The public fields are read-only for everyone else.
    Object.assign(this, { state, pendingSince, error });
    this.#emit('state', state);
  }

  #pollTiming() {
    const { pollInterval, timeout } = this.#settings;
    return { intervalMs: positive(pollInterval, 2000), timeoutMs: positive(timeout, 300_000) };
  }

  #emit(...update: Parameters<KitSessionListener>): void {
    for (const listener of this.#listeners) listener(...update);
  }
}

/** The fields that name a session: a change to one starts over. */
const identity = ['server', 'appId', 'profile', 'version', 'sessionId'] as const;

function positive(value: number, fallback: number): number {
  return Number.isFinite(value) && value > 0 ? value : fallback;
}
