import { isRecord } from '../internal/http.js';
import type { KitAppMessage, KitCloseReason, KitConnectOptions, KitConnection, KitConnector, KitStreamStats } from './connector.js';
import { KitStreamError } from './kit-error.js';
import { StatsSampler } from './stats.js';

export interface KitSignalingConnectorOptions {
  /** Path of the signaling WebSocket. Default `/sign_in`. */
  signalingPath?: string;
  /** Use `wss://`. Default: when the page itself is https. */
  secure?: boolean;
  /** The server's heartbeat period, ms; a server silent for three periods counts as gone. Default 5000. */
  heartbeatMs?: number;
  /** How long `connect` may take until media flows, ms. Default 20000. */
  connectTimeoutMs?: number;
}

const maxQueuedMessages = 64;

/**
 * The built-in connector: Kit's signaling envelope over a WebSocket, and an `RTCPeerConnection` whose remote
 * UDP candidates are rewritten to the route's IP and media port (the service's load balancer maps that port to
 * the in-cluster port the server advertises).
 */
export class KitSignalingConnector implements KitConnector {
  constructor(private readonly options: KitSignalingConnectorOptions = {}) {}

  connect(options: KitConnectOptions): Promise<KitConnection> {
    return new KitSignalingConnection(options, this.options).open();
  }
}

/** A peer id as Kit's signaling expects: `peer-` and ten digits. */
export function createPeerId(): string {
  return `peer-${String(crypto.getRandomValues(new Uint32Array(1))[0]).padStart(10, '0')}`;
}

/**
 * Rewrites every UDP candidate in an SDP to `host` and `port`, dropping duplicates that the rewrite creates.
 * Candidates of other transports are left out: the route only forwards UDP media.
 */
export function rewriteSdpCandidates(sdp: string, host: string, port: number | undefined): string {
  const seen = new Set<string>();
  const lines = sdp.split(/\r?\n/);
  const kept: string[] = [];
  for (const line of lines) {
    if (!line.startsWith('a=candidate:')) {
      kept.push(line);
      continue;
    }
    const rewritten = rewriteCandidate(line.slice(2), host, port);
    if (rewritten === undefined) continue;
    const key = rewritten.split(' ').slice(1, 6).join(' ');
    if (seen.has(key)) continue;
    seen.add(key);
    kept.push(`a=${rewritten}`);
  }
  return kept.join('\r\n');
}

/** One `candidate:...` string rewritten to the route, or `undefined` when it is not a UDP candidate. */
export function rewriteCandidate(candidate: string, host: string, port: number | undefined): string | undefined {
  const parts = candidate.trim().split(/\s+/);
  // candidate:<foundation> <component> <transport> <priority> <address> <port> typ <type> ...
  if (parts.length < 8 || parts[2].toLowerCase() !== 'udp') return undefined;
  parts[4] = host;
  if (port !== undefined) parts[5] = String(port);
  return parts.join(' ');
}

