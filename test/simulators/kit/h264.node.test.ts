/**
 * The simulated Kit server's H.264 side: the committed clip, access units,
 * RFC 6184 packetization (checked by an independent reassembly and by werift's
 * depacketizer), the video loop, and a werift receiver negotiating H.264 and
 * Kit's data channels with the sending peer directly on loopback.
 *
 * Run: node --import tsx --test test/simulators/kit/h264.node.test.ts
 */
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { H264RtpPayload } from 'werift';
import type { RTCDataChannel, RtpPacket } from 'werift';
import {
  H264NalType,
  H264RtpPacketizer,
  groupAccessUnits,
  nalUnitType,
  parseH264AnnexB,
  readH264File,
  splitAnnexB,
  withParameterSetsOnKeyframes,
} from '../../../demo/simulators/kit/media/h264.js';
import type { H264AccessUnit } from '../../../demo/simulators/kit/media/h264.js';
import { KIT_CONTROL_CHANNEL_LABEL, KIT_VIDEO_STREAM_ID, KitMediaPeer } from '../../../demo/simulators/kit/media/media-peer.js';
import { VideoLoop } from '../../../demo/simulators/kit/media/video-loop.js';
import { loopbackH264Receiver } from '../../support/werift-receiver.js';

const CLIP_PATH = fileURLToPath(new URL('../../../demo/simulators/kit/media/test-pattern.h264', import.meta.url));
const START_CODE = Buffer.from([0, 0, 0, 1]);

/** A NAL unit of `type` with `nri`; for slices, `firstSlice` sets first_mb_in_slice = 0. */
function nal(type: number, size = 8, options: { nri?: number; firstSlice?: boolean; fill?: number } = {}): Buffer {
  const data = Buffer.alloc(size, options.fill ?? 0x5a);
  data[0] = ((options.nri ?? 3) << 5) | type;
  if (size > 1 && (type === H264NalType.nonIdrSlice || type === H264NalType.idrSlice)) {
    data[1] = options.firstSlice === false ? 0x40 : 0x80 | (data[1] & 0x7f);
  }
  return data;
}

function annexB(nalUnits: readonly Buffer[]): Buffer {
  return Buffer.concat(nalUnits.flatMap((unit) => [START_CODE, unit]));
}

function types(unit: H264AccessUnit): number[] {
  return unit.nalUnits.map(nalUnitType);
}

/**
 * Reassembles NAL units from RTP payloads as RFC 6184 describes, written apart
 * from the packetizer: single NAL unit packets, STAP-A, FU-A. Throws on a
 * malformed sequence, which makes a test fail.
 */
function reassemble(packets: readonly RtpPacket[]): Buffer[] {
  const nalUnits: Buffer[] = [];
  let fragments: Buffer[] | undefined;
  for (const { payload } of packets) {
    const type = payload[0] & 0x1f;
    if (type >= 1 && type <= 23) {
      assert.equal(fragments, undefined, 'a single NAL unit inside a fragmented one');
      nalUnits.push(payload);
    } else if (type === H264NalType.stapA) {
      assert.equal(fragments, undefined, 'a STAP-A inside a fragmented NAL unit');
      for (let offset = 1; offset < payload.length;) {
        const size = payload.readUInt16BE(offset);
        assert.ok(size > 0 && offset + 2 + size <= payload.length, 'STAP-A unit size within the packet');
        nalUnits.push(payload.subarray(offset + 2, offset + 2 + size));
        offset += 2 + size;
      }
    } else if (type === H264NalType.fuA) {
      const start = (payload[1] & 0x80) !== 0;
      const end = (payload[1] & 0x40) !== 0;
      assert.ok(!(start && end), 'an FU-A is never both start and end');
      assert.equal(payload[1] & 0x20, 0, 'reserved bit is 0');
      if (start) {
        assert.equal(fragments, undefined, 'FU-A start while another is open');
        fragments = [Buffer.from([(payload[0] & 0xe0) | (payload[1] & 0x1f)])];
      }
      assert.ok(fragments, 'FU-A continuation without a start');
      fragments.push(payload.subarray(2));
      if (end) {
        nalUnits.push(Buffer.concat(fragments));
        fragments = undefined;
      }
    } else {
      assert.fail(`unexpected payload type ${type}`);
    }
  }
  assert.equal(fragments, undefined, 'an unfinished FU-A');
  return nalUnits;
}

