import type { ReactiveControllerHost } from 'lit';
import type { KitStreamStats } from '../connector.js';
import type { KitEvent, KitSession } from '../kit-session.js';
import { whileStreaming } from './while-streaming.js';

/** Frames that stop for this long make a stall. */
const stallAfterMs = 5000;

/**
 * Samples the streaming connection once a second: `kit-stats` with its figures (kept in `stats` for the overlay),
 * `kit-stall` when no new frame came for 5 s, and `kit-recovered` when frames flow again.
 */
export class StreamMonitor {
  /** The latest figures of the stream playing now. */
  stats: KitStreamStats | undefined;

  constructor(host: ReactiveControllerHost, session: KitSession, report: (...event: KitEvent) => void) {
    whileStreaming(host, session, (connection) => {
      const id = session.id!;
      let lastFrames = -1;
      let lastProgress = performance.now();
      let stalled = false;
      const sample = async (): Promise<void> => {
        const stats = await connection.stats().catch(() => undefined);
        if (!stats || session.connection !== connection) return;
        this.stats = stats;
        host.requestUpdate();
        report('kit-stats', { id, ...stats });
        const now = performance.now();
        const since = Math.round(now - lastProgress);
        if (stats.framesDecoded > lastFrames) {
          if (stalled) report('kit-recovered', { id, since });
          stalled = false;
          lastFrames = stats.framesDecoded;
          lastProgress = now;
        } else if (!stalled && since >= stallAfterMs) {
          stalled = true;
          report('kit-stall', { id, since });
        }
      };
      const timer = setInterval(() => void sample(), 1000);
      return () => {
        clearInterval(timer);
        this.stats = undefined;
      };
    });
  }
}
