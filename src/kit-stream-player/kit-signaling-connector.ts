import { isRecord, parseJson } from '../internal/json.js';
import type {
  KitAppMessage,
  KitCloseReason,
  KitConnectOptions,
  KitConnection,
  KitConnector,
  KitInputSink,
  KitStreamStats,
} from './connector.js';
import { CursorStyles, parseCursorMessage } from './cursor.js';
import { InputChannelWriter, encodeHeartbeat } from './input-protocol.js';
import { KitStreamError } from './kit-error.js';
import { answerNvstSdp, mungeAnswer, mungeOffer, parseNvstSdp, preferCodecs, rewriteCandidate } from './sdp.js';
import { SignalingProtocol, createPeerName, sessionProtocol, signInUrl } from './signaling-protocol.js';
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
}

/** App messages waiting for `control_channel` to open; the oldest go first when more arrive. */
const maxQueuedMessages = 64;
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
  constructor(private readonly options: KitSignalingConnectorOptions = {}) {}

  connect(options: KitConnectOptions): Promise<KitConnection> {
    return new KitSignalingConnection(options, this.options).open();
  }
}

class KitSignalingConnection implements KitConnection {
  readonly #protocol = new SignalingProtocol(createPeerName());
  // The default bundle policy, as NVIDIA's client: max-bundle would refuse an offer without a BUNDLE group.
  readonly #peer = new RTCPeerConnection({ iceServers: [] });
  readonly #sampler = new StatsSampler(() => this.#peer.getStats());
  readonly #inputChannel: RTCDataChannel;
  readonly #cursorChannel: RTCDataChannel;
  readonly #cursors = new CursorStyles();
  readonly #writer: InputChannelWriter;
  readonly input: KitInputSink;
  /** Kit warned that the viewer is idle: the next input goes with an input heartbeat (§5.8). */
  #idleWarned = false;
  /** One stream for every remote track, so that an audio track in a stream of its own never replaces the video. */
  readonly #media = new MediaStream();
  #control: RTCDataChannel | undefined;
  readonly #queue: string[] = [];
  #socket: WebSocket | undefined;
  /** Sockets opened so far; every one after the first is a re-open of the same session (`&reconnect=1`). */
  #opens = 0;
  /** Re-opens in a row that did not reach `open`: the backoff grows with them. */
  #failedOpens = 0;
  /** Re-opens a socket that went silent after it had been sending heartbeats. */
  #watchdog: ReturnType<typeof setTimeout> | undefined;
  #lastHeartbeat = 0;
  #heartbeatGap = 0;
  #reopenTimer: ReturnType<typeof setTimeout> | undefined;
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
    this.#inputChannel = this.#peer.createDataChannel('input_channel_v1', { ordered: true });
    this.#cursorChannel = this.#peer.createDataChannel('cursor_channel', { ordered: true });
    this.#inputChannel.binaryType = this.#cursorChannel.binaryType = 'arraybuffer';
    const startedAt = performance.now();
    const writer = (this.#writer = new InputChannelWriter(
      (bytes) => {
        if (this.#inputChannel.readyState === 'open') this.#inputChannel.send(bytes as Uint8Array<ArrayBuffer>);
      },
      () => Math.round((performance.now() - startedAt) * 1000),
    ));
    this.input = {
      startedAt,
      sendEvent: (event) => {
        if (this.#idleWarned) writer.sendEvent(encodeHeartbeat());
        this.#idleWarned = false;
        writer.sendEvent(event);
      },
      sendText: (text) => writer.sendText(text),
    };
  }