/** Packets of one access unit through werift's own H.264 depacketizer, as Annex B. */
function weriftDepacketize(packets: readonly RtpPacket[]): Buffer {
  const parts: Buffer[] = [];
  let fragment: Buffer | undefined;
  for (const packet of packets) {
    const result = H264RtpPayload.deSerialize(packet.payload, fragment);
    fragment = result.fragment;
    if (result.payload) parts.push(result.payload);
  }
  return Buffer.concat(parts);
}

describe('H.264 access units', () => {
  it('reads the committed clip: 60 pictures, IDR with SPS and PPS every 30', async () => {
    const units = await readH264File(CLIP_PATH);
    assert.equal(units.length, 60);
    assert.deepEqual(
      units.flatMap((unit, index) => (unit.keyframe ? [index] : [])),
      [0, 30],
    );
    for (const unit of units.filter((u) => u.keyframe)) {
      const unitTypes = types(unit);
      assert.ok(unitTypes.includes(H264NalType.sps) && unitTypes.includes(H264NalType.pps), `SPS and PPS in ${unitTypes.join(',')}`);
      assert.ok(unitTypes.indexOf(H264NalType.pps) < unitTypes.indexOf(H264NalType.idrSlice));
    }
    for (const unit of units) {
      const slices = types(unit).filter((type) => type === H264NalType.idrSlice || type === H264NalType.nonIdrSlice);
      assert.equal(slices.length, 1, 'one slice per picture');
    }
    // Constrained baseline (profile_idc 66, constraint_set1) at level 3.0: within the offered 42e01f.
    const sps = units[0]!.nalUnits.find((unit) => nalUnitType(unit) === H264NalType.sps)!;
    assert.equal(sps[1], 66);
    assert.ok((sps[2] & 0x40) !== 0, 'constraint_set1_flag');
    assert.ok(sps[3] <= 31);
  });

  it('splits Annex B with 3- and 4-byte start codes, dropping leading bytes, trailing zeros and empty units', () => {
    const stream = Buffer.from([9, 9, 0, 0, 1, 0x67, 1, 2, 0, 0, 0, 0, 1, 0x68, 3, 0, 0, 1, 0, 0, 1, 0x65, 4, 5, 0, 0]);
    assert.deepEqual(splitAnnexB(stream), [Buffer.from([0x67, 1, 2]), Buffer.from([0x68, 3]), Buffer.from([0x65, 4, 5])]);
    assert.deepEqual(splitAnnexB(Buffer.from([1, 2, 3, 0, 0])), []);
  });

  it('groups slices into pictures by first_mb_in_slice and starts a picture at AUD, SEI, SPS or PPS', () => {
    const units = groupAccessUnits([
      nal(H264NalType.sps),
      nal(H264NalType.pps),
      nal(H264NalType.idrSlice),
      nal(H264NalType.idrSlice, 8, { firstSlice: false }),
      nal(H264NalType.nonIdrSlice),
      nal(H264NalType.nonIdrSlice, 8, { firstSlice: false }),
      nal(H264NalType.sei),
      nal(H264NalType.nonIdrSlice),
      nal(H264NalType.accessUnitDelimiter),
      nal(H264NalType.nonIdrSlice),
    ]);
    assert.deepEqual(units.map(types), [
      [7, 8, 5, 5],
      [1, 1],
      [6, 1],
      [9, 1],
    ]);
    assert.deepEqual(
      units.map((unit) => unit.keyframe),
      [true, false, false, false],
    );
  });

  it('puts SPS and PPS into every key frame that lacks them, the stream first ones before any were seen', () => {
    const firstSps = nal(H264NalType.sps, 6, { fill: 1 });
    const laterSps = nal(H264NalType.sps, 6, { fill: 2 });
    const pps = nal(H264NalType.pps, 4);
    const units = withParameterSetsOnKeyframes(
      groupAccessUnits([
        nal(H264NalType.idrSlice), // before any parameter set: a clip cut mid-stream
        firstSps,
        pps,
        nal(H264NalType.idrSlice),
        nal(H264NalType.nonIdrSlice),
        laterSps,
        nal(H264NalType.nonIdrSlice),
        nal(H264NalType.accessUnitDelimiter),
        nal(H264NalType.idrSlice),
      ]),
    );
    assert.deepEqual(units.map(types), [[7, 8, 5], [7, 8, 5], [1], [7, 1], [9, 7, 8, 5]]);
    assert.equal(units[0]!.nalUnits[0], firstSps);
    assert.equal(units[4]!.nalUnits[1], laterSps, 'the latest SPS');
  });

  it('survives garbage: no exception, no key frame', async () => {
    let seed = 12345;
    const random = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 0xff;
    const inputs = [
      Buffer.alloc(0),
      Buffer.alloc(100),
      Buffer.from([0, 0, 1]),
      Buffer.from([0, 0, 0, 1, 0, 0, 1]),
      Buffer.from([0, 0, 1, 0x1c]), // a lone FU-A type byte
      Buffer.from(Array.from({ length: 4096 }, random)),
      Buffer.from(Array.from({ length: 4096 }, () => [0, 0, 1, 0xff, 0x65][random() % 5]!)),
    ];
    const packetizer = new H264RtpPacketizer({ maxPayloadSize: 50 });
    for (const input of inputs) {
      const units = parseH264AnnexB(input);
      for (const unit of units) packetizer.packetize(unit, 0);
    }
    assert.deepEqual(parseH264AnnexB(Buffer.alloc(100)), []);
    assert.deepEqual(packetizer.packetize([], 0), []);
    assert.throws(() => new H264RtpPacketizer({ maxPayloadSize: 2 }), /maxPayloadSize/);
    const notAClip = fileURLToPath(new URL('./h264.node.test.ts', import.meta.url));
    await assert.rejects(readH264File(notAClip), /no H\.264 key frame/);
  });
});

