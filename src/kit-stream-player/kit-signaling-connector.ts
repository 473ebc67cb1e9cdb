import type {
  KitAppMessage,
  KitCloseReason,
  KitConnectOptions,
  KitConnection,
  KitConnector,
  KitInputSink,
  KitStreamStats,
} from './connector.js';
import { type KitDataChannels, openDataChannels } from './data-channels.js';
import { KitStreamError } from './kit-error.js';
import { answerNvstSdp, mungeAnswer, mungeOffer, parseNvstSdp, preferCodecs, rewriteCandidate } from './sdp.js';
import { sessionProtocol } from './signaling-protocol.js';
import { type SignalingSocket, openSignaling } from './signaling-socket.js';
import { StatsSampler } from './stats.js';

export interface KitSignalingConnectorOptions {
  /** Path before `/sign_in` on the signaling server, for deployments that route signaling by path. Default none. */
  signalingPath?: string;
  /** Use `wss://`. Default: when the page itself is https. */
  secure?: boolean;
  /** How long `connect` may take until media flows, ms. Default 20000. */
  connectTimeoutMs?: number;
  /** How long the media connection may stay `disconnected` before it counts as lost, ms. Default 10000. */
  disconnectedTimeoutMs?: number;
  /**
   * How long the server's `control_channel` may take to open once the media connected, ms; then the connection ends
   * (see `KitDataChannels.awaitControl`). Default 30000, as NVIDIA's client.
   */
  controlChannelTimeoutMs?: number;
}

/** The bitrate asked for when none is set, kbit/s. */
const defaultMaxBitrate = 20_000;

/**
 * The built-in connector: Kit's own streaming protocol, as NVIDIA's browser library speaks it. Signaling is a
 * WebSocket carrying `peer_msg` envelopes with acknowledged ids; the server offers H264 video and a
 * `control_channel`; the client adds `input_channel_v1` for binary input and `cursor_channel` for the app's
 * cursor. The server's UDP candidates are rewritten to the route's IP and media port (the service's load balancer
 * maps that port to the in-cluster port the server advertises).
 */
export class KitSignalingConnector implements KitConnector {
  readonly #options: KitSignalingConnectorOptions;

  constructor(options: KitSignalingConnectorOptions = {}) {
    this.#options = options;
  }

  connect(options: KitConnectOptions): Promise<KitConnection> {
    return new KitSignalingConnection(options, this.#options).open();
  }
}

class KitSignalingConnection implements KitConnection {
  // The default bundle policy, as NVIDIA's client: max-bundle would refuse an offer without a BUNDLE group.
  readonly #peer = new RTCPeerConnection({ iceServers: [] });
  readonly #sampler = new StatsSampler(() => this.#peer.getStats());
  readonly #channels: KitDataChannels;
  readonly input: KitInputSink;
  /** One stream for every remote track, so that an audio track in a stream of its own never replaces the video. */
  readonly #media = new MediaStream();
  #signaling: SignalingSocket | undefined;
  #connectTimer: ReturnType<typeof setTimeout> | undefined;
  #disconnectedTimer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;
  #settle: { resolve(connection: KitConnection): void; reject(error: unknown): void } | undefined;
  readonly #options: KitConnectOptions;
  readonly #settings: KitSignalingConnectorOptions;

  constructor(options: KitConnectOptions, settings: KitSignalingConnectorOptions) {
    this.#options = options;
    this.#settings = settings;
    // Made before the offer is answered, so that they are part of the connection from the start, as Kit expects.
    this.#channels = openDataChannels(this.#peer, options, this.#fail, this.#log);
    this.input = this.#channels.input;
  }

  open(): Promise<KitConnection> {
    const { signal, video, target, accessToken } = this.#options;
    return new Promise<KitConnection>((resolve, reject) => {
      this.#settle = { resolve, reject };
      if (signal.aborted) {
        this.close();
        reject(signal.reason);
        return;
      }
      signal.addEventListener('abort', this.#onAbort, { once: true });
      const timeoutMs = this.#settings.connectTimeoutMs ?? 20_000;
      this.#connectTimer = setTimeout(
        () => this.#fail('connect-timeout', `No media within ${timeoutMs / 1000} s of connecting.`),
        timeoutMs,
      );
      const peer = this.#peer;
      peer.addEventListener('icecandidate', ({ candidate }) => {
        // TCP candidates are useless: the route forwards UDP media only.
        if (candidate?.candidate && !/ tcp /i.test(candidate.candidate))
          this.#signaling!.send({ sdpMLineIndex: candidate.sdpMLineIndex, sdpMid: candidate.sdpMid, candidate: candidate.candidate });
      });
      peer.addEventListener('track', ({ track }) => {
        this.#media.addTrack(track);
        if (video.srcObject !== this.#media) video.srcObject = this.#media;
        video.play().catch(() => {
          // Autoplay may be refused until the user interacts; the element offers its own controls.
        });
      });
      peer.addEventListener('connectionstatechange', () => {
        const state = peer.connectionState;
        clearTimeout(this.#disconnectedTimer);
        if (state === 'connected') this.#onConnected();
        if (state === 'failed') this.#fail('ice-failed', 'The media connection failed (ICE).');
        // A short network blip recovers by itself; a long one is a lost connection, without waiting for ICE's own
        // verdict, which takes half a minute.
        const lostAfterMs = this.#settings.disconnectedTimeoutMs ?? 10_000;
        if (state === 'disconnected')
          this.#disconnectedTimer = setTimeout(
            () => this.#fail('ice-failed', `The media connection was lost for ${lostAfterMs / 1000} s.`),
            lostAfterMs,
          );
      });
      this.#signaling = openSignaling(
        {
          secure: this.#settings.secure ?? globalThis.location?.protocol === 'https:',
          host: target.host,
          port: target.signalingPort,
          path: this.#settings.signalingPath,
        },
        sessionProtocol(target.sessionId, accessToken),
        {
          connecting: () => !!this.#settle,
          peerMessage: (message) => void this.#onPeerMessage(message),
          frames: async () => (await this.stats())?.framesDecoded,
          fail: this.#fail,
          log: this.#log,
        },
      );
    });
  }

