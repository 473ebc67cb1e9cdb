/**
 * H.264 elementary stream reader and RTP packetizer.
 *
 * The simulated Kit server streams a pre-encoded H.264 clip, as Kit streams
 * H.264 from its encoder, instead of running an encoder: an Annex B file (NAL
 * units after 00 00 01 / 00 00 00 01 start codes) is split into access units,
 * one per picture, and each access unit into RTP packets as RFC 6184 describes
 * for packetization-mode=1.
 */
import { readFile } from 'node:fs/promises';
import { RtpHeader, RtpPacket } from 'werift';

/** NAL unit types (ITU-T H.264 table 7-1) and RTP payload structures (RFC 6184 table 1) used here. */
export const H264NalType = {
  nonIdrSlice: 1,
  idrSlice: 5,
  sei: 6,
  sps: 7,
  pps: 8,
  accessUnitDelimiter: 9,
  stapA: 24,
  fuA: 28,
} as const;

/** One coded picture with the NAL units that belong to it, start codes removed. */
export interface H264AccessUnit {
  /** NAL units in decoding order, each starting with its one-byte NAL header. */
  nalUnits: Buffer[];
  /** Holds an IDR slice: a decoder can start here (SPS and PPS are in the same access unit). */
  keyframe: boolean;
}

/** The NAL unit type: the low five bits of the NAL header. */
export function nalUnitType(nalUnit: Uint8Array): number {
  return nalUnit.length > 0 ? nalUnit[0] & 0x1f : 0;
}

/**
 * Splits an Annex B byte stream into NAL units (start codes and trailing zero
 * bytes removed). Bytes before the first start code and empty NAL units are
 * dropped; any input yields a list, never an exception.
 */
export function splitAnnexB(stream: Uint8Array): Buffer[] {
  const bytes = Buffer.from(stream.buffer, stream.byteOffset, stream.byteLength);
  const nalUnits: Buffer[] = [];
  let start = -1;
  let index = 0;
  while (index + 2 < bytes.length) {
    if (bytes[index] === 0 && bytes[index + 1] === 0 && bytes[index + 2] === 1) {
      if (start >= 0) pushNalUnit(nalUnits, bytes, start, index);
      index += 3;
      start = index;
    } else {
      // A start code cannot begin before a byte greater than 1 ahead of it.
      index += bytes[index + 2] > 1 ? 3 : 1;
    }
  }
  if (start >= 0) pushNalUnit(nalUnits, bytes, start, bytes.length);
  return nalUnits;
}

/** Adds bytes[start, end) minus trailing zeros (the first byte of a 4-byte start code, trailing_zero_8bits). */
function pushNalUnit(nalUnits: Buffer[], bytes: Buffer, start: number, end: number): void {
  while (end > start && bytes[end - 1] === 0) end--;
  if (end > start) nalUnits.push(bytes.subarray(start, end));
}

/**
 * Groups NAL units into access units (H.264 section 7.4.1.2.3): an access
 * unit delimiter, SPS, PPS, SEI or types 14 to 18 after a picture's slices, or
 * a slice whose first_mb_in_slice is 0, starts the next access unit. Streams
 * with arbitrary slice order (a later slice first) are not split correctly;
 * encoders do not produce them for WebRTC.
 */
export function groupAccessUnits(nalUnits: readonly Buffer[]): H264AccessUnit[] {
  const accessUnits: H264AccessUnit[] = [];
  let current: Buffer[] = [];
  let currentHasSlice = false;
  const finish = (): void => {
    if (current.length > 0) {
      accessUnits.push({ nalUnits: current, keyframe: current.some((nal) => nalUnitType(nal) === H264NalType.idrSlice) });
    }
    current = [];
    currentHasSlice = false;
  };
  for (const nal of nalUnits) {
    const type = nalUnitType(nal);
    if (isSlice(type)) {
      // first_mb_in_slice is the first ue(v) of the slice header; the value 0 is the single bit 1.
      const firstSliceOfPicture = nal.length > 1 && (nal[1] & 0x80) !== 0;
      if (currentHasSlice && firstSliceOfPicture) finish();
      current.push(nal);
      currentHasSlice = true;
    } else {
      if (currentHasSlice && startsAccessUnit(type)) finish();
      current.push(nal);
    }
  }
  finish();
  return accessUnits;
}

