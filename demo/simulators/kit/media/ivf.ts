/**
 * IVF container reader and VP8 RTP packetizer.
 *
 * The simulated Kit server streams a pre-encoded VP8 clip instead of running an
 * encoder: an IVF file is a 32-byte header followed by frames, each prefixed by a
 * 12-byte header (4-byte little-endian size, 8-byte presentation timestamp).
 */
import { readFile } from 'node:fs/promises';
import { RtpHeader, RtpPacket } from 'werift';

export interface IvfHeader {
  /** Codec FourCC, `VP80` for VP8. */
  fourcc: string;
  width: number;
  height: number;
  /** Frames per second as `timebaseDenominator / timebaseNumerator`. */
  timebaseDenominator: number;
  timebaseNumerator: number;
  frameCount: number;
}

export interface IvfFrame {
  data: Buffer;
  /** Presentation timestamp in timebase units. */
  timestamp: number;
  keyframe: boolean;
}

export interface IvfFile {
  header: IvfHeader;
  frames: IvfFrame[];
}

const IVF_SIGNATURE = 'DKIF';
const IVF_FRAME_HEADER_SIZE = 12;

/** Parses a whole IVF file held in memory. Throws on a malformed file. */
export function parseIvf(buffer: Buffer): IvfFile {
  if (buffer.length < 32 || buffer.toString('ascii', 0, 4) !== IVF_SIGNATURE) {
    throw new Error('not an IVF file (missing DKIF signature)');
  }
  const headerSize = buffer.readUInt16LE(6);
  if (headerSize < 32 || headerSize > buffer.length) {
    throw new Error(`IVF header size ${headerSize} is invalid`);
  }
  const header: IvfHeader = {
    fourcc: buffer.toString('ascii', 8, 12),
    width: buffer.readUInt16LE(12),
    height: buffer.readUInt16LE(14),
    timebaseDenominator: buffer.readUInt32LE(16),
    timebaseNumerator: buffer.readUInt32LE(20),
    frameCount: buffer.readUInt32LE(24),
  };
  const frames: IvfFrame[] = [];
  let offset = headerSize;
  while (offset + IVF_FRAME_HEADER_SIZE <= buffer.length) {
    const size = buffer.readUInt32LE(offset);
    const timestamp = Number(buffer.readBigUInt64LE(offset + 4));
    const start = offset + IVF_FRAME_HEADER_SIZE;
    if (start + size > buffer.length) {
      throw new Error(`IVF frame at byte ${offset} is truncated`);
    }
    const data = buffer.subarray(start, start + size);
    frames.push({ data, timestamp, keyframe: isVp8Keyframe(data) });
    offset = start + size;
  }
  if (frames.length === 0) throw new Error('IVF file has no frames');
  return { header, frames };
}

export async function readIvfFile(path: string): Promise<IvfFile> {
  return parseIvf(await readFile(path));
}

/** VP8 frame tag (RFC 6386 section 9.1): bit 0 of the first byte is 0 for a key frame. */
export function isVp8Keyframe(frame: Buffer): boolean {
  return frame.length > 0 && (frame[0] & 0x01) === 0;
}

export interface Vp8PacketizerOptions {
  /** Largest VP8 payload per packet, descriptor included; keeps packets under a typical MTU. */
  maxPayloadSize?: number;
  payloadType?: number;
  ssrc?: number;
  initialSequenceNumber?: number;
}

/**
 * Splits VP8 frames into RTP packets (RFC 7741): a one-byte payload descriptor
 * with the start-of-partition bit on the first packet of each frame, and the
 * RTP marker bit on the last. Sequence numbers continue across calls.
 */
export class Vp8RtpPacketizer {
  readonly maxPayloadSize: number;
  readonly payloadType: number;
  readonly ssrc: number;
  private nextSequenceNumber: number;

  constructor(options: Vp8PacketizerOptions = {}) {
    this.maxPayloadSize = options.maxPayloadSize ?? 1100;
    if (this.maxPayloadSize < 2) throw new Error('maxPayloadSize must be at least 2');
    this.payloadType = options.payloadType ?? 96;
    this.ssrc = options.ssrc ?? randomUint32();
    this.nextSequenceNumber = (options.initialSequenceNumber ?? randomUint32()) & 0xffff;
  }

  packetize(frame: Buffer, rtpTimestamp: number): RtpPacket[] {
    const chunkSize = this.maxPayloadSize - 1;
    const packets: RtpPacket[] = [];
    for (let offset = 0; offset < frame.length; offset += chunkSize) {
      const chunk = frame.subarray(offset, offset + chunkSize);
      // Descriptor: X=0, R=0, N=0, S=1 only where the frame (partition 0) starts, PID=0.
      const descriptor = Buffer.from([offset === 0 ? 0x10 : 0x00]);
      const header = new RtpHeader({
        payloadType: this.payloadType,
        sequenceNumber: this.nextSequenceNumber,
        timestamp: rtpTimestamp >>> 0,
        ssrc: this.ssrc,
        marker: offset + chunkSize >= frame.length,
      });
      this.nextSequenceNumber = (this.nextSequenceNumber + 1) & 0xffff;
      packets.push(new RtpPacket(header, Buffer.concat([descriptor, chunk])));
    }
    return packets;
  }
}

function randomUint32(): number {
  return Math.floor(Math.random() * 0x1_0000_0000) >>> 0;
}
