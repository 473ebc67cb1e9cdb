/**
 * The media side of one simulated Kit streaming session: the signaling server,
 * the sending peer, the simulated app, and the forwarders that stand in for the
 * cluster load balancer. It ties the pieces together the way Kit does
 * (KIT-PROTOCOL.md): the offer goes out as a `peer_msg` once a client signs in,
 * a re-opened socket (`&reconnect=1`) keeps the stream, the server speaks first
 * on `input_channel_v1` with the protocol version, input is decoded with the
 * framing of that version, and terminating the session sends `exitMessage` on
 * `control_channel` and `peerRemoved` on the signaling socket.
 *
 * What the client sends as peer messages is checked against §2: one answer per offer,
 * an nvstSdp that carries the server's `o=`/`t=` and the answer's ICE and DTLS
 * credentials, and candidates in the browser's `{sdpMLineIndex, sdpMid, candidate}` form.
 */
import dgram from 'node:dgram';
import type { KitPortPair, KitSessionMedia } from '../kit-simulator.js';
import type { H264AccessUnit } from './h264.js';
import { decodeInputMessage, encodeInputHandshake } from './input-decoder.js';
import { SimulatedKitApp } from './kit-app.js';
import type { KitAppMessage } from './kit-app.js';
import { KIT_CONTROL_CHANNEL_LABEL, KitMediaPeer, isMdnsCandidate } from './media-peer.js';
import type { RemoteCandidateInit } from './media-peer.js';
import { TcpForwarder, UdpForwarder, bindUdp, closeUdp } from './port-forwarder.js';
import { KitSignalingServer } from './signaling-server.js';
import type { SignalingClient } from './signaling-server.js';

export const KIT_MEDIA_FAULTS = [
  /** Cuts the signaling TCP connection without a close frame; the stream goes on and the client may re-open. */
  'drop-signaling',
  /** The signaling route resets every new connection, as a port nobody listens on, until resume-signaling. */
  'refuse-signaling',
  'resume-signaling',
  /** The next sign-in is closed (1011) after its peer_info, before the offer: the stream could not be set up. Once. */
  'close-before-offer',
  /** On the open socket: a text frame that is not JSON, a JSON array, and a peer message (with an ackid) that is no JSON. */
  'malformed-signaling',
  /** On the open socket: one 2 MB text frame, far larger than any real message; no ackid, as no client can be expected to read it. */
  'oversized-signaling',
  /** The latest messages with an ackid (up to 32) go out again with the same ackids, as from a server that missed the acks. */
  'duplicate-ackids',
  /** Two trickled candidates (copies of the offer's) whose ackids go out the higher first. */
  'out-of-order-ackids',
  /** Heartbeats stop while the media flows, until resume-heartbeats. */
  'stop-heartbeats',
  'resume-heartbeats',
  /** Stops and resumes the video (the connection stays up); stopped before a client arrives, no packet is ever sent. */
  'stop-media',
  'resume-media',
  /** Blocks and unblocks the media route, so ICE fails. */
  'refuse-ice',
  'resume-ice',
  /** The next offer has no video, data channels only. Once. */
  'offer-without-video',
  /** The next offer comes from a peer that never creates control_channel. Once. */
  'no-control-channel',
  /** Bytes that are no cursor message on cursor_channel: unknown kinds, truncated images, a text frame. */
  'garbage-cursor',
  /** After the handshake, on input_channel_v1: random bytes, a second handshake naming another version, a text frame. */
  'garbage-input',
  /** The app exits: `exitMessage` on control_channel. */
  'end-stream',
  /** `{"error": "peerRemoved"}` on the signaling socket. */
  'peer-removed',
  /** `BYE` as a peer message. */
  'bye',
  /** Another signaling `error` value. */
  'signaling-error',
  /** Kit's idle warning: `timerNotification` code 4, 30 s left. */
  'timer-warning',
] as const;
export type KitMediaFault = (typeof KIT_MEDIA_FAULTS)[number];

/** What the control endpoint can read of a session's media (GET /_control/sessions/{id}/{name}). */
export const KIT_MEDIA_INSPECTIONS = [
  'input',
  'envelopes',
  'violations',
  /** Tolerated oddities: data on channels the server does not read, app messages it has no handler for, … */
  'notes',
  'control',
  'channels',
  'sign-in',
  'answer',
  /** Ackids of server messages the client has not acknowledged yet. */
  'unacknowledged',
] as const;

/** How long the server waits, after it ended the stream, before it closes the peer: the client must read why first. */
const SERVER_END_GRACE_MS = 500;
/** Faults that wait for the next sign-in or offer, then apply once. */
type ArmedFault = Extract<KitMediaFault, 'close-before-offer' | 'offer-without-video' | 'no-control-channel'>;
/** Size of the oversized-signaling frame: real frames are a few kilobytes. */
const OVERSIZED_FRAME_BYTES = 2 * 1024 * 1024;
/** Bound of the session's own problem and note lists. */
const SESSION_LOG_LIMIT = 100;
const INPUT_CHANNEL_LABEL = 'input_channel_v1';

