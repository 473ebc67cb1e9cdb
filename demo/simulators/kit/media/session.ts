/**
 * The media side of one simulated Kit streaming session: the signaling server,
 * the sending peer, the simulated app, and the forwarders that stand in for the
 * cluster load balancer.
 */
import dgram from 'node:dgram';
import type { KitPortPair, KitSessionMedia } from '../kit-simulator.js';
import type { IvfFrame } from './ivf.js';
import { SimulatedKitApp, formatKitAppEnvelope, parseKitAppEnvelope } from './kit-app.js';
import type { KitAppMessage } from './kit-app.js';
import { KitMediaPeer } from './media-peer.js';
import type { RemoteCandidateInit } from './media-peer.js';
import { TcpForwarder, UdpForwarder, bindUdp, closeUdp } from './port-forwarder.js';
import { KitSignalingServer, SignalingCloseCode } from './signaling-server.js';
import type { SignalingClient } from './signaling-server.js';

export type KitMediaFault = 'drop-signaling' | 'stop-media' | 'resume-media' | 'refuse-ice' | 'resume-ice';
export const KIT_MEDIA_FAULTS: readonly KitMediaFault[] = ['drop-signaling', 'stop-media', 'resume-media', 'refuse-ice', 'resume-ice'];

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
  frames: readonly IvfFrame[];
  frameRate: number;
  iceLite: boolean;
  dataChannelLabel: string;
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
}

/** What the factory returns: {@link KitSessionMedia} with every optional member present, plus the extras. */
export type KitMediaSessionHandle = KitSessionMedia &
  Required<Pick<KitSessionMedia, 'fault' | 'messages' | 'connections'>> &
  KitMediaSessionExtras;

interface SessionSockets {
  signalingServer: KitSignalingServer;
  signalingForwarder: TcpForwarder;
  mediaForwarder: UdpForwarder;
  /** Holds the media destination port while no peer does, so nothing else takes it. */
  mediaPortReservation: dgram.Socket;
  mediaDestinationPort: number;
}

export class KitMediaSession implements KitMediaSessionHandle {
  readonly signaling: KitPortPair;
  readonly media: KitPortPair;
  private readonly app: SimulatedKitApp;
  private readonly sockets: SessionSockets;
  private mediaPortReservation: dgram.Socket | undefined;
  private client: SignalingClient | undefined;
  private peer: KitMediaPeer | undefined;
  /** Serializes peer replacement and the client's answer and candidates. */
  private peerWork: Promise<void> = Promise.resolve();
  private mediaStopped = false;
  private closed = false;

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