function isSlice(type: number): boolean {
  return type === H264NalType.nonIdrSlice || type === H264NalType.idrSlice;
}

function startsAccessUnit(type: number): boolean {
  return (type >= H264NalType.sei && type <= H264NalType.accessUnitDelimiter) || (type >= 14 && type <= 18);
}

/**
 * Makes every key frame carry SPS and PPS, so that a receiver can start at any
 * of them (after a picture loss, or when the clip loops). A key frame lacking
 * them gets the ones last seen before it, or for key frames before the first
 * parameter sets (a clip that starts mid-stream) the stream's first ones. Only
 * the most recent SPS and PPS are kept: streams with several parameter set ids
 * in use at once are not the kind an encoder sends over WebRTC.
 */
export function withParameterSetsOnKeyframes(accessUnits: readonly H264AccessUnit[]): H264AccessUnit[] {
  const allNalUnits = accessUnits.flatMap((unit) => unit.nalUnits);
  let sps = allNalUnits.find((nal) => nalUnitType(nal) === H264NalType.sps);
  let pps = allNalUnits.find((nal) => nalUnitType(nal) === H264NalType.pps);
  return accessUnits.map((unit) => {
    for (const nal of unit.nalUnits) {
      const type = nalUnitType(nal);
      if (type === H264NalType.sps) sps = nal;
      else if (type === H264NalType.pps) pps = nal;
    }
    if (!unit.keyframe) return unit;
    const missing: Buffer[] = [];
    if (sps && !unit.nalUnits.some((nal) => nalUnitType(nal) === H264NalType.sps)) missing.push(sps);
    if (pps && !unit.nalUnits.some((nal) => nalUnitType(nal) === H264NalType.pps)) missing.push(pps);
    if (missing.length === 0) return unit;
    // After an access unit delimiter, if any: it must stay first.
    const at = nalUnitType(unit.nalUnits[0]) === H264NalType.accessUnitDelimiter ? 1 : 0;
    return { ...unit, nalUnits: [...unit.nalUnits.slice(0, at), ...missing, ...unit.nalUnits.slice(at)] };
  });
}

/** Reads an Annex B stream into access units ready to send; an empty list for input with no NAL units. */
export function parseH264AnnexB(stream: Uint8Array): H264AccessUnit[] {
  return withParameterSetsOnKeyframes(groupAccessUnits(splitAnnexB(stream)));
}

/** Reads an H.264 clip to loop. Throws when the file holds no key frame, since nothing could be decoded. */
export async function readH264File(path: string): Promise<H264AccessUnit[]> {
  const accessUnits = parseH264AnnexB(await readFile(path));
  if (!accessUnits.some((unit) => unit.keyframe)) {
    throw new Error(`${path} holds no H.264 key frame (IDR); is it an Annex B elementary stream?`);
  }
  return accessUnits;
}

export interface H264PacketizerOptions {
  /**
   * Largest RTP payload; default 1200, which with the RTP header, header
   * extensions and the SRTP tag stays under a 1280-byte IPv6 minimum MTU.
   */
  maxPayloadSize?: number;
  /** Default 96; werift's sender replaces it with the negotiated one. */
  payloadType?: number;
  /** Default random; werift's sender replaces it with its own. */
  ssrc?: number;
  initialSequenceNumber?: number;
  /** Aggregate consecutive small NAL units (SPS, PPS, SEI) into STAP-A packets; default true. */
  aggregate?: boolean;
}

/** STAP-A header byte, and each aggregated NAL unit's two-byte size. */
const STAP_A_HEADER_SIZE = 1;
const STAP_A_LENGTH_SIZE = 2;
/** FU indicator and FU header. */
const FU_A_HEADER_SIZE = 2;

/**
 * Splits access units into RTP packets (RFC 6184, packetization-mode=1): a
 * NAL unit that fits goes alone in a packet (or, with neighbours that fit
 * too, in a STAP-A), a larger one is cut into FU-A fragments. The marker bit
 * is set on the last packet of each access unit; sequence numbers continue
 * across calls.
 */
export class H264RtpPacketizer {
  readonly maxPayloadSize: number;
  readonly payloadType: number;
  readonly ssrc: number;
  readonly aggregate: boolean;
  private nextSequenceNumber: number;

