/**
 * The sending side of a simulated Kit stream: one werift RTCPeerConnection that
 * offers an H.264 video track (a looped test pattern) and Kit's data channels,
 * pinned to one loopback UDP port.
 */
import {
  MediaStream,
  MediaStreamTrack,
  RTCPeerConnection,
  RTCRtpCodecParameters,
  RtcpPayloadSpecificFeedback,
  useFIR,
  useNACK,
  usePLI,
  useREMB,
} from 'werift';
import type { RTCDataChannel } from 'werift';
import type { H264AccessUnit } from './h264.js';
import { VideoLoop } from './video-loop.js';

/**
 * The one data channel Kit's server creates (KIT-PROTOCOL.md section 3); the
 * client creates `input_channel_v1`, `cursor_channel` and maybe others, and they
 * arrive through `ondatachannel`.
 */
export const KIT_CONTROL_CHANNEL_LABEL = 'control_channel';

/**
 * The media stream id the video track is announced under (`a=msid`). NVIDIA's
 * client recognises `stream_id`, `app_media_stream`, `second_stream_id` and
 * `app_audio_stream`; which one Kit uses is not known, so this takes the one
 * named for app video.
 */
export const KIT_VIDEO_STREAM_ID = 'app_media_stream';

/**
 * SCTP stream id of `control_channel`. Odd, because this peer is the DTLS
 * server (it offers `a=setup:actpass`, and browsers answer `active`), and
 * RFC 8832 section 6 gives the server the odd ids: left to itself werift would
 * pick 0, as it derives the parity from its ICE role (controlled, being
 * ICE-lite), and collide with the browser's first channel (`input_channel_v1`
 * is 0 in Chromium). Well above the ids clients allocate from the bottom, so a
 * werift client, which also picks by ICE role (odd when controlling), does not
 * collide either; below 1024, the stream limit of Chromium and Safari.
 */
const CONTROL_CHANNEL_STREAM_ID = 255;

/** Feedback message type of a full intra request (RFC 5104 section 4.3.1); werift parses FIR but does not export its class. */
const FIR_FORMAT = 4;

/**
 * The only video codec offered. Kit streams H.264; its profile is not known, so
 * the offer names constrained baseline, which every WebRTC browser decodes
 * (the clip is constrained baseline level 3.0, within 42e01f).
 */
export function kitH264Codec(): RTCRtpCodecParameters {
  return new RTCRtpCodecParameters({
    mimeType: 'video/H264',
    clockRate: 90_000,
    parameters: 'profile-level-id=42e01f;packetization-mode=1;level-asymmetry-allowed=1',
    rtcpFeedback: [useNACK(), usePLI(), useREMB(), useFIR()],
  });
}

export interface KitMediaPeerOptions {
  /** The UDP port the peer must use: the session's media destination port. */
  mediaPort: number;
  /** Loopback address the peer binds to and advertises in its candidates. */
  host: string;
  /**
   * When set, datagrams from any other address are ignored, so that only
   * traffic relayed by the media port forwarder reaches the peer.
   */
  allowedRemoteAddress?: string;
  /** The clip to loop, one entry per picture (see `readH264File` in h264.ts). */
  frames: readonly H264AccessUnit[];
  frameRate: number;
  /** Kit's server is ICE-lite: it answers connectivity checks but sends none. */
  iceLite: boolean;
  /** Start with the video stopped (media fault active). */
  mediaPaused: boolean;
  /** Offer a video track; default true. False offers the data channels only (a fault: an offer without video). */
  video?: boolean;
  /**
   * Create `control_channel`; default true. False keeps the SCTP association (the client's channels need it)
   * through a channel negotiated out of band, which the client is never told of: `control_channel` never comes.
   */
  controlChannel?: boolean;
  /**
   * A connected peer that receives nothing (no consent checks, no RTCP) for this
   * long is closed, as an ICE-lite server does when the client is gone: being
   * ICE-lite it sends no checks of its own, so silence is the only signal.
   */
  idleTimeoutMs: number;
  /**
   * A data channel is open: `control_channel` (created by this peer) once the
   * client has it, or a channel the client created (`input_channel_v1`,
   * `cursor_channel`, ...) once it arrived and opened.
   */
  onChannelOpen?: (label: string) => void;
  /** A message on any data channel: a string for text messages, a Buffer for binary ones. */
  onChannelMessage: (label: string, data: string | Buffer) => void;
  onConnectionStateChange?: (state: KitMediaPeerState) => void;
  /** The peer closed itself after {@link idleTimeoutMs} of silence. */
  onIdleTimeout?: () => void;
}

export type KitMediaPeerState = RTCPeerConnection['connectionState'];

/** A remote candidate as trickled by a client (the browser's RTCIceCandidateInit). */
export interface RemoteCandidateInit {
  candidate: string;
  sdpMid?: string | null;
  sdpMLineIndex?: number | null;
}