export interface KitMediaSessionConfig {
  sessionId: string;
  usdStageUri?: string;
  /** Loopback address every socket binds to. */
  host: string;
  /**
   * Address the forwarders use upstream; the signaling server and the peer accept
   * only this address. Undefined disables the restriction (destination ports reachable).
   */
  upstreamAddress?: string;
  heartbeatMs: number;
  frames: readonly H264AccessUnit[];
  frameRate: number;
  /** Size of the clip's pictures, for the app's hit testing. */
  streamWidth: number;
  streamHeight: number;
  iceLite: boolean;
  /** The input protocol version announced on `input_channel_v1`: 2 (plain) or 3 (framed). */
  inputVersion: 2 | 3;
  /** Send an `nvstSdp` with the offer, and require one in the answer. */
  nvstSdp: boolean;
  /** When set, signaling requires the `-Authorization.Bearer-<token>` subprotocol with this token. */
  accessToken?: string;
  /** A connected peer silent this long is closed (see `KitMediaPeerOptions.idleTimeoutMs` in media-peer.ts). */
  peerIdleTimeoutMs: number;
  /** How many times port allocation is retried when a bind fails. */
  portAttempts: number;
  log?: (line: string) => void;
}

/** Extra inspection the simulator's own tests use; not part of {@link KitSessionMedia}. */
export interface KitMediaSessionExtras {
  /** Connection state of the current sending peer, or 'none'. */
  peerState(): string;
  /** Video frames the current peer has sent. */
  framesSent(): number;
  /** The signaling server, for its logs. */
  readonly signalingServer: KitSignalingServer;
  /** The app behind the stream, for its logs. */
  readonly app: SimulatedKitApp;
}

/** What the factory returns: {@link KitSessionMedia} with every optional member present, plus the extras. */
export type KitMediaSessionHandle = KitSessionMedia &
  Required<Pick<KitSessionMedia, 'fault' | 'messages' | 'connections' | 'inspect'>> &
  KitMediaSessionExtras;

interface SessionSockets {
  signalingServer: KitSignalingServer;
  signalingForwarder: TcpForwarder;
  mediaForwarder: UdpForwarder;
  /** Holds the media destination port while no peer does, so nothing else takes it. */
  mediaPortReservation: dgram.Socket;
  mediaDestinationPort: number;
}

/** A small nvstSdp, in the form NVIDIA's client parses (§2.3). */
function offerNvstSdp(config: KitMediaSessionConfig, video: boolean): string {
  const videoSection = [
    'm=video 0 RTP/AVP',
    'a=msid:fbc-video-0',
    `a=video.clientViewportWd:${config.streamWidth}`,
    `a=video.clientViewportHt:${config.streamHeight}`,
    `a=video.maxFPS:${config.frameRate}`,
    'a=vqos.bw.maximumBitrateKbps:10000',
  ];
  return [
    'v=0',
    `o=SdpTest ${Date.now()} ${Math.floor(Math.random() * 1000)} IN IP4 ${config.host}`,
    's=-',
    't=0 0',
    'a=general.clientCapture:0',
    ...(video ? videoSection : []),
    'm=application 0 RTP/AVP',
    'a=msid:ri',
    'a=ri.partialReliableThresholdMs:0',
    '',
  ].join('\r\n');
}

export class KitMediaSession implements KitMediaSessionHandle {
  readonly signaling: KitPortPair;
  readonly media: KitPortPair;
  readonly app: SimulatedKitApp;
  private readonly sockets: SessionSockets;
  private mediaPortReservation: dgram.Socket | undefined;
  private client: SignalingClient | undefined;
  private peer: KitMediaPeer | undefined;
  /** Serializes peer replacement and the client's answer and candidates. */
  private peerWork: Promise<void> = Promise.resolve();
  private mediaStopped = false;
  private readonly armedFaults = new Set<ArmedFault>();
  private closed = false;
  /** The offer of the current peer: what it said, and whether the client has answered it. */
  private offer: { peer: KitMediaPeer; nvstSdp: string | undefined; answered: boolean } | undefined;
  /** The client's last answer: its SDP and nvstSdp, for the control endpoint. */
  private lastAnswer: { sdp: string; nvstSdp?: string } | undefined;
  /** What the client did against §2-§5 that the signaling server and the app cannot see. */
  private readonly problems: string[] = [];
  private readonly sessionNotes: string[] = [];
  /** Peers whose client sent data on a channel the server does not read, by label: noted once. */
  private readonly notedChannels = new WeakMap<KitMediaPeer, Set<string>>();
  /** Delayed peer closes after the server ended the stream; cleared on close(). */
  private readonly endTimers = new Set<NodeJS.Timeout>();
  /** Peers whose client has sent framed input: from then on, only the announced version's framing is accepted. */
  private readonly framedInputSeen = new WeakSet<KitMediaPeer>();
  /** When each peer's input handshake went out. */
  private readonly handshakeSentAt = new WeakMap<KitMediaPeer, number>();