describe('H.264 RTP packetizer', () => {
  it('packetizes the clip within the budget, marker on the last packet, reassembling to the same NAL units', async () => {
    const units = await readH264File(CLIP_PATH);
    for (const maxPayloadSize of [1200, 100]) {
      const packetizer = new H264RtpPacketizer({ maxPayloadSize, initialSequenceNumber: 65_530, ssrc: 0x1234 });
      let expectedSequence = 65_530;
      let fuAPackets = 0;
      units.forEach((unit, index) => {
        const timestamp = (0xffff_f000 + index * 3000) >>> 0;
        const packets = packetizer.packetize(unit, timestamp);
        assert.ok(packets.length > 0);
        for (const packet of packets) {
          assert.equal(packet.header.sequenceNumber, expectedSequence);
          expectedSequence = (expectedSequence + 1) & 0xffff;
          assert.equal(packet.header.timestamp, timestamp);
          assert.equal(packet.header.ssrc, 0x1234);
          assert.equal(packet.header.payloadType, 96);
          assert.ok(packet.payload.length <= maxPayloadSize, `${packet.payload.length} > ${maxPayloadSize}`);
          if ((packet.payload[0] & 0x1f) === H264NalType.fuA) fuAPackets++;
        }
        assert.deepEqual(
          packets.map((packet) => packet.header.marker),
          packets.map((_, i) => i === packets.length - 1),
        );
        assert.deepEqual(reassemble(packets), unit.nalUnits);
        assert.deepEqual(weriftDepacketize(packets), annexB(unit.nalUnits));
      });
      assert.ok(fuAPackets > 0, 'the IDR pictures need FU-A');
    }
  });

  it('aggregates SPS, PPS and SEI into one STAP-A before a fragmented IDR', async () => {
    const [first] = await readH264File(CLIP_PATH);
    const packets = new H264RtpPacketizer().packetize(first!, 0);
    const stapA = packets[0]!.payload;
    assert.equal(stapA[0]! & 0x1f, H264NalType.stapA);
    assert.equal(stapA[0]! & 0x60, 0x60, 'NRI is the highest of the aggregated units');
    assert.deepEqual(reassemble([packets[0]!]).map(nalUnitType), [H264NalType.sps, H264NalType.pps, H264NalType.sei]);
    const fragments = packets.slice(1);
    assert.ok(fragments.length >= 2);
    assert.ok(fragments.every((packet) => (packet.payload[0]! & 0x1f) === H264NalType.fuA));
    assert.deepEqual(
      fragments.map((packet) => packet.payload[1]! & 0xc0),
      fragments.map((_, i) => (i === 0 ? 0x80 : i === fragments.length - 1 ? 0x40 : 0)),
    );
    assert.ok(fragments.every((packet) => (packet.payload[1]! & 0x1f) === H264NalType.idrSlice));
  });

  it('sends single NAL unit packets when aggregation is off, and fragments evenly', () => {
    const unit: H264AccessUnit = {
      nalUnits: [nal(H264NalType.sps, 10), nal(H264NalType.pps, 5), nal(H264NalType.idrSlice, 251)],
      keyframe: true,
    };
    const packets = new H264RtpPacketizer({ maxPayloadSize: 100, aggregate: false }).packetize(unit, 0);
    assert.deepEqual(
      packets.map((packet) => packet.payload.length),
      [10, 5, 85, 85, 86],
    );
    assert.deepEqual(reassemble(packets), unit.nalUnits);
  });
});