  static async start(config: KitMediaSessionConfig): Promise<KitMediaSession> {
    const app = new SimulatedKitApp(config.usdStageUri === undefined ? {} : { usdStageUri: config.usdStageUri });
    const serverId = 100_000_000 + Math.floor(Math.random() * 900_000_000);
    // The signaling server's callbacks need the session, which needs the server's port:
    // route them through a late-bound reference. No client can arrive before the
    // session exists: the forwarder is the only way in and its port is not yet published.
    let session: KitMediaSession | undefined;
    let lastError: unknown;
    for (let attempt = 1; attempt <= config.portAttempts; attempt++) {
      try {
        const sockets = await openSessionSockets(config, serverId, {
          onClient: (client) => session?.clientArrived(client),
          onPeerMessage: (client, message) => session?.peerMessage(client, message),
          onClientClosed: (client, dropped) => session?.clientLeft(client, dropped),
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

  // eslint-disable-next-line @typescript-eslint/require-await -- async so that every failure, an unknown kind included, rejects
  async fault(kind: string): Promise<void> {
    switch (kind) {
      case 'drop-signaling':
        this.sockets.signalingServer.dropAll();
        return;
      case 'stop-media':
        this.mediaStopped = true;
        this.peer?.setMediaPaused(true);
        return;
      case 'resume-media':
        this.mediaStopped = false;
        this.peer?.setMediaPaused(false);
        return;
      case 'refuse-ice':
        this.sockets.mediaForwarder.blocked = true;
        return;
      case 'resume-ice':
        this.sockets.mediaForwarder.blocked = false;
        return;
      default:
        throw new Error(`unknown fault '${kind}'; known: ${KIT_MEDIA_FAULTS.join(', ')}`);
    }
  }

  messages(): KitAppMessage[] {
    return this.app.messages();
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

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const { signalingServer, signalingForwarder, mediaForwarder } = this.sockets;
    await Promise.all([signalingForwarder.close(), signalingServer.close(), mediaForwarder.close()]);
    // Let a peer being created finish, then close whichever peer exists.
    await this.peerWork;
    await this.closePeer();
    if (this.mediaPortReservation) await closeUdp(this.mediaPortReservation);
    this.mediaPortReservation = undefined;
  }

  /** A new client replaces the previous one: fresh peer connection, fresh offer. */
  private clientArrived(client: SignalingClient): void {
    if (this.closed) {
      client.close(SignalingCloseCode.serverShutdown, 'session ended');
      return;
    }
    const previous = this.client;
    this.client = client;
    if (previous?.open) previous.close(SignalingCloseCode.replaced, 'replaced by a newer connection');
    this.enqueuePeerWork(async () => {
      if (this.client !== client || !client.open) return;
      let peer: KitMediaPeer;
      try {
        peer = await this.createPeer();
      } catch (error) {
        this.config.log?.(`media for ${this.config.sessionId}: peer setup failed: ${errorText(error)}`);
        if (client.open) client.close(SignalingCloseCode.internalError, 'media setup failed');
        return;
      }
      if (this.client !== client || !client.open || this.closed) {
        await this.closePeer(peer);
        return;
      }
      client.sendPeerMessage({ type: 'offer', sdp: peer.offerSdp });
    });
  }

  private peerMessage(client: SignalingClient, message: Record<string, unknown>): void {
    if (client !== this.client) return;
    const type = message['type'];
    if (type === 'answer' && typeof message['sdp'] === 'string') {
      const sdp = message['sdp'];
      this.enqueuePeerWork(async () => {
        await this.peer?.acceptAnswer(sdp);
      });
    } else if (type === 'candidate' || 'candidate' in message) {
      const candidate = readCandidate(message);
      if (!candidate) return;
      this.enqueuePeerWork(async () => {
        await this.peer?.addRemoteCandidate(candidate);
      });
    }
  }

  /**
   * A client that leaves takes its stream with it. A connection the server cut
   * (the drop-signaling fault) keeps the peer: the client is expected to come back.
   */
  private clientLeft(client: SignalingClient, droppedByServer: boolean): void {
    if (client !== this.client) return;
    this.client = undefined;
    if (droppedByServer || this.closed) return;
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
    await old?.close();
    if (this.mediaPortReservation) {
      await closeUdp(this.mediaPortReservation);
      this.mediaPortReservation = undefined;
    }
    const peer = await KitMediaPeer.create({
      mediaPort: this.media.destinationPort,
      host: this.config.host,
      ...(this.config.upstreamAddress === undefined ? {} : { allowedRemoteAddress: this.config.upstreamAddress }),
      frames: this.config.frames,
      frameRate: this.config.frameRate,
      iceLite: this.config.iceLite,
      dataChannelLabel: this.config.dataChannelLabel,
      mediaPaused: this.mediaStopped,
      idleTimeoutMs: this.config.peerIdleTimeoutMs,
      onAppMessage: (data) => this.appMessage(data),
      onConnectionStateChange: (state) => this.config.log?.(`media for ${this.config.sessionId}: peer ${state}`),
      onIdleTimeout: () => {
        this.config.log?.(`media for ${this.config.sessionId}: peer silent for ${this.config.peerIdleTimeoutMs} ms, closed`);
        this.enqueuePeerWork(() => this.closePeer(peer));
      },
    });
    this.peer = peer;
    return peer;
  }

  /** Closes a peer (the current one by default) and holds the media port again while no peer does. */
  private async closePeer(peer = this.peer): Promise<void> {
    if (peer === this.peer) this.peer = undefined;
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

  private appMessage(data: string | Buffer): void {
    const message = parseKitAppEnvelope(data);
    if (!message) return;
    for (const reply of this.app.handle(message)) {
      this.peer?.sendAppMessage(formatKitAppEnvelope(reply));
    }
  }
}

interface SignalingHooks {
  onClient: (client: SignalingClient) => void;
  onPeerMessage: (client: SignalingClient, message: Record<string, unknown>) => void;
  onClientClosed: (client: SignalingClient, droppedByServer: boolean) => void;
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
      onClient: hooks.onClient,
      onPeerMessage: hooks.onPeerMessage,
      onClientClosed: hooks.onClientClosed,
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
    const reservationHandle = { close: () => closeUdp(mediaPortReservation) };
    opened.push(reservationHandle);
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

/** Reads a trickled candidate: `{candidate: "candidate:...", sdpMid, sdpMLineIndex}` or the same nested under `candidate`. */
function readCandidate(message: Record<string, unknown>): RemoteCandidateInit | undefined {
  let source: unknown = message;
  const nested = message['candidate'];
  if (typeof nested === 'object' && nested !== null) source = nested;
  const record = source as Record<string, unknown>;
  const candidate = record['candidate'];
  if (typeof candidate !== 'string') return undefined;
  const sdpMid = record['sdpMid'];
  const sdpMLineIndex = record['sdpMLineIndex'] ?? record['sdpMlineIndex'];
  return {
    candidate,
    sdpMid: typeof sdpMid === 'string' ? sdpMid : null,
    sdpMLineIndex: typeof sdpMLineIndex === 'number' ? sdpMLineIndex : null,
  };
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