export class KitMediaPeer {
  private readonly videoLoop: VideoLoop;
  private readonly idleCheck: NodeJS.Timeout;
  /** Latest channel per label, this peer's `control_channel` and the client's. */
  private readonly channels = new Map<string, RTCDataChannel>();
  private mediaPaused: boolean;
  private lastReceivedAt = performance.now();
  private closed = false;

  private constructor(
    private readonly pc: RTCPeerConnection,
    private readonly videoTrack: MediaStreamTrack,
    private readonly options: KitMediaPeerOptions,
    readonly offerSdp: string,
  ) {
    this.mediaPaused = options.mediaPaused;
    this.videoLoop = new VideoLoop({
      frames: options.frames,
      frameRate: options.frameRate,
      sendPacket: (packet) => this.videoTrack.writeRtp(packet),
    });
    this.idleCheck = setInterval(
      () => {
        if (this.connected && performance.now() - this.lastReceivedAt > options.idleTimeoutMs) {
          void this.close().then(() => options.onIdleTimeout?.());
        }
      },
      Math.min(1000, Math.max(50, options.idleTimeoutMs / 3)),
    );
    this.idleCheck.unref();
  }

  /**
   * Creates the peer and its offer. The offer's candidates carry the host and
   * media port, as a real Kit's carry in-cluster addresses.
   */
  static async create(options: KitMediaPeerOptions): Promise<KitMediaPeer> {
    const pc = new RTCPeerConnection({
      // werift's default is a public STUN server; there is no network here but loopback.
      iceServers: [],
      // One transport for video and data, so exactly one UDP socket is opened.
      bundlePolicy: 'max-bundle',
      iceLite: options.iceLite,
      iceUseIpv4: false,
      iceUseIpv6: false,
      iceAdditionalHostAddresses: [options.host],
      iceInterfaceAddresses: { udp4: options.host },
      // werift rejects a range of one port; the lower bound is used when it is free.
      icePortRange: [options.mediaPort, options.mediaPort + 1],
      // H.264 only, as Kit offers; werift's default would be VP8.
      codecs: { video: [kitH264Codec()] },
    });
    let peer: KitMediaPeer | undefined;
    try {
      const videoTrack = new MediaStreamTrack({ kind: 'video' });
      const transceiver =
        options.video === false
          ? undefined
          : pc.addTransceiver(videoTrack, { direction: 'sendonly', streams: [new MediaStream({ id: KIT_VIDEO_STREAM_ID })] });
      // Created before the offer so that the offer negotiates SCTP. The document
      // does not say how Kit configures it; ordered and reliable is what JSON control needs.
      const controlChannel =
        options.controlChannel === false
          ? undefined
          : pc.createDataChannel(KIT_CONTROL_CHANNEL_LABEL, { ordered: true, id: CONTROL_CHANNEL_STREAM_ID });
      // Negotiated channels are announced to nobody; this one only makes the offer carry SCTP.
      if (!controlChannel) pc.createDataChannel('sctp', { negotiated: true, id: CONTROL_CHANNEL_STREAM_ID });
      const offer = await pc.createOffer();
      await pc.setLocalDescription(offer);
      const offerSdp = pc.localDescription?.sdp;
      if (!offerSdp) throw new Error('werift produced no local description');

      const boundPort = hostCandidatePort(offerSdp);
      if (boundPort !== options.mediaPort) {
        throw new Error(`media port ${options.mediaPort} was not free (peer bound ${String(boundPort)})`);
      }
      const created = new KitMediaPeer(pc, videoTrack, options, offerSdp);
      peer = created;
      const allowed = options.allowedRemoteAddress;
      interceptIceDatagrams(pc, (address) => {
        if (allowed !== undefined && address !== allowed) return false;
        created.lastReceivedAt = performance.now();
        return true;
      });
      if (controlChannel) created.keepChannel(controlChannel);
      pc.onDataChannel.subscribe((channel) => created.keepChannel(channel));
      // Picture loss (PLI) or a full intra request (FIR): continue at the next key frame.
      transceiver?.sender.onPictureLossIndication.subscribe(() => created.videoLoop.skipToNextKeyframe());
      transceiver?.sender.onRtcp.subscribe((packet) => {
        if (packet instanceof RtcpPayloadSpecificFeedback && packet.feedback.count === FIR_FORMAT) {
          created.videoLoop.skipToNextKeyframe();
        }
      });
      pc.connectionStateChange.subscribe((state) => {
        created.updateVideo();
        options.onConnectionStateChange?.(state);
      });
      return created;
    } catch (error) {
      await (peer ? peer.close() : pc.close().catch(() => {}));
      throw error;
    }
  }

  get connectionState(): KitMediaPeerState {
    return this.pc.connectionState;
  }

  get connected(): boolean {
    return !this.closed && this.pc.connectionState === 'connected';
  }

  /** Whether the offer has a video track (see {@link KitMediaPeerOptions.video}). */
  get offersVideo(): boolean {
    return this.options.video !== false;
  }

  /** Number of video frames handed to the sender so far. */
  get framesSent(): number {
    return this.videoLoop.framesSent;
  }