describe('video loop', () => {
  const frame = (keyframe: boolean, tag: number): H264AccessUnit => ({
    nalUnits: [nal(keyframe ? H264NalType.idrSlice : H264NalType.nonIdrSlice, 8, { fill: tag })],
    keyframe,
  });

  it('starts at a key frame, skips to the next one on request, keeps timestamps on the 90 kHz grid', () => {
    const frames = [frame(false, 0), frame(true, 1), frame(false, 2), frame(false, 3), frame(true, 4), frame(false, 5)];
    const sent: RtpPacket[] = [];
    const loop = new VideoLoop({ frames, frameRate: 30, sendPacket: (packet) => sent.push(packet) });
    const sentTags = () => sent.map((packet) => packet.payload.at(-1));
    loop.start(); // the first frame goes out at once
    loop.stop();
    loop.start();
    loop.stop();
    assert.deepEqual(sentTags(), [1, 2]);
    loop.skipToNextKeyframe();
    loop.start();
    loop.stop();
    loop.start();
    loop.stop();
    loop.start();
    loop.stop();
    assert.deepEqual(sentTags(), [1, 2, 4, 5, 0], 'wraps around');
    assert.equal(loop.framesSent, 5);
    assert.ok(sent.every((packet) => packet.header.marker));
    const first = sent[0]!.header.timestamp;
    assert.ok(sent.every((packet) => ((packet.header.timestamp - first) >>> 0) % 3000 === 0));
    assert.equal(new Set(sent.map((packet) => packet.header.timestamp)).size, sent.length, 'one timestamp per frame');
    assert.throws(() => new VideoLoop({ frames: [], sendPacket: () => {} }));
  });
});