class KitSignalingConnection implements KitConnection {
  readonly #peerId = createPeerId();
  readonly #socket: WebSocket;
  readonly #peer: RTCPeerConnection;
  #channel: RTCDataChannel | undefined;
  readonly #queue: string[] = [];
  #serverPeerId: number | string | undefined;
  #clientPeerId: number | string | undefined;
  readonly #heartbeatMs: number;
  #silenceTimer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;
  readonly #sampler: StatsSampler;
  #settle: { resolve(connection: KitConnection): void; reject(error: unknown): void } | undefined;
  #connectTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly options: KitConnectOptions,
    settings: KitSignalingConnectorOptions,
  ) {
    const { target } = options;
    const secure = settings.secure ?? globalThis.location?.protocol === 'https:';
    const path = settings.signalingPath ?? '/sign_in';
    const url = new URL(`${secure ? 'wss' : 'ws'}://${formatHost(target.host)}:${target.signalingPort}`);
    url.pathname = path.startsWith('/') ? path : `/${path}`;
    url.searchParams.set('peer_id', this.#peerId);
    url.searchParams.set('version', '2');
    this.#heartbeatMs = settings.heartbeatMs ?? 5000;
    this.#peer = new RTCPeerConnection({ iceServers: [], bundlePolicy: 'max-bundle' });
    this.#sampler = new StatsSampler(() => this.#peer.getStats());
    this.#socket = new WebSocket(url);
    this.#connectTimeoutMs = settings.connectTimeoutMs ?? 20_000;
  }

  readonly #connectTimeoutMs: number;

  open(): Promise<KitConnection> {
    const { signal, video } = this.options;
    return new Promise<KitConnection>((resolve, reject) => {
      this.#settle = { resolve, reject };
      if (signal.aborted) {
        this.close();
        reject(signal.reason);
        return;
      }
      signal.addEventListener('abort', this.#onAbort, { once: true });
      this.#connectTimer = setTimeout(
        () => this.#fail('connect-timeout', `No media within ${this.#connectTimeoutMs / 1000} s of connecting.`),
        this.#connectTimeoutMs,
      );
      this.#socket.addEventListener('open', () => this.#resetSilenceTimer());
      this.#socket.addEventListener('message', (event) => this.#onSignalingMessage(event.data));
      this.#socket.addEventListener('close', (event) =>
        this.#fail(
          'signaling-closed',
          event.reason ? `Signaling closed (${event.code}): ${event.reason}` : `Signaling closed (${event.code}).`,
        ),
      );
      this.#socket.addEventListener('error', () => this.#fail('signaling-error', 'The signaling connection failed.'));
      this.#peer.addEventListener('icecandidate', (event) => {
        if (event.candidate && event.candidate.candidate) {
          this.#sendPeerMessage({
            type: 'candidate',
            candidate: event.candidate.candidate,
            sdpMid: event.candidate.sdpMid,
            sdpMLineIndex: event.candidate.sdpMLineIndex,
          });
        }
      });
      this.#peer.addEventListener('track', (event) => {
        const stream = event.streams[0] ?? new MediaStream([event.track]);
        if (video.srcObject !== stream) video.srcObject = stream;
        video.play().catch(() => {
          // Autoplay may be refused until the user interacts; the element offers its own controls.
        });
      });
      this.#peer.addEventListener('datachannel', (event) => this.#adoptChannel(event.channel));
      this.#peer.addEventListener('connectionstatechange', () => {
        const state = this.#peer.connectionState;
        if (state === 'connected') this.#onConnected();
        if (state === 'failed') this.#fail('ice-failed', 'The media connection failed (ICE).');
      });
    });
  }

  send(message: KitAppMessage): void {
    if (this.#closed) throw new KitStreamError('connection', 'The stream is closed.');
    const text = JSON.stringify({
      messageType: 'json',
      messageRecipient: 'kit',
      data: JSON.stringify({ event_type: message.eventType, payload: message.payload ?? {} }),
    });
    if (this.#channel?.readyState === 'open') {
      this.#channel.send(text);
    } else {
      if (this.#queue.length >= maxQueuedMessages) this.#queue.shift();
      this.#queue.push(text);
    }
  }

  async stats(): Promise<KitStreamStats | undefined> {
    if (this.#closed) return undefined;
    return this.#sampler.sample();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.options.signal.removeEventListener('abort', this.#onAbort);
    clearTimeout(this.#silenceTimer);
    clearTimeout(this.#connectTimer);
    this.#channel?.close();
    this.#peer.close();
    if (this.#socket.readyState === WebSocket.CONNECTING || this.#socket.readyState === WebSocket.OPEN)
      this.#socket.close(1000, 'closed by client');
    const { video } = this.options;
    if (video.srcObject instanceof MediaStream) {
      for (const track of video.srcObject.getTracks()) track.stop();
    }
    video.srcObject = null;
  }

  readonly #onAbort = (): void => {
    const reason: unknown = this.options.signal.reason;
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
    this.close();
    if (this.#settle) {
      this.#settle.reject(new KitStreamError('connection', detail));
      this.#settle = undefined;
    } else {
      this.options.onClosed(reason, detail);
    }
  }

  #resetSilenceTimer(): void {
    clearTimeout(this.#silenceTimer);
    this.#silenceTimer = setTimeout(
      () => this.#fail('signaling-timeout', `The signaling server was silent for ${(this.#heartbeatMs * 3) / 1000} s.`),
      this.#heartbeatMs * 3,
    );
  }

  #onSignalingMessage(data: unknown): void {
    if (this.#closed) return;
    this.#resetSilenceTimer();
    let message: unknown;
    try {
      message = JSON.parse(String(data));
    } catch {
      return; // Not JSON: nothing Kit sends, so nothing to act on.
    }
    if (!isRecord(message)) return;
    if (message.ackid !== undefined) this.#sendSignaling({ ack: message.ackid });
    if (isRecord(message.peer_info)) this.#onPeerInfo(message.peer_info);
    if (isRecord(message.peer_msg)) void this.#onPeerMessage(message.peer_msg);
  }

  #onPeerInfo(info: Record<string, unknown>): void {
    const id = typeof info.id === 'number' || typeof info.id === 'string' ? info.id : undefined;
    if (id === undefined) return;
    if (info.name === this.#peerId) this.#clientPeerId = id;
    else if (id !== this.#clientPeerId) this.#serverPeerId = id;
  }

  async #onPeerMessage(envelope: Record<string, unknown>): Promise<void> {
    if (envelope.from !== undefined && this.#serverPeerId === undefined) this.#serverPeerId = envelope.from as number | string;
    let inner: unknown = envelope.msg;
    if (typeof inner === 'string') {
      try {
        inner = JSON.parse(inner);
      } catch {
        return;
      }
    }
    if (!isRecord(inner)) return;
    const { host, mediaPort } = this.options.target;
    try {
      if (inner.type === 'offer' && typeof inner.sdp === 'string') {
        await this.#peer.setRemoteDescription({ type: 'offer', sdp: rewriteSdpCandidates(inner.sdp, host, mediaPort) });
        const answer = await this.#peer.createAnswer();
        await this.#peer.setLocalDescription(answer);
        this.#sendPeerMessage({ type: 'answer', sdp: this.#peer.localDescription?.sdp ?? answer.sdp });
      } else if (inner.type === 'candidate' || inner.candidate !== undefined) {
        const candidate = isRecord(inner.candidate) ? inner.candidate : inner;
        if (typeof candidate.candidate !== 'string' || candidate.candidate === '') return;
        const rewritten = rewriteCandidate(candidate.candidate.replace(/^a=/, ''), host, mediaPort);
        if (rewritten === undefined) return;
        await this.#peer.addIceCandidate({
          candidate: rewritten,
          sdpMid: typeof candidate.sdpMid === 'string' ? candidate.sdpMid : undefined,
          sdpMLineIndex: typeof candidate.sdpMLineIndex === 'number' ? candidate.sdpMLineIndex : 0,
        });
      }
    } catch (error) {
      if (!this.#closed) this.#fail('signaling-error', `The server's session description was refused: ${String(error)}`);
    }
  }

  #adoptChannel(channel: RTCDataChannel): void {
    if (this.#channel && this.#channel.readyState !== 'closed') return;
    this.#channel = channel;
    channel.addEventListener('open', () => {
      for (const text of this.#queue.splice(0)) channel.send(text);
    });
    if (channel.readyState === 'open') for (const text of this.#queue.splice(0)) channel.send(text);
    channel.addEventListener('message', (event) => this.#onChannelMessage(event.data));
  }

  #onChannelMessage(data: unknown): void {
    if (typeof data !== 'string') return;
    let envelope: unknown;
    try {
      envelope = JSON.parse(data);
    } catch {
      return;
    }
    if (!isRecord(envelope)) return;
    let inner: unknown = envelope.data ?? envelope;
    if (typeof inner === 'string') {
      try {
        inner = JSON.parse(inner);
      } catch {
        return;
      }
    }
    if (!isRecord(inner) || typeof inner.event_type !== 'string') return;
    this.options.onMessage({ eventType: inner.event_type, payload: inner.payload });
  }

  #sendPeerMessage(message: Record<string, unknown>): void {
    this.#sendSignaling({ peer_msg: { to: this.#serverPeerId, msg: JSON.stringify(message) } });
  }

  #sendSignaling(message: unknown): void {
    if (this.#socket.readyState === WebSocket.OPEN) this.#socket.send(JSON.stringify(message));
  }
}

/** IPv6 literals need brackets in a URL. */
function formatHost(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}