  send(message: KitAppMessage): void {
    if (this.#closed) throw new KitStreamError('connection', 'The stream is closed.');
    this.#channels.send(message);
  }

  async stats(): Promise<KitStreamStats | undefined> {
    if (this.#closed) return undefined;
    return this.#sampler.sample();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#options.signal.removeEventListener('abort', this.#onAbort);
    clearTimeout(this.#connectTimer);
    clearTimeout(this.#disconnectedTimer);
    this.#channels.close(() => this.#peer.close());
    this.#signaling?.close();
    for (const track of this.#media.getTracks()) track.stop();
    const { video } = this.#options;
    if (video.srcObject === this.#media) video.srcObject = null;
  }

  readonly #onAbort = (): void => {
    const reason: unknown = this.#options.signal.reason;
    this.close();
    this.#settle?.reject(reason);
    this.#settle = undefined;
  };

  #onConnected(): void {
    clearTimeout(this.#connectTimer);
    this.#channels.awaitControl(this.#settings.controlChannelTimeoutMs ?? 30_000);
    this.#settle?.resolve(this);
    this.#settle = undefined;
  }

  /** Ends the connection for a reason of its own: rejects `connect` if still pending, else reports `onClosed`. */
  readonly #fail = (reason: KitCloseReason, detail: string): void => {
    if (this.#closed) return;
    this.#log('closing:', detail);
    this.close();
    if (this.#settle) {
      const code = reason === 'server-ended' ? reason : reason === 'server-error' ? 'signaling' : 'connection';
      this.#settle.reject(new KitStreamError(code, detail));
      this.#settle = undefined;
    } else {
      this.#options.onClosed(reason, detail);
    }
  };

  async #onPeerMessage(message: Record<string, unknown>): Promise<void> {
    const { target, width, height, fps } = this.#options;
    const peer = this.#peer;
    try {
      if (message.type === 'offer' && typeof message.sdp === 'string') {
        // Kit always streams video: an offer without it has no picture to give, and waiting for a first frame would
        // take the whole connect timeout. It is a failed attempt, not a server error that ends the stream: a new
        // sign-in brings a new offer, so the element reconnects (up to `max-reconnects`) before it shows the error.
        if (!/^m=video /m.test(message.sdp)) {
          this.#fail('signaling-error', 'The server offered no video.');
          return;
        }
        await peer.setRemoteDescription({
          type: 'offer',
          sdp: mungeOffer(message.sdp, { host: target.host, mediaPort: target.mediaPort, width, height, fps }),
        });
        this.#preferCodecs();
        const answer = await peer.createAnswer();
        const maxBitrateKbps = this.#options.maxBitrate || defaultMaxBitrate;
        await peer.setLocalDescription({ type: 'answer', sdp: mungeAnswer(answer.sdp ?? '', { maxBitrateKbps }) });
        const sdp = peer.localDescription?.sdp ?? '';
        const reply: Record<string, unknown> = { type: 'answer', sdp };
        const nvst = typeof message.nvstSdp === 'string' ? parseNvstSdp(message.nvstSdp) : undefined;
        if (nvst) reply.nvstSdp = answerNvstSdp(nvst, sdp, { width, height, fps, maxBitrateKbps });
        this.#signaling!.send(reply);
      } else if (typeof message.candidate === 'string' && message.candidate !== '') {
        const candidate = rewriteCandidate(message.candidate, target.host, target.mediaPort);
        if (candidate === undefined) return;
        // One candidate the browser cannot use is no reason to end a stream that may well flow over another.
        await peer
          .addIceCandidate({
            candidate,
            sdpMid: typeof message.sdpMid === 'string' ? message.sdpMid : undefined,
            sdpMLineIndex: typeof message.sdpMLineIndex === 'number' ? message.sdpMLineIndex : 0,
          })
          .catch((error: unknown) => this.#log('candidate refused:', String(error)));
      }
    } catch (error) {
      this.#fail('signaling-error', `The server's session description was refused: ${String(error)}`);
    }
  }

  /** H264 first, as Kit encodes it, then H265 and AV1 where this browser decodes them. */
  #preferCodecs(): void {
    const codecs = globalThis.RTCRtpReceiver?.getCapabilities?.('video')?.codecs;
    if (!codecs) return;
    for (const transceiver of this.#peer.getTransceivers()) {
      if (transceiver.receiver.track.kind !== 'video') continue;
      try {
        transceiver.setCodecPreferences(preferCodecs(codecs));
      } catch {
        // A browser that refuses the list, or has no such method, keeps its own order; the offer decides the codec.
      }
    }
  }

  readonly #log = (...parts: unknown[]): void => {
    // ICE passwords and bearer tokens stay out of the console even with `debug` on.
    if (this.#options.debug)
      console.debug(
        '[kit-stream-player]',
        ...parts.map((part) =>
          typeof part === 'string' ? part.replace(/(ice-pwd:|icePassword:|Bearer-|access_?token=)[^\s"\\&]+/gi, '$1<redacted>') : part,
        ),
      );
  };
}