describe('Kit media peer with a werift receiver', () => {
  const cleanups: (() => Promise<void>)[] = [];
  after(async () => {
    await Promise.all(cleanups.map((cleanup) => cleanup().catch(() => {})));
  });

  async function waitFor(what: string, condition: () => boolean, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!condition()) {
      if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  async function freeUdpPort(): Promise<number> {
    const socket = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
    const { port } = socket.address();
    await new Promise<void>((resolve) => socket.close(() => resolve()));
    return port;
  }

  it('offers H.264 only with control_channel, and streams H.264 RTP to a receiver with its own channels', async () => {
    const frames = await readH264File(CLIP_PATH);
    const opened: string[] = [];
    const serverReceived: [string, string | Buffer][] = [];
    const peer = await KitMediaPeer.create({
      mediaPort: await freeUdpPort(),
      host: '127.0.0.1',
      frames,
      frameRate: 30,
      iceLite: true,
      mediaPaused: false,
      idleTimeoutMs: 10_000,
      onChannelOpen: (label) => opened.push(label),
      onChannelMessage: (label, data) => serverReceived.push([label, data]),
    });
    cleanups.push(() => peer.close());

    const offer = peer.offerSdp;
    const video = /m=video [^]*?(?=\r\nm=|$)/.exec(offer)?.[0] ?? '';
    const payloadTypes = /^m=video \d+ \S+ ([\d ]+)/m.exec(video)?.[1]?.split(' ') ?? [];
    const h264Type = Number(/a=rtpmap:(\d+) H264\/90000/.exec(video)?.[1]);
    assert.deepEqual(payloadTypes, [String(h264Type)], 'H.264 is the only video payload type');
    assert.match(video, new RegExp(`a=fmtp:${h264Type} .*profile-level-id=42e01f`));
    assert.match(video, new RegExp(`a=fmtp:${h264Type} .*packetization-mode=1`));
    for (const feedback of ['nack', 'nack pli', 'goog-remb', 'ccm fir']) {
      assert.match(video, new RegExp(`a=rtcp-fb:${h264Type} ${feedback}\\r\\n`));
    }
    assert.match(video, new RegExp(`a=msid:${KIT_VIDEO_STREAM_ID} `));
    assert.match(offer, /a=ice-lite/);
    assert.match(offer, /m=application \d+ UDP\/DTLS\/SCTP webrtc-datachannel/);
    assert.deepEqual(peer.channelStates(), { [KIT_CONTROL_CHANNEL_LABEL]: 'connecting' });
    assert.equal(peer.sendOnChannel(KIT_CONTROL_CHANNEL_LABEL, 'too early'), false);

    const receiver = loopbackH264Receiver();
    cleanups.push(() => receiver.close());
    const received: RtpPacket[] = [];
    const streamIds: string[] = [];
    receiver.ontrack = (event) => {
      streamIds.push(...event.streams.map((stream) => stream.id));
      event.track.onReceiveRtp.subscribe((packet) => received.push(packet));
    };
    let control: RTCDataChannel | undefined;
    const controlReceived: (string | Buffer)[] = [];
    receiver.onDataChannel.subscribe((channel) => {
      if (channel.label !== KIT_CONTROL_CHANNEL_LABEL) return;
      control = channel;
      channel.onMessage.subscribe((data) => controlReceived.push(data));
    });
    // As NVIDIA's client does: its own channels exist before it takes the offer.
    // Chromium, the DTLS client, numbers its first channel 0; werift picks 1 for the next.
    const input = receiver.createDataChannel('input_channel_v1', { ordered: true, id: 0 });
    const cursor = receiver.createDataChannel('cursor_channel', { ordered: true });
    await receiver.setRemoteDescription({ type: 'offer', sdp: offer });
    await receiver.setLocalDescription(await receiver.createAnswer());
    await peer.acceptAnswer(receiver.localDescription!.sdp);

    await waitFor('H.264 RTP', () => received.length > 20);
    assert.ok(received.every((packet) => packet.header.payloadType === h264Type));
    assert.ok(peer.framesSent > 0);
    assert.deepEqual(streamIds, [KIT_VIDEO_STREAM_ID]);
    // The first packets are the first picture: SPS, PPS, SEI aggregated, then the IDR in fragments.
    const firstPicture = received.slice(0, received.findIndex((packet) => packet.header.marker) + 1);
    const firstNalTypes = reassemble(firstPicture).map(nalUnitType);
    assert.deepEqual(firstNalTypes, [H264NalType.sps, H264NalType.pps, H264NalType.sei, H264NalType.idrSlice]);

    await waitFor('all three channels open', () =>
      ['control_channel', 'input_channel_v1', 'cursor_channel'].every((l) => opened.includes(l)),
    );
    assert.deepEqual(peer.channelStates(), { control_channel: 'open', input_channel_v1: 'open', cursor_channel: 'open' });
    assert.deepEqual([...opened].sort(), ['control_channel', 'cursor_channel', 'input_channel_v1'], 'each announced once');
    await waitFor('control_channel at the receiver', () => control?.readyState === 'open');
    assert.equal(control!.id % 2, 1, 'an odd stream id: this peer is the DTLS server');
    assert.deepEqual([input.id, cursor.id], [0, 1]);
    assert.equal(input.readyState, 'open');

    input.send(Buffer.from([0x0e, 0x02, 0x00]));
    cursor.send('cursor text');
    await waitFor('two messages at the server', () => serverReceived.length === 2);
    assert.deepEqual(serverReceived.map(([label]) => label).sort(), ['cursor_channel', 'input_channel_v1']);
    assert.deepEqual(serverReceived.find(([label]) => label === 'input_channel_v1')?.[1], Buffer.from([0x0e, 0x02, 0x00]));
    assert.equal(serverReceived.find(([label]) => label === 'cursor_channel')?.[1], 'cursor text');

    assert.equal(peer.sendOnChannel(KIT_CONTROL_CHANNEL_LABEL, '{"hello":1}'), true);
    assert.equal(peer.sendOnChannel('input_channel_v1', Buffer.from([1, 2])), true);
    assert.equal(peer.sendOnChannel('no_such_channel', 'x'), false);
    await waitFor('the control message at the receiver', () => controlReceived.length === 1);
    assert.equal(controlReceived[0], '{"hello":1}');

    await peer.close();
    assert.equal(peer.sendOnChannel(KIT_CONTROL_CHANNEL_LABEL, 'after close'), false);
    await receiver.close();
  });
});
