import { Task, TaskStatus, initialState } from '@lit/task';
import type { ReactiveController } from 'lit';
import type { ThetaSetupStep, ThetaStreamSummary } from './events.js';
import { LivePreview } from './live-preview.js';
import { readProgress, writeProgress, type SavedProgress } from './saved-progress.js';
import { StatusWatch } from './status-watch.js';
import { ThetaApiError, ThetaClient, type ThetaIngestor, type ThetaStream } from './theta-client.js';

import type { Emit, Failure, LiveStatus, Selection, SetupHost } from './setup-flow.types.js';

export type * from './setup-flow.types.js';

/**
 * The three steps of the setup: which one shows, what each has loaded, and the calls that move between them. Each
 * call is a Task: a new run aborts the one before, an aborted run's answer is dropped, and the newest run's failure
 * shows in the error box and as a `theta-error`. The host renders the public fields and calls the public methods.
 *
 * Fields that start undefined are declared rather than defined: each definition would weigh on the CDN file.
 */
export class SetupFlow implements ReactiveController {
  step: ThetaSetupStep = 'stream';
  declare streams: ThetaStream[] | undefined;
  /** The stream being set up. */
  declare stream: ThetaStream | undefined;
  declare ingestors: ThetaIngestor[] | undefined;
  declare selection: Selection | undefined;
  /** What the go-live step shows; `begin()` sets it before the first render. */
  declare liveStatus: LiveStatus;
  /** The stream the go-live step shows (set as it begins), as its newest status check saw it. */
  declare liveStream: ThetaStream | undefined;
  keyRevealed = false;
  declare failure: Failure | undefined;
  /** Read out by screen readers when it changes. */
  announcement = '';
  /** The ingestor hovered or focused, in the table or on the map. */
  declare highlighted: string | undefined;
  /** The stream whose Delete awaits confirmation. */
  declare confirmingDelete: string | undefined;
  declare readonly host: SetupHost;
  declare readonly preview: LivePreview;
  declare readonly streamsTask: Task<[], ThetaStream[]>;
  declare readonly ingestorsTask: Task<[], ThetaIngestor[]>;
  declare readonly createTask: Task<[string], ThetaStream>;
  declare readonly selectTask: Task<[ThetaStream, string], Selection>;
  declare readonly unselectTask: Task<[Selection]>;
  declare readonly resumeTask: Task<[string, SavedProgress | undefined], ThetaStream | void>;
  declare readonly deleteTask: Task<[ThetaStream]>;
  #emit: Emit;
  #tasks: Task[] = [];
  #watch: StatusWatch<ThetaStream>;
  #releasingSince = 0;

  constructor(host: SetupHost, emit: Emit) {
    (this.host = host).addController(this);
    this.#emit = emit;
    this.preview = new LivePreview(host);
    this.#watch = new StatusWatch(host, {
      onStatus: (stream) => this.#onStreamStatus(stream),
      // A stream deleted elsewhere leaves nothing to wait for: the user picks or creates another one.
      onError: (error, retry) => (notFound(error) ? this.#deleted(this.liveStream!, true) : this.#report('watch-stream', error, retry)),
    });

