import type { KitStreamStats } from './connector.js';

interface Previous {
  time: number;
  bytes: number;
  frames: number;
}

/**
 * Turns successive `getStats()` reports into the figures people read: frames per second and kbit/s come
 * from the difference to the previous sample.
 */
export class StatsSampler {
  readonly #getStats: () => Promise<RTCStatsReport>;
  #previous: Previous | undefined;

  constructor(getStats: () => Promise<RTCStatsReport>) {
    this.#getStats = getStats;
  }

  async sample(): Promise<KitStreamStats | undefined> {
    const report = await this.#getStats();
    let inbound: Record<string, unknown> | undefined;
    let rtt: number | undefined;
    report.forEach((entry: Record<string, unknown>) => {
      if (entry.type === 'inbound-rtp' && entry.kind === 'video') inbound = entry;
      if (entry.type === 'candidate-pair' && entry.nominated && typeof entry.currentRoundTripTime === 'number')
        rtt = round(entry.currentRoundTripTime * 1000);
    });
    if (!inbound) return undefined;
    const time = typeof inbound.timestamp === 'number' ? inbound.timestamp : performance.now();
    const bytes = number(inbound.bytesReceived);
    const frames = number(inbound.framesDecoded);
    const previous = this.#previous;
    this.#previous = { time, bytes, frames };
    // Counters that went down belong to a new inbound stream: rates are measured from this sample on.
    const seconds = previous && bytes >= previous.bytes && frames >= previous.frames ? (time - previous.time) / 1000 : 0;
    return {
      fps: seconds > 0 ? round((frames - previous!.frames) / seconds) : number(inbound.framesPerSecond),
      bitrate: seconds > 0 ? round(((bytes - previous!.bytes) * 8) / 1000 / seconds) : 0,
      rtt,
      packetsLost: number(inbound.packetsLost),
      jitter: round(number(inbound.jitter) * 1000),
      width: number(inbound.frameWidth),
      height: number(inbound.frameHeight),
      framesDecoded: frames,
    };
  }
}

function number(value: unknown): number {
  return Number.isFinite(value) ? (value as number) : 0;
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}