  private constructor(
    private readonly config: KitMediaSessionConfig,
    sockets: SessionSockets,
    app: SimulatedKitApp,
  ) {
    this.sockets = sockets;
    this.app = app;
    this.mediaPortReservation = sockets.mediaPortReservation;
    this.signaling = { sourcePort: sockets.signalingForwarder.port, destinationPort: sockets.signalingServer.port };
    this.media = { sourcePort: sockets.mediaForwarder.port, destinationPort: sockets.mediaDestinationPort };
  }

  get signalingServer(): KitSignalingServer {
    return this.sockets.signalingServer;
  }

  static async start(config: KitMediaSessionConfig): Promise<KitMediaSession> {
    const app = new SimulatedKitApp({
      ...(config.usdStageUri === undefined ? {} : { usdStageUri: config.usdStageUri }),
      streamWidth: config.streamWidth,
      streamHeight: config.streamHeight,
    });
    const serverId = 100_000_000 + Math.floor(Math.random() * 900_000_000);
    // The signaling server's callbacks need the session, which needs the server's port:
    // route them through a late-bound reference. No client can arrive before the
    // session exists: the forwarder is the only way in and its port is not yet published.
    let session: KitMediaSession | undefined;
    let lastError: unknown;
    for (let attempt = 1; attempt <= config.portAttempts; attempt++) {
      try {
        const sockets = await openSessionSockets(config, serverId, {
          onClient: (client, { reconnect }) => session?.clientArrived(client, reconnect),
          onPeerMessage: (client, message) => session?.peerMessage(client, message),
          onClientClosed: (client, { final }) => session?.clientLeft(client, final),
        });
        session = new KitMediaSession(config, sockets, app);
        config.log?.(
          `media for ${config.sessionId}: signaling ${session.signaling.sourcePort}->${session.signaling.destinationPort}, ` +
            `media ${session.media.sourcePort}->${session.media.destinationPort}`,
        );
        return session;
      } catch (error) {
        lastError = error;
      }
    }
    throw new Error(`could not allocate ports after ${config.portAttempts} attempts: ${errorText(lastError)}`);
  }

  async fault(kind: string): Promise<void> {
    const server = this.sockets.signalingServer;
    const fault = kind as KitMediaFault;
    switch (fault) {
      case 'drop-signaling':
        server.dropClient();
        return;
      case 'refuse-signaling':
      case 'resume-signaling':
        this.sockets.signalingForwarder.refusing = kind === 'refuse-signaling';
        return;
      case 'close-before-offer':
      case 'offer-without-video':
      case 'no-control-channel':
        this.armedFaults.add(fault);
        return;
      case 'malformed-signaling': {
        // A frame cut short, a JSON value that is no message, and a peer message whose msg is cut short.
        if (!server.sendRaw(String.raw`{"peer_msg": {"from": 1, "msg": "{\"type\": \"offer`)) throw new Error('no open signaling socket');
        server.sendRaw('[{"ackid": 1}]');
        this.client?.sendPeerText('{"type": "offer", "sdp": ');
        return;
      }
      case 'oversized-signaling': {
        const padding = 'x'.repeat(OVERSIZED_FRAME_BYTES);
        if (!server.sendRaw(JSON.stringify({ peer_msg: { from: server.serverId, to: this.client?.clientId ?? 0, msg: padding } })))
          throw new Error('no open signaling socket');
        return;
      }
      case 'duplicate-ackids':
        if (server.resendSent() === 0) throw new Error('no open signaling socket, or nothing sent yet');
        return;
      case 'out-of-order-ackids': {
        const candidate = this.offer && firstCandidate(this.offer.peer.offerSdp);
        if (!candidate) throw new Error('no offer with a candidate to trickle again');
        if (server.sendPeerMessagesReversed([candidate, candidate]).length === 0) throw new Error('no live client');
        return;
      }
      case 'stop-heartbeats':
      case 'resume-heartbeats':
        server.heartbeatsPaused = kind === 'stop-heartbeats';
        return;
      case 'garbage-cursor':
        this.sendGarbage('cursor_channel', [
          Buffer.from([0xee, 1, 2, 3, 4, 5]),
          // An image whose MIME type length runs past the end, and one whose image length does.
          Buffer.from([1, 7, 0, 0, 40, 0x69, 0x6d, 0x61]),
          Buffer.concat([Buffer.from([1, 8, 0, 0, 9]), Buffer.from('image/png'), Buffer.from([0xff, 0xff]), Buffer.from('iVBOR')]),
          seededBytes(0x5eed, 64, 0xee),
          'not a cursor',
        ]);
        return;
      case 'garbage-input':
        this.sendGarbage(INPUT_CHANNEL_LABEL, [
          seededBytes(0x1e55, 48, 0xee),
          encodeInputHandshake(this.config.inputVersion === 2 ? 3 : 2),
          Buffer.from([0x0e]),
          '{"version": 2}',
        ]);
        return;
      case 'stop-media':
      case 'resume-media':
        this.mediaStopped = kind === 'stop-media';
        this.peer?.setMediaPaused(this.mediaStopped);
        return;
      case 'refuse-ice':
      case 'resume-ice':
        this.sockets.mediaForwarder.blocked = kind === 'refuse-ice';
        return;
      case 'end-stream':
        await this.sendControl(this.app.exitMessage(0));
        this.endStream('exitMessage');
        return;
      case 'peer-removed':
        server.sendError('peerRemoved');
        this.endStream('peerRemoved');
        return;
      case 'bye':
        this.client?.sendBye();
        this.endStream('BYE');
        return;
      case 'signaling-error':
        server.sendError('serverOverloaded');
        this.endStream('error serverOverloaded');
        return;
      case 'timer-warning':
        await this.sendControl(this.app.timerNotification(4, 30));
        return;
      default:
        throw new Error(`unknown fault '${kind}'; known: ${KIT_MEDIA_FAULTS.join(', ')}`);
    }
  }