    this.streamsTask = this.#task(
      'list-streams',
      async (_, signal) => (await this.#client.listStreams(signal)).streams,
      (streams) => (this.streams = streams),
    );
    this.ingestorsTask = this.#task(
      'list-ingestors',
      async (_, signal) => (await this.#client.listIngestors(signal)).ingestors,
      (ingestors) => (this.ingestors = ingestors),
    );
    // The stream the user was setting up, or the one `stream-id` names: go on where it fits.
    this.resumeTask = this.#task(
      'load-stream',
      ([streamId, saved], signal) =>
        this.#client
          .getStream(streamId, signal)
          // A saved stream deleted since is left like one deleted under the go-live step; a missing `stream-id` is an error.
          .catch(saved && unlessNotFound),
      (stream, [id, saved]) => {
        if (!stream) return this.#deleted({ id, name: saved!.streamName }, true);
        this.stream = stream;
        const { stream_server: server, stream_key: key, status } = stream;
        const { streamId, ingestorId, selectedAt = 0 } = saved?.selection ?? {};
        // A live stream resumes live however long ago its ingestor was selected; a waiting one only within the window.
        if (streamId === id && ingestorId && server && key && (status === 'on' || selectedAt + this.host.selectionTimeout > Date.now()))
          this.selection = { streamId, ingestorId, server, key, selectedAt };
        if (this.selection || status === 'on') this.#enterLive(stream);
        else this.#showIngestors();
      },
    );
    this.createTask = this.#task(
      'create-stream',
      async ([name], signal) =>
        // The last attempt failed (the task keeps its error until this run ends), perhaps after the service acted and
        // only the answer was lost: adopt the stream it made (this name, not listed before) rather than make a second
        // one, which would count toward the account's limit.
        (!!this.createTask.error &&
          (await this.#client.listStreams(signal)).streams.find(
            (stream) => stream.name === name && this.streams?.every((other) => other.id !== stream.id),
          )) ||
        this.#client.createStream(name, signal),
      (stream) => {
        this.#emit('theta-stream-created', { stream: summary(stream) });
        this.streams = [...(this.streams ?? []), stream];
        // A list still on its way may have been answered before the stream existed: ask again.
        if (this.streamsTask.status === TaskStatus.PENDING) void this.streamsTask.run([]);
        this.useStream(stream);
      },
    );
    this.deleteTask = this.#task(
      'delete-stream',
      // Already gone (deleted elsewhere): what the user asked for.
      ([stream], signal) => this.#client.deleteStream(stream.id, signal).catch(unlessNotFound),
      (_, [stream]) => this.#deleted(stream),
    );
    this.selectTask = this.#task(
      'select-ingestor',
      async ([stream, ingestorId], signal) => {
        const previous = this.selection;
        // Only one ingestor at a time: release the one chosen before (for this stream or another), so it does not stay
        // reserved, unless it is in use or the service let it lapse. One whose stream was deleted is gone already.
        if (previous && this.#remaining() > 0 && this.liveStatus === 'waiting') await this.#release(previous, signal);
        const streamId = stream.id;
        const { stream_server: server, stream_key: key } = await this.#client.selectIngestor(ingestorId, streamId, signal);
        return { streamId, ingestorId, server, key, selectedAt: Date.now() };
      },
      (selection, [stream]) => {
        const { streamId, ingestorId, server, key, selectedAt } = (this.selection = selection);
        this.keyRevealed = false;
        this.#emit('theta-ingestor-selected', { streamId, ingestorId, server, key, expiresAt: selectedAt + this.host.selectionTimeout });
        this.#enterLive(stream);
      },
    );
    this.unselectTask = this.#task(
      'unselect-ingestor',
      ([selection], signal) => this.#release(selection, signal),
      () => this.#showIngestors(),
    );
  }

  /** Forgets what was shown and begins again where the user was: a saved selection or stream, `stream-id`, or the start. */
  begin(): void {
    this.hostDisconnected();
    this.streams = this.stream = this.ingestors = this.selection = this.failure = undefined;
    this.liveStatus = 'waiting';
    this.step = 'stream';
    const { streamId } = this.host;
    const stored = readProgress(this.#storageKey);
    // The `stream-id` attribute names the stream to set up; saved progress counts only for that same stream.
    const saved = stored && (!streamId || stored.streamId === streamId) ? stored : undefined;
    if (saved || streamId) void this.resumeTask.run([saved?.streamId ?? streamId, saved]);
    else void this.streamsTask.run([]);
  }

  /** Stops every call and the status checks. */
  hostDisconnected(): void {
    for (const task of this.#tasks) task.abort();
    this.#watch.stop();
  }

  /** Milliseconds until an unused selection lapses, by the clock of the countdown. */
  get remaining(): number {
    return this.#remaining(this.#watch.now);
  }

  /** Seconds the pending unselect has taken, or undefined when none is pending. */
  get releasing(): number | undefined {
    return this.unselectTask.status === TaskStatus.PENDING ? Math.round((this.#watch.now - this.#releasingSince) / 1000) : undefined;
  }

  createStream(name: string): void {
    this.#act(this.createTask, [name]);
  }

  useStream(stream: ThetaStream): void {
    this.stream = stream;
    this.#emit('theta-stream-selected', { stream: summary(stream) });
    this.#showIngestors();
  }

  /** Shows or hides the confirmation of a Delete, and moves focus to where the user continues. */
  async askDelete(streamId: string | undefined, focusId: string): Promise<void> {
    this.confirmingDelete = streamId;
    this.host.requestUpdate();
    await this.host.updateComplete;
    (this.host.renderRoot as ShadowRoot).getElementById(focusId)?.focus();
  }

  deleteStream(stream: ThetaStream): void {
    this.#act(this.deleteTask, [stream]);
  }

  selectIngestor(ingestorId: string): void {
    const { stream, selection } = this;
    if (!stream) return;
    // Still ours: go back to it rather than asking the service again.
    if (selection?.ingestorId === ingestorId && selection.streamId === stream.id && this.#remaining() > 0) this.#enterLive(stream);
    else this.#act(this.selectTask, [stream, ingestorId]);
  }

  /** Selects the expired selection's ingestor again. */
  reselect(): void {
    const ingestorId = this.selection?.ingestorId;
    this.selection = undefined;
    if (ingestorId) this.selectIngestor(ingestorId);
  }

  unselect(): void {
    const { selection } = this;
    if (!selection) return;
    // The service may take long to release it: the step shows for how long, on the clock of the countdown.
    this.#releasingSince = this.#watch.now = Date.now();
    this.#act(this.unselectTask, [selection]);
  }

  back(): void {
    this.failure = undefined;
    this.#watch.stop();
    if (this.step === 'live') {
      this.step = 'ingestor';
      if (!this.ingestors) void this.ingestorsTask.run([]);
    } else {
      this.stream = undefined;
      this.step = 'stream';
      this.#save();
      if (!this.streams) void this.streamsTask.run([]);
    }
    this.host.requestUpdate();
  }

  async copy(what: 'server' | 'key'): Promise<void> {
    const text = this.selection?.[what];
    if (!text) return;
    try {
      await navigator.clipboard.writeText(text);
      this.announcement = what === 'server' ? 'RTMP server copied.' : 'Stream key copied.';
    } catch {
      this.announcement = 'Copying was not allowed: select the text and copy it by hand.';
    }
    this.host.requestUpdate();
  }

  /** Bound, so that the map and the table can take it as it is. */
  highlight = (ingestorId: string | undefined): void => {
    this.highlighted = ingestorId;
    this.host.requestUpdate();
  };

  toggleKey(): void {
    this.keyRevealed = !this.keyRevealed;
    this.host.requestUpdate();
  }

  /**
   * The stream is gone, and the service freed its ingestor: deleted with the Delete button (which keeps the focus where
   * the user goes on), or elsewhere while the go-live step showed it or before saved progress resumed it (which goes
   * back to the stream step). Saved progress may not know the name.
   */
  #deleted({ id, name }: { id: string; name?: string }, elsewhere?: boolean): void {
    this.streams = this.streams?.filter((other) => other.id !== id);
    if (this.selection?.streamId === id) this.selection = undefined;
    this.announcement = `${name || 'The saved stream'} was deleted.`;
    this.#emit('theta-stream-deleted', { streamId: id });
    if (!elsewhere) void this.askDelete(undefined, 'stream-name');
    else {
      this.step = 'stream';
      this.back();
    }
  }

  /** Releases the selection; one the service freed already (404) counts as released. */
  async #release({ streamId, ingestorId }: Selection, signal: AbortSignal): Promise<void> {
    await this.#client.unselectIngestor(ingestorId, signal).catch(unlessNotFound);
    this.selection = undefined;
    this.#emit('theta-ingestor-unselected', { streamId, ingestorId });
  }

  #showIngestors(): void {
    this.#watch.stop();
    this.step = 'ingestor';
    this.#save();
    void this.ingestorsTask.run([]);
  }

  #enterLive(stream: ThetaStream): void {
    this.step = 'live';
    this.liveStream = stream;
    this.liveStatus = stream.status === 'on' ? 'on' : 'waiting';
    this.#save();
    this.#watch.start((signal) => this.#client.getStream(stream.id, signal));
  }

  #onStreamStatus(stream: ThetaStream): void {
    if (this.failure?.action === 'watch-stream') this.failure = undefined;
    const previous = this.liveStatus;
    const { id: streamId, status, playback_uri: playbackUri, player_uri: playerUri } = stream;
    this.liveStream = stream;
    if ((status === 'on') !== (previous === 'on')) {
      this.liveStatus = status === 'on' ? 'on' : 'ended';
      this.announcement = status === 'on' ? 'Your stream is live.' : 'The stream ended.';
      // The selection was used: the service released the ingestor when the stream ended.
      if (status === 'off') this.selection = undefined;
      this.#save();
      this.#emit('theta-status-change', { streamId, status, playbackUri, playerUri });
    } else if (previous === 'waiting' && this.selection && !stream.stream_server && this.releasing === undefined) {
      // The service let the selection lapse, or it was released elsewhere: its word counts, not the countdown's. During
      // the user's own Unselect the stream loses its server too, and that is no expiry.
      this.liveStatus = 'expired';
      this.announcement = 'The ingestor selection expired.';
      this.#save();
    }
    this.host.requestUpdate();
  }

  /** Milliseconds left of the selection at the time `now`. */
  #remaining(now = Date.now()): number {
    return this.selection ? this.selection.selectedAt + this.host.selectionTimeout - now : 0;
  }

  /**
   * A task for one call, run by hand. A run that was aborted ends quietly; the newest run's answer goes to `done`, its
   * failure to the error box and a `theta-error`, with a Retry that runs it again with the same arguments.
   */
  #task<A extends readonly unknown[], R>(
    action: string,
    call: (args: A, signal: AbortSignal) => Promise<R>,
    done: (result: R, args: A) => void,
  ): Task<A, R> {
    let latest: A;
    const task: Task<A, R> = new Task<A, R>(this.host, {
      autoRun: false,
      task: async (args, { signal }) => {
        latest = args;
        this.failure = undefined;
        try {
          const result = await call(args, signal);
          if (!signal.aborted) return result;
        } catch (error) {
          if (!signal.aborted) throw error;
        }
        return initialState;
      },
      onComplete: (result) => done(result, latest),
      onError: (error) => this.#report(action, error, () => this.#act(task, latest)),
    });
    this.#tasks.push(task);
    return task;
  }

  /** Runs a call the user asked for, unless it is running already: a double click never sends it twice. */
  #act<A extends readonly unknown[]>(task: Task<A, unknown>, args: A): void {
    if (task.status !== TaskStatus.PENDING) void task.run(args);
  }

  /**
   * Shows a failed call in the error box (with what Retry does) and reports it as `theta-error`: the client's code,
   * status and message, or `network` (no answer) for anything else that went wrong on the way.
   */
  #report(action: string, error: unknown, retry: () => void): void {
    const { code, status, message } =
      error instanceof ThetaApiError ? error : { code: 'network' as const, status: undefined, message: String(error) };
    this.failure = { action, message, retry };
    this.#emit('theta-error', { step: this.step, action, code, status, message });
    this.host.requestUpdate();
  }

  /** A client holds nothing but its settings: each call gets one built from the host's current ones. */
  get #client(): ThetaClient {
    return new ThetaClient(this.host);
  }

  get #storageKey(): string {
    return `theta-live-setup:${this.host.apiBase}|${this.host.serviceAccountId}`;
  }

  #save(): void {
    const { stream } = this;
    // An expired selection is kept to select again, but a reload must not resume it.
    const selection = this.liveStatus === 'expired' ? undefined : this.selection;
    writeProgress(this.#storageKey, stream && { streamId: stream.id, streamName: stream.name, selection });
  }
}

/** The service's answer that the stream is not there (any more). */
const notFound = (error: unknown) => error instanceof ThetaApiError && error.status === 404;

/** Rethrows any failure but that answer. */
const unlessNotFound = (error: unknown) => {
  if (!notFound(error)) throw error;
};

function summary({ id, name, status }: ThetaStream): ThetaStreamSummary {
  return { id, name, status };
}