  constructor(options: H264PacketizerOptions = {}) {
    this.maxPayloadSize = options.maxPayloadSize ?? 1200;
    // Room for an FU-A's two header bytes and one byte of NAL unit; STAP-A sizes are 16-bit.
    if (!Number.isInteger(this.maxPayloadSize) || this.maxPayloadSize < FU_A_HEADER_SIZE + 1 || this.maxPayloadSize > 0xffff) {
      throw new Error(`maxPayloadSize must be an integer from ${FU_A_HEADER_SIZE + 1} to 65535`);
    }
    this.payloadType = options.payloadType ?? 96;
    this.ssrc = options.ssrc ?? randomUint32();
    this.aggregate = options.aggregate ?? true;
    this.nextSequenceNumber = (options.initialSequenceNumber ?? randomUint32()) & 0xffff;
  }

  /** Packets of one access unit, all with `rtpTimestamp`. An access unit without NAL units gives none. */
  packetize(accessUnit: H264AccessUnit | readonly Buffer[], rtpTimestamp: number): RtpPacket[] {
    const nalUnits = ('nalUnits' in accessUnit ? accessUnit.nalUnits : accessUnit).filter((nal) => nal.length > 0);
    const payloads: Buffer[] = [];
    let pending: Buffer[] = [];
    let pendingSize = STAP_A_HEADER_SIZE;
    const flush = (): void => {
      if (pending.length === 1) payloads.push(pending[0]);
      else if (pending.length > 1) payloads.push(stapA(pending));
      pending = [];
      pendingSize = STAP_A_HEADER_SIZE;
    };
    for (const nal of nalUnits) {
      if (nal.length > this.maxPayloadSize) {
        flush();
        payloads.push(...fuA(nal, this.maxPayloadSize));
      } else if (!this.aggregate) {
        payloads.push(nal);
      } else {
        const size = STAP_A_LENGTH_SIZE + nal.length;
        // A lone NAL unit needs no STAP-A header; a second one must fit with it.
        if (pending.length > 0 && pendingSize + size > this.maxPayloadSize) flush();
        pending.push(nal);
        pendingSize += size;
      }
    }
    flush();
    return payloads.map((payload, index) => {
      const header = new RtpHeader({
        payloadType: this.payloadType,
        sequenceNumber: this.nextSequenceNumber,
        timestamp: rtpTimestamp >>> 0,
        ssrc: this.ssrc,
        marker: index === payloads.length - 1,
      });
      this.nextSequenceNumber = (this.nextSequenceNumber + 1) & 0xffff;
      return new RtpPacket(header, payload);
    });
  }
}

/** STAP-A (RFC 6184 section 5.7.1): F is the OR and NRI the maximum of the aggregated units'. */
function stapA(nalUnits: readonly Buffer[]): Buffer {
  let forbidden = 0;
  let nri = 0;
  const parts: Buffer[] = [];
  for (const nal of nalUnits) {
    forbidden |= nal[0] & 0x80;
    nri = Math.max(nri, nal[0] & 0x60);
    const size = Buffer.alloc(STAP_A_LENGTH_SIZE);
    size.writeUInt16BE(nal.length);
    parts.push(size, nal);
  }
  return Buffer.concat([Buffer.from([forbidden | nri | H264NalType.stapA]), ...parts]);
}

/**
 * FU-A fragments (RFC 6184 section 5.8): the NAL header's F and NRI go to the
 * FU indicator, its type to the FU header with the start and end bits. The
 * fragments are of nearly equal size, so no tiny last packet is sent.
 */
function fuA(nal: Buffer, maxPayloadSize: number): Buffer[] {
  const indicator = (nal[0] & 0xe0) | H264NalType.fuA;
  const type = nal[0] & 0x1f;
  const body = nal.subarray(1);
  const count = Math.ceil(body.length / (maxPayloadSize - FU_A_HEADER_SIZE));
  const fragments: Buffer[] = [];
  for (let index = 0; index < count; index++) {
    const start = index === 0 ? 0x80 : 0;
    const end = index === count - 1 ? 0x40 : 0;
    // Cut points at multiples of length/count: every chunk is non-empty and within the budget.
    const chunk = body.subarray(Math.floor((index * body.length) / count), Math.floor(((index + 1) * body.length) / count));
    fragments.push(Buffer.concat([Buffer.from([indicator, start | end | type]), chunk]));
  }
  return fragments;
}

function randomUint32(): number {
  return Math.floor(Math.random() * 0x1_0000_0000) >>> 0;
}
