/**
 * The sending side of a simulated Kit stream: one werift RTCPeerConnection that
 * offers a VP8 video track (a looped test pattern) and a data channel for app
 * messages, pinned to one loopback UDP port.
 */
import { MediaStreamTrack, RTCPeerConnection } from 'werift';
import type { RTCDataChannel } from 'werift';
import type { IvfFrame } from './ivf.js';
import { VideoLoop } from './video-loop.js';

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
  frames: readonly IvfFrame[];
  frameRate: number;
  /** Kit's server is ICE-lite: it answers connectivity checks but sends none. */
  iceLite: boolean;
  dataChannelLabel: string;
  /** Start with the video stopped (media fault active). */
  mediaPaused: boolean;
  /**
   * A connected peer that receives nothing (no consent checks, no RTCP) for this
   * long is closed, as an ICE-lite server does when the client is gone: being
   * ICE-lite it sends no checks of its own, so silence is the only signal.
   */
  idleTimeoutMs: number;
  onAppMessage: (data: string | Buffer) => void;
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
  private mediaPaused: boolean;
  private lastReceivedAt = performance.now();
  private closed = false;

  private constructor(
    private readonly pc: RTCPeerConnection,
    private readonly dataChannel: RTCDataChannel,
    private readonly videoTrack: MediaStreamTrack,
    options: KitMediaPeerOptions,
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
    });
    let peer: KitMediaPeer | undefined;
    try {
      const videoTrack = new MediaStreamTrack({ kind: 'video' });
      const transceiver = pc.addTransceiver(videoTrack, { direction: 'sendonly' });
      // Created before the offer so that the offer negotiates SCTP.
      const dataChannel = pc.createDataChannel(options.dataChannelLabel, { ordered: true });
      const offer = await pc.createOffer();
      await pc.setLocalDescription(offer);
      const offerSdp = pc.localDescription?.sdp;
      if (!offerSdp) throw new Error('werift produced no local description');

      const boundPort = hostCandidatePort(offerSdp);
      if (boundPort !== options.mediaPort) {
        throw new Error(`media port ${options.mediaPort} was not free (peer bound ${String(boundPort)})`);
      }
      const created = new KitMediaPeer(pc, dataChannel, videoTrack, options, offerSdp);
      peer = created;
      const allowed = options.allowedRemoteAddress;
      interceptIceDatagrams(pc, (address) => {
        if (allowed !== undefined && address !== allowed) return false;
        created.lastReceivedAt = performance.now();
        return true;
      });
      dataChannel.onMessage.subscribe((data) => {
        if (!created.closed) options.onAppMessage(data);
      });
      transceiver.sender.onPictureLossIndication.subscribe(() => created.videoLoop.skipToNextKeyframe());
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

  /** Sends one data-channel message; returns false while the channel is not open. */
  sendAppMessage(text: string): boolean {
    if (this.closed || this.dataChannel.readyState !== 'open') return false;
    try {
      this.dataChannel.send(text);
      return true;
    } catch {
      return false;
    }
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

  /** Video runs exactly while the peer is connected and media is not stopped. */
  private updateVideo(): void {
    if (this.closed || this.mediaPaused || this.pc.connectionState !== 'connected') {
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
