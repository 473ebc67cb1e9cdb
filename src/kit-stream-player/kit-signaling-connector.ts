import type { KitCloseReason, KitConnectOptions, KitConnection, KitConnector } from './connector.js';
import { openDataChannels } from './data-channels.js';
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
    return connectKit(options, this.#options);
  }
}

/** One connection: resolves once the media connected, rejects when it cannot be established. */
function connectKit(options: KitConnectOptions, settings: KitSignalingConnectorOptions): Promise<KitConnection> {
  const { signal, video, target } = options;
  // The default bundle policy, as NVIDIA's client: max-bundle would refuse an offer without a BUNDLE group.
  const peer = new RTCPeerConnection({ iceServers: [] });
  const sampler = new StatsSampler(() => peer.getStats());
  /** One stream for every remote track, so that an audio track in a stream of its own never replaces the video. */
  const media = new MediaStream();
  let signaling: SignalingSocket | undefined;
  let connectTimer: ReturnType<typeof setTimeout> | undefined;
  let disconnectedTimer: ReturnType<typeof setTimeout> | undefined;
  let closed = false;
  /** True once `connect` resolved; it settles once, so later calls of `resolve` and `reject` do nothing. */
  let connected = false;
  let resolve!: (connection: KitConnection) => void;
  let reject!: (error: unknown) => void;
  const result = new Promise<KitConnection>((onConnected, onFailed) => {
    resolve = onConnected;
    reject = onFailed;
  });

  const log = (...parts: unknown[]): void => {
    // ICE passwords and bearer tokens stay out of the console even with `debug` on.
    if (options.debug)
      console.debug(
        '[kit-stream-player]',
        ...parts.map((part) =>
          typeof part === 'string' ? part.replace(/(ice-pwd:|icePassword:|Bearer-|access_?token=)[^\s"\\&]+/gi, '$1<redacted>') : part,
        ),
      );
  };

  /** Ends the connection for a reason of its own: rejects `connect` if still pending, else reports `onClosed`. */
  const fail = (reason: KitCloseReason, detail: string): void => {
    if (closed) return;
    log('closing:', detail);
    connection.close();
    if (!connected) {
      const code = reason === 'server-ended' ? reason : reason === 'server-error' ? 'signaling' : 'connection';
      reject(new KitStreamError(code, detail));
    } else {
      options.onClosed(reason, detail);
    }
  };

  // Made before the offer is answered, so that they are part of the connection from the start, as Kit expects.
  const channels = openDataChannels(peer, options, fail, log);

  const connection: KitConnection = {
    input: channels.input,
    send(message) {
      if (closed) throw new KitStreamError('connection', 'The stream is closed.');
      channels.send(message);
    },
    async stats() {
      return closed ? undefined : sampler.sample();
    },
    close() {
      if (closed) return;
      closed = true;
      signal.removeEventListener('abort', onAbort);
      clearTimeout(connectTimer);
      clearTimeout(disconnectedTimer);
      channels.close(() => peer.close());
      signaling?.close();
      for (const track of media.getTracks()) track.stop();
      if (video.srcObject === media) video.srcObject = null;
    },
  };

  const onAbort = (): void => {
    connection.close();
    reject(signal.reason);
  };

  const onPeerMessage = async (message: Record<string, unknown>): Promise<void> => {
    try {
      if (message.type === 'offer' && typeof message.sdp === 'string') {
        // Kit always streams video: an offer without it has no picture to give, and waiting for a first frame would
        // take the whole connect timeout. It is a failed attempt, not a server error that ends the stream: a new
        // sign-in brings a new offer, so the element reconnects (up to `max-reconnects`) before it shows the error.
        if (!/^m=video /m.test(message.sdp)) {
          fail('signaling-error', 'The server offered no video.');
          return;
        }
        // The requested size and rate from the options, the route's host and media port from the target.
        await peer.setRemoteDescription({ type: 'offer', sdp: mungeOffer(message.sdp, { ...options, ...target }) });
        preferVideoCodecs(peer);
        const answer = await peer.createAnswer();
        const maxBitrateKbps = options.maxBitrate || defaultMaxBitrate;
        await peer.setLocalDescription({ type: 'answer', sdp: mungeAnswer(answer.sdp ?? '', { maxBitrateKbps }) });
        const sdp = peer.localDescription?.sdp ?? '';
        const nvst = parseNvstSdp(message.nvstSdp);
        signaling!.send({ type: 'answer', sdp, ...(nvst && { nvstSdp: answerNvstSdp(nvst, sdp, { ...options, maxBitrateKbps }) }) });
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
          .catch((error: unknown) => log('candidate refused:', String(error)));
      }
    } catch (error) {
      fail('signaling-error', `The server's session description was refused: ${String(error)}`);
    }
  };

  if (signal.aborted) {
    // Aborted before it began: nothing starts, and `connect` rejects with the abort's reason.
    onAbort();
  } else {
    signal.addEventListener('abort', onAbort, { once: true });
    const timeoutMs = settings.connectTimeoutMs ?? 20_000;
    connectTimer = setTimeout(() => fail('connect-timeout', `No media within ${timeoutMs / 1000} s of connecting.`), timeoutMs);
    peer.addEventListener('icecandidate', ({ candidate }) => {
      // TCP candidates are useless: the route forwards UDP media only.
      if (candidate?.candidate && !/ tcp /i.test(candidate.candidate))
        signaling!.send({ sdpMLineIndex: candidate.sdpMLineIndex, sdpMid: candidate.sdpMid, candidate: candidate.candidate });
    });
    peer.addEventListener('track', ({ track }) => {
      media.addTrack(track);
      if (video.srcObject !== media) video.srcObject = media;
      video.play().catch(() => {
        // Autoplay may be refused until the user interacts; the element offers its own controls.
      });
    });
    peer.addEventListener('connectionstatechange', () => {
      const state = peer.connectionState;
      clearTimeout(disconnectedTimer);
      if (state === 'connected') {
        clearTimeout(connectTimer);
        channels.awaitControl(settings.controlChannelTimeoutMs ?? 30_000);
        connected = true;
        resolve(connection);
      }
      if (state === 'failed') fail('ice-failed', 'The media connection failed (ICE).');
      // A short network blip recovers by itself; a long one is a lost connection, without waiting for ICE's own
      // verdict, which takes half a minute.
      const lostAfterMs = settings.disconnectedTimeoutMs ?? 10_000;
      if (state === 'disconnected')
        disconnectedTimer = setTimeout(() => fail('ice-failed', `The media connection was lost for ${lostAfterMs / 1000} s.`), lostAfterMs);
    });
    signaling = openSignaling(
      {
        secure: settings.secure ?? globalThis.location?.protocol === 'https:',
        host: target.host,
        port: target.signalingPort,
        path: settings.signalingPath,
      },
      sessionProtocol(target.sessionId, options.accessToken),
      {
        connecting: () => !connected,
        peerMessage: (message) => void onPeerMessage(message),
        frames: async () => (await connection.stats())?.framesDecoded,
        fail,
        log,
      },
    );
  }
  return result;
}

/** H264 first, as Kit encodes it, then H265 and AV1 where this browser decodes them. */
function preferVideoCodecs(peer: RTCPeerConnection): void {
  const codecs = globalThis.RTCRtpReceiver?.getCapabilities?.('video')?.codecs;
  if (!codecs) return;
  for (const transceiver of peer.getTransceivers()) {
    if (transceiver.receiver.track.kind !== 'video') continue;
    try {
      transceiver.setCodecPreferences(preferCodecs(codecs));
    } catch {
      // A browser that refuses the list, or has no such method, keeps its own order; the offer decides the codec.
    }
  }
}