  /**
   * Sends an app message on the control channel, waiting up to 5 s for the channel to open: a fault asked for as soon
   * as the client connected may come before the channel's own open, which a loaded machine can delay.
   */
  private async sendControl(message: string): Promise<void> {
    const giveUpAt = Date.now() + 5000;
    while (!this.peer?.sendOnChannel(KIT_CONTROL_CHANNEL_LABEL, message)) {
      if (Date.now() > giveUpAt) throw new Error('the control channel did not open within 5 s');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  messages(): KitAppMessage[] {
    return this.app.messages();
  }

  inspect(name: string): unknown {
    const server = this.sockets.signalingServer;
    switch (name) {
      case 'input':
        return this.app.received();
      case 'envelopes':
        return server.envelopes();
      case 'violations':
        return [...server.violations(), ...this.problems, ...this.app.violations()];
      case 'notes':
        return [...this.sessionNotes, ...this.app.notes()];
      case 'control':
        return this.app.controlLog();
      case 'channels':
        return this.peer?.channelStates() ?? {};
      case 'sign-in':
        return { last: server.lastSignIn ?? null, reconnects: server.reconnects };
      case 'answer':
        return this.lastAnswer ?? null;
      case 'unacknowledged':
        return server.unacknowledged();
      default:
        throw new Error(`unknown inspection '${name}'; known: ${KIT_MEDIA_INSPECTIONS.join(', ')}`);
    }
  }

  connections(): number {
    return this.sockets.signalingServer.clientCount + (this.peer?.connected ? 1 : 0);
  }

  peerState(): string {
    return this.peer?.connectionState ?? 'none';
  }

  framesSent(): number {
    return this.peer?.framesSent ?? 0;
  }

  /** Ends the session as Kit does when it is terminated: the app exits, the client's peer is removed. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const timer of this.endTimers) clearTimeout(timer);
    this.endTimers.clear();
    const { signalingServer, signalingForwarder, mediaForwarder } = this.sockets;
    const told = this.peer?.sendOnChannel(KIT_CONTROL_CHANNEL_LABEL, this.app.exitMessage(0));
    signalingServer.sendError('peerRemoved');
    // Give both messages a moment on loopback before the sockets go.
    if (told || this.client?.open) await new Promise((resolve) => setTimeout(resolve, 50));
    await Promise.all([signalingForwarder.close(), signalingServer.close(), mediaForwarder.close()]);
    // Let a peer being created finish, then close whichever peer exists.
    await this.peerWork;
    await this.closePeer();
    if (this.mediaPortReservation) await closeUdp(this.mediaPortReservation);
    this.mediaPortReservation = undefined;
  }

  /**
   * A new sign-in replaces the previous client: fresh peer connection, fresh offer. A re-opened socket of a live
   * session (`&reconnect=1`) keeps the peer: the signaling server has already re-sent what was not acknowledged.
   */
  private clientArrived(client: SignalingClient, reconnect: boolean): void {
    this.client = client;
    if (reconnect && this.peer) return;
    if (!reconnect && this.armedFaults.delete('close-before-offer')) {
      client.close(1011, 'stream setup failed');
      return;
    }
    this.enqueuePeerWork(async () => {
      // Checked again here: a reconnect that arrives while the first peer is being created finds it made by now.
      if (this.client !== client || !client.open || client.ended || (reconnect && this.peer)) return;
      let peer: KitMediaPeer;
      try {
        peer = await this.createPeer();
      } catch (error) {
        this.config.log?.(`media for ${this.config.sessionId}: peer setup failed: ${errorText(error)}`);
        if (client.open) client.close(1011, 'media setup failed');
        return;
      }
      if (this.client !== client || !client.open || client.ended || this.closed) {
        await this.closePeer(peer);
        return;
      }
      const nvstSdp = this.config.nvstSdp ? offerNvstSdp(this.config, peer.offersVideo) : undefined;
      this.offer = { peer, nvstSdp, answered: false };
      client.sendPeerMessage({ type: 'offer', sdp: peer.offerSdp, ...(nvstSdp === undefined ? {} : { nvstSdp }) });
    });
  }

  /** A client peer message: an answer (§2.2) or a trickled candidate (§2.5); nothing else. */
  private peerMessage(client: SignalingClient, message: Record<string, unknown>): void {
    if (client !== this.client) return;
    if ('candidate' in message) this.candidateMessage(message);
    else if (message['type'] === 'answer') this.answerMessage(message);
    else {
      this.problem(
        `peer message ${describeMessage(message)} is neither an answer nor a candidate; a client sends ` +
          '{"type": "answer", "sdp", "nvstSdp"?} and {"sdpMLineIndex", "sdpMid", "candidate"} only (§2.2, §2.5)',
      );
    }
  }

  private answerMessage(message: Record<string, unknown>): void {
    const sdp = message['sdp'];
    if (typeof sdp !== 'string' || sdp === '') {
      this.problem('answer without an sdp string');
      return;
    }
    const nvstSdp = message['nvstSdp'];
    if (nvstSdp !== undefined && typeof nvstSdp !== 'string') {
      this.problem(`answer nvstSdp must be a string, got ${typeof nvstSdp}`);
      return;
    }
    this.lastAnswer = { sdp, ...(nvstSdp === undefined ? {} : { nvstSdp }) };
    const offer = this.offer;
    if (!offer) {
      this.problem('answer with no offer pending: the server offers, the client answers once per offer (§2.1)');
      return;
    }
    if (offer.answered) {
      this.problem('a second answer to the same offer: the client answers once per offer (§2.1)');
      return;
    }
    offer.answered = true;
    if (offer.nvstSdp === undefined) {
      if (nvstSdp !== undefined) this.problem('the answer has an nvstSdp, but the offer had none (§2.2)');
    } else if (nvstSdp === undefined) {
      this.problem('the answer has no nvstSdp, but the offer had one (§2.2)');
    } else {
      for (const problem of nvstAnswerProblems(offer.nvstSdp, nvstSdp, sdp)) this.problem(`answer nvstSdp: ${problem}`);
    }
    this.enqueuePeerWork(async () => {
      try {
        await offer.peer.acceptAnswer(sdp);
      } catch (error) {
        this.problem(`the answer was rejected: ${errorText(error)}`);
      }
    });
  }

  private candidateMessage(message: Record<string, unknown>): void {
    const checked = readCandidate(message);
    if (typeof checked === 'string') {
      this.problem(`candidate ${describeMessage(message)}: ${checked}`);
      return;
    }
    this.enqueuePeerWork(async () => {
      try {
        await this.peer?.addRemoteCandidate(checked);
      } catch (error) {
        // mDNS candidates are skipped by the peer by design (NVIDIA's browser trickles them); they never get here.
        if (!isMdnsCandidate(checked.candidate)) this.problem(`candidate ${excerpt(checked.candidate)} was rejected: ${errorText(error)}`);
      }
    });
  }

  private problem(problem: string): void {
    remember(this.problems, problem);
    this.config.log?.(`media for ${this.config.sessionId} violation: ${problem}`);
  }

  private note(note: string): void {
    remember(this.sessionNotes, note);
  }

  /**
   * The server ended the stream: the client is ended (a reconnect is refused) and, once it
   * has had a moment to read why, its peer is closed.
   */
  private endStream(reason: string): void {
    this.sockets.signalingServer.endStream(reason);
    const peer = this.peer;
    if (!peer) return;
    const timer = setTimeout(() => {
      this.endTimers.delete(timer);
      this.enqueuePeerWork(() => this.closePeer(peer));
    }, SERVER_END_GRACE_MS);
    timer.unref();
    this.endTimers.add(timer);
  }

  /** A client that said goodbye takes its stream with it; one that may come back (a drop, a 4001 switch) does not. */
  private clientLeft(client: SignalingClient, final: boolean): void {
    if (client !== this.client) return;
    this.client = undefined;
    if (!final || this.closed) return;
    this.enqueuePeerWork(async () => {
      if (this.client === undefined) await this.closePeer();
    });
  }

  private enqueuePeerWork(work: () => Promise<void>): void {
    this.peerWork = this.peerWork.then(work).catch((error: unknown) => {
      this.config.log?.(`media for ${this.config.sessionId}: ${errorText(error)}`);
    });
  }

  private async createPeer(): Promise<KitMediaPeer> {
    // The old peer must release the media port before the new one binds it.
    const old = this.peer;
    this.peer = undefined;
    this.offer = undefined;
    await old?.close();
    if (this.mediaPortReservation) {
      await closeUdp(this.mediaPortReservation);
      this.mediaPortReservation = undefined;
    }
    const peer: KitMediaPeer = await KitMediaPeer.create({
      mediaPort: this.media.destinationPort,
      host: this.config.host,
      ...(this.config.upstreamAddress === undefined ? {} : { allowedRemoteAddress: this.config.upstreamAddress }),
      frames: this.config.frames,
      frameRate: this.config.frameRate,
      iceLite: this.config.iceLite,
      mediaPaused: this.mediaStopped,
      video: !this.armedFaults.delete('offer-without-video'),
      controlChannel: !this.armedFaults.delete('no-control-channel'),
      idleTimeoutMs: this.config.peerIdleTimeoutMs,
      onChannelOpen: (label) => {
        // The server speaks first on the input channel: the protocol version it reads.
        if (label !== INPUT_CHANNEL_LABEL) return;
        peer.sendOnChannel(label, encodeInputHandshake(this.config.inputVersion));
        this.handshakeSentAt.set(peer, performance.now());
      },
      onChannelMessage: (label, data) => this.channelMessage(peer, label, data),
      onConnectionStateChange: (state) => this.config.log?.(`media for ${this.config.sessionId}: peer ${state}`),
      onIdleTimeout: () => {
        this.config.log?.(`media for ${this.config.sessionId}: peer silent for ${this.config.peerIdleTimeoutMs} ms, closed`);
        this.enqueuePeerWork(() => this.closePeer(peer));
      },
    });
    this.peer = peer;
    return peer;
  }

  private channelMessage(peer: KitMediaPeer, label: string, data: string | Buffer): void {
    if (label === KIT_CONTROL_CHANNEL_LABEL) {
      if (typeof data !== 'string') {
        this.note(`binary message of ${data.length} bytes on control_channel ignored: control messages are JSON text (§4)`);
        return;
      }
      const { replies, key } = this.app.receiveControlFrame(data);
      for (const reply of replies) peer.sendOnChannel(label, reply);
      // The viewer left: NVIDIA's client says so before closing its peer connection.
      if (key === 'exitMessage') this.enqueuePeerWork(() => this.closePeer(peer));
    } else if (label === INPUT_CHANNEL_LABEL) {
      if (typeof data === 'string') {
        this.problem(`text message on input_channel_v1 (${excerpt(data)}): the input protocol is binary (§5)`);
        return;
      }
      const bytes = data;
      // Wall-clock arrival time (ms since the epoch, sub-millisecond), so a benchmark can measure input latency.
      const receivedAt = performance.timeOrigin + performance.now();
      // A client writes plain events until the handshake reaches it (§5.1): with version 3 announced, plain events
      // are accepted while the handshake may still be on its way (a second), unless the client already framed one.
      // Messages in the framed forms (0x23, and 0x22 for text and the heartbeat) are read as the announced version.
      if (bytes[0] === 0x23) this.framedInputSeen.add(peer);
      const plainAllowed = !this.framedInputSeen.has(peer) && performance.now() - (this.handshakeSentAt.get(peer) ?? 0) < 1000;
      const version = plainAllowed && bytes[0] !== 0x23 && bytes[0] !== 0x22 ? 2 : this.config.inputVersion;
      const events = decodeInputMessage(bytes, version).map((event) => ({ ...event, receivedAt }));
      const replies = this.app.input(events);
      for (const frame of replies.control) peer.sendOnChannel(KIT_CONTROL_CHANNEL_LABEL, frame);
      for (const frame of replies.cursor) peer.sendOnChannel('cursor_channel', frame);
    } else {
      // A client may open channels the server does not read (stats_channel, §3); noted once per channel.
      const noted = this.notedChannels.get(peer) ?? new Set<string>();
      this.notedChannels.set(peer, noted);
      if (noted.has(label)) return;
      noted.add(label);
      const size = typeof data === 'string' ? `text of ${data.length} characters` : `${data.length} bytes`;
      this.note(`data on channel ${excerpt(label)} (${size}) ignored: the server reads only control_channel and input_channel_v1`);
    }
  }

  /** Sends each message on the current peer's channel `label`; fails when that channel is not open. */
  private sendGarbage(label: string, messages: readonly (string | Buffer)[]): void {
    const peer = this.peer;
    if (peer?.channelStates()[label] !== 'open') throw new Error(`no open ${label} to send on`);
    for (const message of messages) peer.sendOnChannel(label, message);
  }

  /** Closes a peer (the current one by default) and holds the media port again while no peer does. */
  private async closePeer(peer = this.peer): Promise<void> {
    if (peer === this.peer) this.peer = undefined;
    // With its peer gone, the offer is no longer open to an answer.
    if (peer && this.offer?.peer === peer) this.offer = undefined;
    await peer?.close();
    if (this.peer || this.mediaPortReservation || this.closed) return;
    try {
      this.mediaPortReservation = await reserveUdpPort(this.config.host, this.media.destinationPort);
    } catch (error) {
      // Someone else took the port; the next client's peer setup will report it.
      this.config.log?.(`media for ${this.config.sessionId}: cannot hold media port: ${errorText(error)}`);
    }
    if (this.closed && this.mediaPortReservation) {
      await closeUdp(this.mediaPortReservation);
      this.mediaPortReservation = undefined;
    }
  }
}

interface SignalingHooks {
  onClient: (client: SignalingClient, details: { reconnect: boolean }) => void;
  onPeerMessage: (client: SignalingClient, message: Record<string, unknown>) => void;
  onClientClosed: (client: SignalingClient, details: { final: boolean; code: number }) => void;
}

/** Binds every port of a session, all on free ports chosen now; undoes everything on failure. */
async function openSessionSockets(config: KitMediaSessionConfig, serverId: number, hooks: SignalingHooks): Promise<SessionSockets> {
  const upstream = config.upstreamAddress ?? config.host;
  const opened: { close(): Promise<void> }[] = [];
  try {
    const signalingServer = await KitSignalingServer.start({
      host: config.host,
      port: 0,
      ...(config.upstreamAddress === undefined ? {} : { allowedRemoteAddress: config.upstreamAddress }),
      heartbeatMs: config.heartbeatMs,
      serverId,
      serverName: `OneSdkServer-${config.sessionId.slice(0, 8) || 'kit'}`,
      sessionId: config.sessionId,
      ...(config.accessToken === undefined ? {} : { accessToken: config.accessToken }),
      ...hooks,
      ...(config.log === undefined ? {} : { log: config.log }),
    });
    opened.push(signalingServer);
    const signalingForwarder = await TcpForwarder.start({
      listenHost: config.host,
      targetHost: config.host,
      targetPort: signalingServer.port,
      upstreamLocalAddress: upstream,
    });
    opened.push(signalingForwarder);
    const mediaPortReservation = await reserveUdpPort(config.host, 0);
    opened.push({ close: () => closeUdp(mediaPortReservation) });
    const mediaDestinationPort = mediaPortReservation.address().port;
    // werift needs the range [P, P+1]; P+1 must still be a port number.
    if (mediaDestinationPort >= 65535) throw new Error('media port at the top of the range');
    const mediaForwarder = await UdpForwarder.start({
      listenHost: config.host,
      targetHost: config.host,
      targetPort: mediaDestinationPort,
      upstreamLocalAddress: upstream,
    });
    opened.push(mediaForwarder);
    return { signalingServer, signalingForwarder, mediaForwarder, mediaPortReservation, mediaDestinationPort };
  } catch (error) {
    await Promise.all(opened.map((handle) => handle.close().catch(() => {})));
    throw error;
  }
}

/** A bound UDP socket that drops whatever it receives. */
async function reserveUdpPort(host: string, port: number): Promise<dgram.Socket> {
  const socket = dgram.createSocket('udp4');
  socket.on('error', () => {});
  try {
    await bindUdp(socket, port, host);
  } catch (error) {
    await closeUdp(socket);
    throw error;
  }
  return socket;
}

/**
 * A trickled candidate in the shape §2.5 gives, `{"sdpMLineIndex": n, "sdpMid": "<mid>", "candidate": "candidate:…"}`
 * for a non-TCP local candidate, or what is wrong with it.
 */
function readCandidate(message: Record<string, unknown>): RemoteCandidateInit | string {
  const problems: string[] = [];
  const { candidate, sdpMid, sdpMLineIndex } = message;
  if ('type' in message) problems.push('has a type field; a candidate message is {sdpMLineIndex, sdpMid, candidate} only');
  if (typeof candidate !== 'string') problems.push(`candidate must be a string, got ${typeof candidate}`);
  else if (candidate.trim() === '') problems.push('empty candidate string; the end of candidates is not sent');
  else if (candidateTransport(candidate) === 'tcp') problems.push('a TCP candidate; the client trickles only non-TCP candidates');
  if (typeof sdpMid !== 'string') problems.push('sdpMid missing');
  if (!Number.isSafeInteger(sdpMLineIndex) || (sdpMLineIndex as number) < 0) problems.push('sdpMLineIndex missing');
  if (problems.length > 0) return `${problems.join('; ')} (§2.5)`;
  return { candidate: candidate as string, sdpMid: sdpMid as string, sdpMLineIndex: sdpMLineIndex as number };
}

/** The transport field (third) of `candidate:<foundation> <component> <transport> …`, lower-case. */
function candidateTransport(candidate: string): string | undefined {
  return candidate.trim().replace(/^a=/, '').split(/\s+/)[2]?.toLowerCase();
}

/** The parts of an nvstSdp that §2.3 gives meaning to. */
interface NvstSdpParts {
  lines: string[];
  /** Session lines before the first `m=`. */
  session: string[];
  sections: { mLine: string; type: string; msid: string | undefined }[];
}

function parseNvstSdp(text: string): NvstSdpParts {
  // NVIDIA's client builds it with LF and appends its credentials with CRLF.
  const lines = text.split(/\r?\n/).filter((line) => line !== '');
  const firstMedia = lines.findIndex((line) => line.startsWith('m='));
  const session = firstMedia < 0 ? lines : lines.slice(0, firstMedia);
  const sections: NvstSdpParts['sections'] = [];
  for (const line of firstMedia < 0 ? [] : lines.slice(firstMedia)) {
    if (line.startsWith('m=')) sections.push({ mLine: line, type: line.slice(2).split(' ')[0] ?? '', msid: undefined });
    else if (line.startsWith('a=msid:')) {
      const section = sections.at(-1)!;
      section.msid ??= line.slice('a=msid:'.length);
    }
  }
  return { lines, session, sections };
}

/**
 * What is wrong with the client's nvstSdp (§2.3): `v=0`, the server's `o=` and `t=`, `s=-`, the answer SDP's ICE
 * password, ufrag and DTLS fingerprint (upper-case) as `a=general.*`, and each offered section as
 * `m=<type> 0 RTP/AVP` with the offer's `a=msid`.
 */
export function nvstAnswerProblems(offerNvstSdp: string, answerNvstSdp: string, answerSdp: string): string[] {
  const problems: string[] = [];
  const offer = parseNvstSdp(offerNvstSdp);
  const answer = parseNvstSdp(answerNvstSdp);
  if (answer.lines[0] !== 'v=0') problems.push(`the first line must be v=0, got ${excerpt(answer.lines[0] ?? 'nothing')}`);
  const sessionValue = (parts: NvstSdpParts, prefix: string) => parts.session.find((line) => line.startsWith(prefix))?.slice(prefix.length);
  for (const [prefix, name] of [
    ['o=', 'origin'],
    ['t=', 'time'],
  ] as const) {
    const expected = sessionValue(offer, prefix);
    const got = sessionValue(answer, prefix);
    if (got !== expected)
      problems.push(`${prefix} must be the server's ${name} ${String(expected)}, got ${got === undefined ? 'none' : excerpt(got)}`);
  }
  if (sessionValue(answer, 's=') !== '-') problems.push('s=- missing');
  const answerValue = (attribute: string) => new RegExp(`^a=${attribute}:(.+?)\\s*$`, 'm').exec(answerSdp)?.[1];
  const fingerprint = answerValue('fingerprint')?.split(/\s+/)[1];
  const credentials: [string, string | undefined, string][] = [
    ['icePassword', answerValue('ice-pwd'), 'a=ice-pwd'],
    ['iceUserNameFragment', answerValue('ice-ufrag'), 'a=ice-ufrag'],
    ['dtlsFingerprint', fingerprint, 'a=fingerprint'],
  ];
  for (const [key, expected, source] of credentials) {
    const got = sessionValue(answer, `a=general.${key}:`);
    if (got === undefined) problems.push(`a=general.${key} missing`);
    else if (expected === undefined) problems.push(`a=general.${key} given, but the answer SDP has no ${source}`);
    else if (key === 'dtlsFingerprint' ? got.toUpperCase() !== expected.toUpperCase() : got !== expected)
      problems.push(`a=general.${key} ${excerpt(got)} is not the answer SDP's ${source} ${excerpt(expected)}`);
    else if (key === 'dtlsFingerprint' && got !== got.toUpperCase()) problems.push('a=general.dtlsFingerprint must be upper-case');
  }
  for (const section of answer.sections) {
    if (!/^m=(video|audio|application|mic) 0 RTP\/AVP$/.test(section.mLine))
      problems.push(`section ${excerpt(section.mLine)} must read m=<type> 0 RTP/AVP`);
    if (!offer.sections.some((offered) => offered.type === section.type && offered.msid === section.msid))
      problems.push(`section ${excerpt(section.mLine)} with a=msid:${String(section.msid)} was not offered`);
  }
  for (const offered of offer.sections) {
    if (!answer.sections.some((section) => section.type === offered.type && section.msid === offered.msid))
      problems.push(`the offered section m=${offered.type} a=msid:${String(offered.msid)} is missing`);
  }
  return problems;
}

/** The first `a=candidate:` of an SDP as a trickled candidate (§2.5), or undefined. */
function firstCandidate(sdp: string): RemoteCandidateInit | undefined {
  const line = sdp.split(/\r?\n/).find((text) => text.startsWith('a=candidate:'));
  const mid = /^a=mid:(\S+)/m.exec(sdp)?.[1];
  return line === undefined || mid === undefined ? undefined : { candidate: line.slice(2), sdpMid: mid, sdpMLineIndex: 0 };
}

/** `length` bytes from a fixed seed (a linear congruential sequence), the first one `first`: garbage that reads the same every run. */
function seededBytes(seed: number, length: number, first: number): Buffer {
  const bytes = Buffer.alloc(length);
  let state = seed >>> 0;
  for (let index = 0; index < length; index++) {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    bytes[index] = state >>> 24;
  }
  bytes[0] = first;
  return bytes;
}

function describeMessage(message: Record<string, unknown>): string {
  return excerpt(JSON.stringify(message));
}

function excerpt(text: string, limit = 120): string {
  return text.length > limit ? `${text.slice(0, limit)}…` : text;
}

function remember(list: string[], item: string): void {
  list.push(item);
  if (list.length > SESSION_LOG_LIMIT) list.splice(0, list.length - SESSION_LOG_LIMIT);
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
