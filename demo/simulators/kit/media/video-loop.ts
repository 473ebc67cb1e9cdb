/**
 * Plays a list of pre-encoded H.264 access units in a loop at a fixed frame
 * rate, handing out RTP packets as a live encoder would.
 */
import type { RtpPacket } from 'werift';
import { H264RtpPacketizer } from './h264.js';
import type { H264AccessUnit } from './h264.js';

const VIDEO_CLOCK_RATE = 90_000;

/** Turns one access unit into its RTP packets; {@link H264RtpPacketizer} by default. */
export interface AccessUnitPacketizer {
  packetize(accessUnit: H264AccessUnit, rtpTimestamp: number): RtpPacket[];
}

export interface VideoLoopOptions {
  /** One entry per picture, in decoding order; the loop wraps from the last to the first. */
  frames: readonly H264AccessUnit[];
  frameRate?: number;
  /** Receives every packet of a frame, in order. */
  sendPacket: (packet: RtpPacket) => void;
  packetizer?: AccessUnitPacketizer;
}

export class VideoLoop {
  readonly frameRate: number;
  private readonly frames: readonly H264AccessUnit[];
  private readonly sendPacket: (packet: RtpPacket) => void;
  private readonly packetizer: AccessUnitPacketizer;
  private readonly initialRtpTimestamp = Math.floor(Math.random() * 0x1_0000_0000);
  /** Reference point of the RTP clock; RTP timestamps follow the wall clock from here. */
  private readonly clockOrigin = performance.now();
  private nextFrameIndex = 0;
  private timer: NodeJS.Timeout | undefined;
  private nextDueAt = 0;
  private lastFrameSlot = -1;
  private framesSentCount = 0;

  constructor(options: VideoLoopOptions) {
    if (options.frames.length === 0) throw new Error('VideoLoop needs at least one frame');
    this.frames = options.frames;
    this.frameRate = options.frameRate ?? 30;
    this.sendPacket = options.sendPacket;
    this.packetizer = options.packetizer ?? new H264RtpPacketizer();
    // A receiver can only begin decoding at a key frame.
    this.skipToNextKeyframe();
  }

  get running(): boolean {
    return this.timer !== undefined;
  }

  get framesSent(): number {
    return this.framesSentCount;
  }

  /** Starts or resumes. After a pause the sequence numbers continue and the
   * RTP timestamps jump by the paused time, as with a live source. Frames keep
   * their order, so decoding continues without a new key frame. */
  start(): void {
    if (this.timer) return;
    this.nextDueAt = performance.now();
    this.tick();
  }

  /**
   * Continues from the next key frame of the clip, which is what an encoder does
   * when a receiver reports picture loss: the receiver can decode again at once.
   */
  skipToNextKeyframe(): void {
    for (let step = 0; step < this.frames.length; step++) {
      const index = (this.nextFrameIndex + step) % this.frames.length;
      if (this.frames[index].keyframe) {
        this.nextFrameIndex = index;
        return;
      }
    }
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private readonly tick = (): void => {
    const frameDurationMs = 1000 / this.frameRate;
    const now = performance.now();
    this.sendFrame(Math.round((this.nextDueAt - this.clockOrigin) / frameDurationMs));
    // Schedule against the ideal timeline so timer jitter does not accumulate;
    // after a stall skip the missed slots instead of bursting them out.
    this.nextDueAt += frameDurationMs;
    if (this.nextDueAt < now) this.nextDueAt = now + frameDurationMs;
    this.timer = setTimeout(this.tick, Math.max(0, this.nextDueAt - performance.now()));
  };

  /** `frameSlot` counts frame periods since the clock origin, so every RTP
   * timestamp is an exact multiple of the frame duration (3000 ticks at 30 fps). */
  private sendFrame(frameSlot: number): void {
    const slot = Math.max(frameSlot, this.lastFrameSlot + 1);
    this.lastFrameSlot = slot;
    const frame = this.frames[this.nextFrameIndex];
    this.nextFrameIndex = (this.nextFrameIndex + 1) % this.frames.length;
    const ticksPerFrame = Math.round(VIDEO_CLOCK_RATE / this.frameRate);
    const rtpTimestamp = (this.initialRtpTimestamp + slot * ticksPerFrame) % 0x1_0000_0000;
    for (const packet of this.packetizer.packetize(frame, rtpTimestamp)) {
      this.sendPacket(packet);
    }
    this.framesSentCount++;
  }
}