  open(): Promise<KitConnection> {
    const { signal, video } = this.#options;
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
          this.#sendPeerMessage({ sdpMLineIndex: candidate.sdpMLineIndex, sdpMid: candidate.sdpMid, candidate: candidate.candidate });
      });
      peer.addEventListener('track', ({ track }) => {
        this.#media.addTrack(track);
        if (video.srcObject !== this.#media) video.srcObject = this.#media;
        video.play().catch(() => {
          // Autoplay may be refused until the user interacts; the element offers its own controls.
        });
      });
      peer.addEventListener('datachannel', ({ channel }) => {
        if (channel.label === 'control_channel') this.#adoptControl(channel);
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
      this.#inputChannel.addEventListener('message', ({ data }) => {
        if (data instanceof ArrayBuffer && this.#writer.receive(data)) this.#log('input protocol version', this.#writer.version);
      });
      this.#cursorChannel.addEventListener('message', ({ data }) => {
        const update = data instanceof ArrayBuffer ? parseCursorMessage(data) : undefined;
        const cursor = update && this.#cursors.apply(update);
        if (cursor) this.#options.onCursor?.(cursor);
      });
      this.#openSocket();
    });
  }

  send(message: KitAppMessage): void {
    if (this.#closed) throw new KitStreamError('connection', 'The stream is closed.');
    // Three levels, as Kit's messaging extension reads them: the app's message is a JSON string inside the
    // library's envelope, which is a JSON string inside the channel frame.
    const data = JSON.stringify({ event_type: message.eventType, payload: message.payload ?? {} });
    this.#sendControl({ customMessage: JSON.stringify({ messageType: 'json', messageRecipient: 'kit', data }) });
  }

  async stats(): Promise<KitStreamStats | undefined> {
    if (this.#closed) return undefined;
    return this.#sampler.sample();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#options.signal.removeEventListener('abort', this.#onAbort);
    for (const timer of [this.#reopenTimer, this.#connectTimer, this.#disconnectedTimer, this.#watchdog]) clearTimeout(timer);
    const closePeer = () => {
      for (const channel of [this.#control, this.#inputChannel, this.#cursorChannel]) channel?.close();
      this.#peer.close();
    };
    // Tells the app that the viewer left, as NVIDIA's client does on stop, and gives the message a moment to leave.
    if (this.#control?.readyState === 'open') {
      this.#control.send(JSON.stringify({ exitMessage: { code: 0 } }));
      setTimeout(closePeer, 50);
    } else closePeer();
    this.#closeSocket(1000, 'closed by client');
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
    this.#settle?.resolve(this);
    this.#settle = undefined;
  }

  /** Ends the connection for a reason of its own: rejects `connect` if still pending, else reports `onClosed`. */
  #fail(reason: KitCloseReason, detail: string): void {
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
  }

  #openSocket(): void {
    const { target, accessToken } = this.#options;
    const url = signInUrl(
      {
        secure: this.#settings.secure ?? globalThis.location?.protocol === 'https:',
        host: target.host,
        port: target.signalingPort,
        path: this.#settings.signalingPath,
      },
      this.#protocol.peerName,
      { reconnect: this.#opens++ > 0 },
    );
    this.#log('signaling', url);
    const protocol = sessionProtocol(target.sessionId, accessToken);
    // A subprotocol is an HTTP token; the browser's own error would quote it, access token included.
    if (!/^[\w!#$%&'*+.^`|~-]+$/.test(protocol)) {
      this.#fail('signaling-error', 'The session id or access token has characters a WebSocket subprotocol cannot carry.');
      return;
    }
    let socket: WebSocket;
    try {
      socket = new WebSocket(url, protocol);
    } catch {
      this.#fail('signaling-error', `The signaling address is not valid: ${url}`);
      return;
    }
    this.#socket = socket;
    let opened = false;
    socket.addEventListener('open', () => {
      opened = true;
      this.#failedOpens = 0;
      // Whatever the server has not acknowledged may have been lost with the previous socket.
      for (const text of this.#protocol.unacknowledged()) this.#write(text);
    });
    socket.addEventListener('message', ({ data }) => this.#onSignalingMessage(data));
    socket.addEventListener('close', (event) => {
      if (this.#socket !== socket || this.#closed) return;
      this.#socket = undefined;
      const why = event.reason ? `${event.code}: ${event.reason}` : String(event.code);
      this.#log('signaling closed', why);
      // Before the stream is up, a lost socket is a failed attempt; once media flows, it is only signaling that
      // was lost: the picture goes on while the socket is re-opened.
      if (this.#settle && !(opened && this.#protocol.serverId >= 0)) {
        this.#fail('signaling-closed', `Signaling closed (${why}).`);
        return;
      }
      const delay = Math.min(500 * 2 ** this.#failedOpens++, 10_000);
      this.#reopenTimer = setTimeout(() => this.#openSocket(), delay);
    });
  }

  /**
   * A socket that sent heartbeats and then fell silent for three of their periods (at least 10 s) is half-open, as
   * after a laptop's sleep or a changed network: it is re-opened. A server that never sends heartbeats is never
   * judged by them, and silence alone never ends the stream.
   */
  #onHeartbeat(): void {
    const now = performance.now();
    if (this.#lastHeartbeat) this.#heartbeatGap = now - this.#lastHeartbeat;
    this.#lastHeartbeat = now;
    this.#armWatchdog();
  }

  #armWatchdog(): void {
    clearTimeout(this.#watchdog);
    if (!this.#heartbeatGap) return;
    this.#watchdog = setTimeout(
      () => {
        this.#log('signaling silent, re-opening');
        this.#lastHeartbeat = this.#heartbeatGap = 0;
        this.#closeSocket(4000, 'no heartbeat');
        this.#openSocket();
      },
      Math.max(10_000, 3 * this.#heartbeatGap),
    );
  }

  #closeSocket(code: number, reason: string): void {
    const socket = this.#socket;
    this.#socket = undefined;
    if (socket && socket.readyState <= WebSocket.OPEN) socket.close(code, reason);
  }

  #onSignalingMessage(data: unknown): void {
    if (this.#closed || typeof data !== 'string') return;
    const { events, ack, heartbeat } = this.#protocol.receive(data);
    if (heartbeat) this.#onHeartbeat();
    else {
      this.#armWatchdog();
      this.#log('signaling in', data);
    }
    if (ack) this.#write(ack);
    for (const event of events) {
      if (event.type === 'peer-message') void this.#onPeerMessage(event.message);
      else if (event.type === 'bye') this.#fail('server-ended', 'The server ended the stream.');
      else if (event.type === 'error')
        this.#fail(
          event.error === 'peerRemoved' ? 'server-ended' : 'server-error',
          event.error === 'peerRemoved'
            ? 'The server ended the stream (peerRemoved).'
            : `The signaling server reported an error: ${event.error}`,
        );
    }
  }

  async #onPeerMessage(message: Record<string, unknown>): Promise<void> {
    const { target, width, height, fps } = this.#options;
    const peer = this.#peer;
    try {
      if (message.type === 'offer' && typeof message.sdp === 'string') {
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
        this.#sendPeerMessage(reply);
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
      if (transceiver.receiver.track.kind !== 'video' || typeof transceiver.setCodecPreferences !== 'function') continue;
      try {
        transceiver.setCodecPreferences(preferCodecs(codecs));
      } catch {
        // A browser that refuses the list keeps its own order; the offer decides the codec anyway.
      }
    }
  }

  #adoptControl(channel: RTCDataChannel): void {
    this.#control = channel;
    const flush = () => {
      for (const text of this.#queue.splice(0)) channel.send(text);
    };
    channel.addEventListener('open', flush);
    if (channel.readyState === 'open') flush();
    channel.addEventListener('message', ({ data }) => this.#onControlMessage(data));
  }

  #onControlMessage(data: unknown): void {
    if (typeof data !== 'string') return;
    this.#log('control in', data);
    const frame = parseJson(data);
    if (!isRecord(frame)) return;
    if (frame.customMessage !== undefined) {
      // Kit sends `{event_type, payload}` as a string (two levels); the library's envelope form (three levels)
      // is accepted too, in case a server wraps its replies the way clients do.
      let message = parseJson(frame.customMessage);
      if (isRecord(message) && message.data !== undefined) message = parseJson(message.data);
      if (isRecord(message) && typeof message.event_type === 'string')
        this.#options.onMessage({ eventType: message.event_type, payload: message.payload });
    } else if (isRecord(frame.timerNotification)) {
      const { code, secondsLeft } = frame.timerNotification;
      // The idle warning: Kit expects an input heartbeat with the viewer's next input (§5.8).
      if (Number(code) === 4) this.#idleWarned = true;
      this.#options.onTimerWarning?.(Number(code) || 0, Number(secondsLeft) || 0);
    } else if (frame.exitMessage !== undefined) {
      this.#fail('server-ended', 'The app ended the stream.');
    }
  }

  #sendControl(frame: unknown): void {
    const text = JSON.stringify(frame);
    this.#log('control out', text);
    if (this.#control?.readyState === 'open') {
      this.#control.send(text);
    } else {
      if (this.#queue.length >= maxQueuedMessages) this.#queue.shift();
      this.#queue.push(text);
    }
  }

  #sendPeerMessage(payload: unknown): void {
    this.#write(this.#protocol.wrap(payload));
  }

  /** Sends on the signaling socket when it is open; envelopes are kept by the protocol and re-sent on re-open. */
  #write(text: string): void {
    this.#log('signaling out', text);
    if (this.#socket?.readyState === WebSocket.OPEN) this.#socket.send(text);
  }

  #log(...parts: unknown[]): void {
    if (this.#options.debug) console.debug('[kit-stream-player]', ...parts.map((part) => (typeof part === 'string' ? redact(part) : part)));
  }
}

/** ICE passwords and bearer tokens stay out of the console even with `debug` on. */
function redact(text: string): string {
  return text.replace(/(ice-pwd:|icePassword:|Bearer-|access_?token=)[^\s"\\&]+/gi, '$1<redacted>');
}
