import { html, nothing, type ReactiveController, type ReactiveControllerHost } from 'lit';
import { sleep } from '../internal/timing.js';
import type { ThetaStream } from './theta-client.js';

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

/** What the preview needs of the element that shows it. */
export interface PreviewHost extends ReactiveControllerHost {
  readonly renderRoot: ParentNode;
  /** hls.js, or the URL of its ES module, for browsers that cannot play HLS themselves. */
  readonly hlsLibrary: HlsLibrary | string | undefined;
}

/** One playback of a live stream, from the moment its video is rendered until it is stopped. */
interface Playback {
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

/**
 * The muted preview of a stream that is live, with the player page and HLS address beside it. The host renders it
 * with `render(stream)`; the preview starts once its video is in the document, and stops when the video goes, the
 * address changes or the host leaves the document.
 */
export class LivePreview implements ReactiveController {
  #host: PreviewHost;
  #playback: Playback | undefined;
  /** The HLS address the last `render` was given; its video shows only where it can play. */
  #uri: string | null | undefined;
  #unmuted = false;

  constructor(host: PreviewHost) {
    (this.#host = host).addController(this);
  }

  render(stream: ThetaStream) {
    const uri = stream.playback_uri;
    const playable = document.createElement('video').canPlayType(hlsType) || this.#host.hlsLibrary;
    // Without a video (no address, or none this browser can play), `hostUpdated` starts nothing.
    this.#uri = uri;
    const playback = this.#playback;
    const state = playback?.state;
    return html`${
        !uri
          ? nothing
          : !playable
            ? html`<p>This browser cannot play the preview: open the player page to watch your stream.</p>`
            : html`<video
                  part="preview"
                  .muted=${!this.#unmuted}
                  autoplay
                  playsinline
                  ?hidden=${state === 'failed'}
                  aria-label="Preview of your stream"
                  @playing=${this.#onPlaying}
                  @timeupdate=${this.#onTime}
                  @error=${() => this.#playback && !this.#playback.hls && void this.#retry(this.#playback)}
                ></video>
                <p class="actions">
                  ${
                    state === 'failed'
                      ? html`The preview could not start.
                          <button part="button preview-retry" type="button" @click=${this.#restart}>Retry preview</button>`
                      : state !== 'playing'
                        ? 'Waiting for the first seconds of video...'
                        : playback?.behind
                          ? `About ${playback.behind} s behind live.`
                          : ''
                  }
                  <button part="button" type="button" @click=${this.#toggleMute}>${this.#unmuted ? 'Mute' : 'Unmute'}</button>
                </p>`
      }
      <p>
        ${stream.player_uri ? html`<a href=${safeLink(stream.player_uri)} target="_blank" rel="noopener noreferrer">Open the player page</a>` : nothing}
        ${uri ? html`HLS: <a href=${safeLink(uri)} target="_blank" rel="noopener noreferrer"><code>${uri}</code></a>` : nothing}
      </p>`;
  }

  /** Starts playback when the video appears or its address changes, and stops it when the video goes. */
  hostUpdated(): void {
    const video = this.#host.renderRoot.querySelector('video');
    const uri = this.#uri;
    if (this.#playback && (this.#playback.video !== video || this.#playback.uri !== uri)) this.#stop();
    if (video && uri && !this.#playback)
      void this.#attach((this.#playback = { video, uri, stop: new AbortController(), retries: 0, state: 'waiting' }));
  }

  hostDisconnected(): void {
    this.#stop();
  }

  /** After a give-up: drops the failed playback, so that the update finds the video without one and starts afresh. */
  #restart = () => {
    this.#stop();
    this.#host.requestUpdate();
  };

  #toggleMute = () => {
    this.#unmuted = !this.#unmuted;
    this.#host.requestUpdate();
  };

  /**
   * Waits for the first segments, then plays natively or through hls.js. Chromium refuses a live playlist of fewer
   * than three segments, and hls.js does not retry a 404, so both wait for the playlist to hold three.
   */
  async #attach(playback: Playback): Promise<void> {
    const { video, uri, stop } = playback;
    try {
      const Hls = video.canPlayType(hlsType) ? undefined : await importHls(this.#host.hlsLibrary);
      playback.holdBack = await segmentsReady(uri, stop.signal);
      if (Hls) {
        const hls = (playback.hls = new Hls());
        hls.on('hlsError', (_event, data) => data.fatal && void this.#retry(playback));
        hls.loadSource(uri);
        hls.attachMedia(video);
      } else {
        video.src = uri;
      }
    } catch {
      if (!stop.signal.aborted) this.#show(playback, 'failed');
    }
  }

  #onPlaying = () => {
    const playback = this.#playback;
    if (!playback) return;
    playback.retries = 0;
    // Taken once: later `playing` events follow stalls, whose time counts as falling behind.
    playback.start ??= performance.now() / 1000 - playback.video.currentTime;
    this.#show(playback, 'playing');
  };

  #show(playback: Playback, state: Playback['state']): void {
    playback.state = state;
    this.#host.requestUpdate();
  }

  /** A player that failed before or while playing starts over, a few times, later each time. */
  async #retry(playback: Playback): Promise<void> {
    if (this.#playback !== playback) return;
    stopMedia(playback);
    playback.start = undefined;
    this.#show(playback, 'waiting');
    try {
      if (++playback.retries > 5) throw new Error('gave up');
      await sleep(500 * 2 ** playback.retries, playback.stop.signal);
    } catch {
      if (!playback.stop.signal.aborted) this.#show(playback, 'failed');
      return;
    }
    await this.#attach(playback);
  }

  /**
   * "About N s behind live": hls.js's own estimate, or else the three segments a player holds back from the newest
   * (read from the playlist when playback began) plus the time lost since to stalls. Native live HLS has no
   * `seekable` range in Chromium to measure it from.
   */
  #onTime = () => {
    const playback = this.#playback;
    if (playback?.start === undefined) return;
    const lost = performance.now() / 1000 - playback.video.currentTime - playback.start;
    const behind = Math.max(1, Math.round(playback.hls?.latency || (playback.holdBack ?? NaN) + lost));
    if (behind !== playback.behind && behind > 0) {
      playback.behind = behind;
      this.#host.requestUpdate();
    }
  };

  #stop(): void {
    const playback = this.#playback;
    this.#playback = undefined;
    if (!playback) return;
    playback.stop.abort();
    stopMedia(playback);
  }
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
 * their seconds. Gives up after a minute by the clock: a read held open by the server is abandoned after 10 s and
 * counts as a playlist without segments, so that it neither waits for ever nor ends the wait. Returns undefined at
 * once when this page cannot read the playlist (no CORS): the player then tries by itself.
 */
async function segmentsReady(uri: string, signal: AbortSignal): Promise<number | undefined> {
  for (let delay = 500, giveUp = performance.now() + 60_000; performance.now() < giveUp; delay = Math.min(delay * 2, 4000)) {
    let text = '';
    for (let url = uri, hops = 0; hops < 2; hops++) {
      const read = AbortSignal.any([signal, AbortSignal.timeout(10_000)]);
      try {
        const response = await fetch(url, { signal: read, cache: 'no-store' });
        if (response.ok) text = await response.text();
        // An error page is not read: cancelling its body frees the connection at once.
        else await response.body?.cancel();
      } catch (error) {
        if (signal.aborted) throw error;
        if (!read.aborted) return undefined;
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
function stopMedia(playback: Playback): void {
  playback.hls?.destroy();
  playback.hls = undefined;
  if (playback.video.hasAttribute('src')) {
    playback.video.removeAttribute('src');
    playback.video.load();
  }
}