  async acceptAnswer(sdp: string): Promise<void> {
    if (this.closed) return;
    await this.pc.setRemoteDescription({ type: 'answer', sdp: withoutMdnsCandidates(sdp) });
  }

  /** Adds a trickled client candidate; mDNS (`.local`) and empty candidates are ignored. */
  async addRemoteCandidate(init: RemoteCandidateInit): Promise<boolean> {
    if (this.closed || init.candidate.trim() === '' || isMdnsCandidate(init.candidate)) return false;
    const located = init.sdpMid != null || init.sdpMLineIndex != null;
    await this.pc.addIceCandidate({
      candidate: init.candidate,
      sdpMid: init.sdpMid ?? undefined,
      // Everything is bundled on the first media section; a client that names none means it.
      sdpMLineIndex: located ? (init.sdpMLineIndex ?? undefined) : 0,
    });
    return true;
  }

  /** Sends one message on the channel with this label; false when there is no such channel or it is not open. */
  sendOnChannel(label: string, data: string | Buffer): boolean {
    const channel = this.channels.get(label);
    if (this.closed || channel?.readyState !== 'open') return false;
    try {
      channel.send(data);
      return true;
    } catch {
      return false;
    }
  }

  /** The ready state of every channel seen, by label: 'connecting', 'open', 'closing' or 'closed'. */
  channelStates(): Record<string, string> {
    return Object.fromEntries([...this.channels].map(([label, channel]) => [label, channel.readyState]));
  }

  setMediaPaused(paused: boolean): void {
    this.mediaPaused = paused;
    this.updateVideo();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.idleCheck);
    this.videoLoop.stop();
    this.videoTrack.stop();
    await this.pc.close().catch(() => {});
  }

  /** Keeps a channel by its label (a newer one with the same label replaces it) and relays its events. */
  private keepChannel(channel: RTCDataChannel): void {
    const label = channel.label;
    this.channels.set(label, channel);
    channel.onMessage.subscribe((data) => {
      if (!this.closed && this.channels.get(label) === channel) this.options.onChannelMessage(label, data);
    });
    const announceOpen = (): void => {
      if (!this.closed && this.channels.get(label) === channel) this.options.onChannelOpen?.(label);
    };
    // A client's channel arrives just before werift marks it open; this peer's opens on the client's acknowledgement.
    if (channel.readyState === 'open') announceOpen();
    channel.stateChanged.subscribe((state) => {
      if (state === 'open') announceOpen();
    });
  }

  /** Video runs exactly while the peer, which offered video, is connected and media is not stopped. */
  private updateVideo(): void {
    if (this.closed || this.mediaPaused || this.options.video === false || this.pc.connectionState !== 'connected') {
      this.videoLoop.stop();
    } else {
      this.videoLoop.start();
    }
  }
}

const CANDIDATE_ADDRESS = /^(?:a=)?candidate:\S+ \d+ \S+ \d+ (\S+) (\d+) typ /;

export function isMdnsCandidate(candidate: string): boolean {
  const address = CANDIDATE_ADDRESS.exec(candidate.trim())?.[1];
  return address !== undefined && address.toLowerCase().endsWith('.local');
}

/** Drops `.local` candidate lines: werift resolves them with a 10 s mDNS timeout that stalls negotiation. */
export function withoutMdnsCandidates(sdp: string): string {
  return sdp
    .split(/\r?\n/)
    .filter((line) => !(line.startsWith('a=candidate:') && isMdnsCandidate(line)))
    .join('\r\n');
}

function hostCandidatePort(sdp: string): number | undefined {
  for (const line of sdp.split(/\r?\n/)) {
    const match = CANDIDATE_ADDRESS.exec(line);
    if (match) return Number(match[2]);
  }
  return undefined;
}

/**
 * werift's ICE agent reads its UDP socket through `UdpTransport.onData`, set once
 * when the socket is opened during gathering. These are internals (private in the
 * typings), so the shape is checked at run time and a change fails loudly.
 */
interface WeriftUdpTransportInternals {
  onData: (data: Buffer, address: [string, number]) => void;
}
interface WeriftIceConnectionInternals {
  protocols: { transport?: unknown }[];
}

/** Routes every datagram the peer's ICE sockets receive through `accept`; false drops it. */
function interceptIceDatagrams(pc: RTCPeerConnection, accept: (address: string, port: number) => boolean): void {
  let wrapped = 0;
  for (const iceTransport of pc.iceTransports) {
    const connection = iceTransport.connection as unknown as Partial<WeriftIceConnectionInternals>;
    for (const protocol of connection.protocols ?? []) {
      const transport = protocol.transport as Partial<WeriftUdpTransportInternals> | undefined;
      const receive = transport?.onData;
      if (!transport || typeof receive !== 'function') continue;
      transport.onData = (data, address) => {
        if (accept(address[0], address[1])) receive(data, address);
      };
      wrapped++;
    }
  }
  if (wrapped === 0) {
    throw new Error('cannot intercept ICE datagrams: werift UDP transport not found (werift internals changed?)');
  }
}
