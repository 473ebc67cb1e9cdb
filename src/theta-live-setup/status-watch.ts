import type { ReactiveController, ReactiveControllerHost } from 'lit';
import { sleep } from '../internal/timing.js';

/** The element that shows the status. */
export interface WatchHost extends ReactiveControllerHost {
  /** Milliseconds between checks, read before each one so that a changed setting counts; at least 250. */
  readonly pollInterval: number;
}

export interface StatusWatchOptions<T> {
  /** Called with each answer. */
  onStatus: (status: T) => void;
  /** Called once for each new failure (checking goes on, as the service may recover); `retry` starts over. */
  onError: (error: unknown, retry: () => void) => void;
}

/**
 * Checks a stream's status again and again while the go-live step shows, and keeps the clock its countdowns read
 * (the selection's expiry, the time an unselect has taken) ticking every second meanwhile. Everything stops with
 * `stop()` or when the host leaves the document.
 */
export class StatusWatch<T> implements ReactiveController {
  /** The time the countdowns show (ms since the epoch), renewed every second while watching. */
  now = Date.now();
  #host: WatchHost;
  #options: StatusWatchOptions<T>;
  #stop: AbortController | undefined;

  constructor(host: WatchHost, options: StatusWatchOptions<T>) {
    (this.#host = host).addController(this);
    this.#options = options;
  }

  /** Starts checking with `check`, in place of whatever was checked before. */
  start(check: (signal: AbortSignal) => Promise<T>): void {
    this.stop();
    const { signal } = (this.#stop = new AbortController());
    const { onStatus, onError } = this.#options;
    const tick = () => {
      this.now = Date.now();
      this.#host.requestUpdate();
    };
    tick();
    const clock = setInterval(tick, 1000);
    signal.addEventListener('abort', () => clearInterval(clock));
    void (async () => {
      let reported: unknown;
      while (!signal.aborted) {
        try {
          await sleep(Math.max(250, this.#host.pollInterval), signal);
          const status = await check(signal);
          reported = undefined;
          if (!signal.aborted) onStatus(status);
        } catch (error) {
          if (signal.aborted) return;
          const message = String(error);
          if (message !== reported) onError(error, () => this.start(check));
          reported = message;
        }
      }
    })();
  }

  stop(): void {
    this.#stop?.abort();
    this.#stop = undefined;
  }

  hostDisconnected(): void {
    this.stop();
  }
}
