/**
 * Server side of Kit's WebRTC signaling over WebSocket, for one streaming session,
 * enforcing the rules of KIT-PROTOCOL.md §1 rather than accepting whatever arrives.
 * A violation is something NVIDIA's client never does, so a real Kit may refuse or
 * ignore it; each is recorded with a readable reason, never silently tolerated.
 *
 * Sign-in: `<any prefix>/sign_in?peer_id=peer-<10 digits>&version=2[&reconnect=1]`
 * with the subprotocol `x-nv-sessionid.<session id>` or
 * `x-nv-sessionid.<session id>-Authorization.Bearer-<token>`; refusals are HTTP
 * answers before the upgrade (a browser sees only a failed socket).
 *
 * Server → client: `peer_info` for the client, `peer_info` for the server, then the
 * session's `peer_msg` offer; each carries an `ackid` from one per-session counter
 * and is retained until the client acknowledges it with `{"ack": n}` (cumulative).
 * `{"hb": n}` heartbeats and `{"error": ...}` carry no ackid.
 *
 * Client → server: `{"peer_msg":{"from":<client id>,"to":<server id>,"msg":"<JSON>"},"ackid":k}`
 * with increasing (not necessarily consecutive) ackids, `{"ack": n}`, and binary stats
 * frames; the server answers each accepted ackid with `{"ack": <highest received>}`.
 *
 * Reconnect (`reconnect=1`, e.g. NVIDIA's switch to a worker socket after closing the
 * first one with 4001): only for the live client and with its peer name; no new peer_info
 * or offer; every unacknowledged server message is sent again with its ackid. Once the
 * server has ended the stream (peerRemoved, BYE, the app's exitMessage) a reconnect is
 * refused.
 *
 * What a client sends is logged in excerpts only: a hostile client must not be able to
 * make the logs hold more than a few kB per entry.
 *
 * For the session's faults the server can also misbehave on demand: raw frames no client can
 * read, its messages sent again with their ackids, ackids sent out of order, heartbeats paused.
 */
import { createHash, randomInt } from 'node:crypto';
import http from 'node:http';
import type net from 'node:net';
import type stream from 'node:stream';
import { WebSocketServer, WebSocket } from 'ws';

/** Close codes of the signaling socket (application range 4000-4999, plus standard ones). */
export const SignalingCloseCode = {
  /** Sent by NVIDIA's client when it moves signaling to a Web Worker socket (§1.6); it comes back with `reconnect=1`. */
  workerSwitch: 4001,
  /** Sent by the server to a socket a newer socket of the same session replaced. */
  replaced: 4409,
  serverShutdown: 1001,
  policyViolation: 1008,
  internalError: 1011,
} as const;

const PEER_ID_PATTERN = /^peer-\d{10}$/;
const SUPPORTED_VERSION = '2';
const SUBPROTOCOL_PREFIX = 'x-nv-sessionid.';
const BEARER_INFIX = '-Authorization.Bearer-';
const REDACTED = '<redacted>';
/**
 * Largest client message accepted. NVIDIA's envelopes are a few kB and SDP answers well
 * under this; a larger frame closes the socket (1009) and is recorded as a violation.
 */
const MAX_CLIENT_MESSAGE_BYTES = 64 * 1024;
/** Unacknowledged server messages kept; a client that never acks must not grow memory. */
const MAX_RETAINED_MESSAGES = 256;
/** Messages with an ackid kept after they went out, acknowledged or not, for a fault that sends them again. */
const MAX_SENT_HISTORY = 32;
/**
 * Client ackids whose content digest is remembered, to tell a re-sent envelope from a
 * reused ackid and from an ackid that goes backwards.
 */
const MAX_REMEMBERED_CLIENT_ACKIDS = 1024;
const MAX_ENVELOPE_LOG = 500;
/** Longest incoming frame logged in its parsed form; longer ones are logged as the start of their text. */
const MAX_LOGGED_TEXT = 4096;
/**
 * Heartbeats count from here, far above any ackid a session reaches, so that a client
 * that acknowledges a heartbeat (NVIDIA's client never does, §1.3) acks "a message never sent".
 */
const FIRST_HEARTBEAT = 1_000_000;
/** A server message unacknowledged this many heartbeat periods while a socket is open is a violation. */
const ACK_DEADLINE_HEARTBEATS = 2;
/** Client ids are drawn from [1, this), like NVIDIA's peer names, so a client cannot count on a fixed one. */
const CLIENT_ID_LIMIT = 1_000_000_000;
const MAX_VIOLATIONS = 100;
/**
 * Client close codes that end the client for good. 1005 is what a browser's
 * `socket.close()` without a code arrives as. Every other code, 4001 (worker switch)
 * and 1006 (no close frame) included, may be followed by a `reconnect=1` socket: the
 * client's watchdog reopens after any close it did not mean as an end (§1.6).
 */
const FINAL_CLOSE_CODES: ReadonlySet<number> = new Set([1000, 1001, 1005]);

/** The client peer of the session, stable across its reconnect sockets. */
export interface SignalingClient {
  /** The peer name the client signed in with, announced back in its `peer_info`. */
  readonly peerId: string;
  /** Numeric id announced in the client's `peer_info`; its envelopes must carry it as `from`. */
  readonly clientId: number;
  /** True while a socket of this client is open. */
  readonly open: boolean;
  /** The client is gone for good: it said goodbye, was replaced, or the server ended the stream. */
  readonly ended: boolean;
  /**
   * Sends `{"peer_msg":{"from":<server id>,"to":<client id>,"msg":JSON.stringify(message)},"ackid":n}`.
   * Without an open socket the message is retained and goes out on the client's reconnect.
   * Ignored once the client has ended or was replaced by a new sign-in.
   */
  sendPeerMessage(message: unknown): void;
  /** Sends the bare string `BYE` as `msg`, which ends the stream normally on the client. */
  sendBye(): void;
  /**
   * Sends `msg` as the `peer_msg`'s msg exactly as given, not JSON-encoded, with an ackid like any peer message:
   * for faults, a payload no client can read.
   */
  sendPeerText(msg: string): void;
  /** Closes the current socket and ends the client (a later `reconnect=1` is refused); no `onClientClosed` follows. */
  close(code: number, reason: string): void;
}

export interface KitSignalingServerOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** When set, TCP connections from any other address are reset before any byte is read. */
  allowedRemoteAddress?: string;
  heartbeatMs: number;
  serverId: number;
  serverName: string;
  /** The session id the subprotocol must carry. */
  sessionId: string;
  /** When set, the subprotocol must be the bearer form carrying exactly this token. */
  accessToken?: string;
  /** A new sign-in (after its two `peer_info`), or a reconnect socket (after the re-sent messages). */
  onClient: (client: SignalingClient, details: { reconnect: boolean }) => void;
  /** The parsed `msg` of an accepted, first-seen client envelope. */
  onPeerMessage: (client: SignalingClient, message: Record<string, unknown>) => void;
  /**
   * A socket the client or the network closed (dropClient counts as the network).
   * `final: false` means the client may come back with `reconnect=1`. Not called for a
   * socket a newer one replaced, for client.close(), or after server.close().
   */
  onClientClosed: (client: SignalingClient, details: { final: boolean; code: number }) => void;
  log?: (line: string) => void;
}

/** One text frame on the signaling socket, as the control endpoint shows it. */
export interface SignalingEnvelopeRecord {
  direction: 'in' | 'out';
  /** Milliseconds since the server started. */
  at: number;
  /**
   * The parsed JSON. An incoming frame that does not parse, or is longer than 4096
   * characters, is kept as (the start of) its text.
   */
  message: unknown;
  ackid?: number;
}

export interface SignalingSignIn {
  peerId: string;
  /** The subprotocol echoed in the 101 answer, token redacted. */
  protocol: string;
  reconnect: boolean;
  /** The request path and query, secrets redacted. */
  url: string;
}

interface SignInRequest {
  peerId: string;
  reconnect: boolean;
  protocol: string;
  url: string;
  /** Strings never to be recorded: the configured and the offered token. */
  secrets: string[];
}

interface RetainedMessage {
  text: string;
  message: Record<string, unknown>;
  /** When it last went out on an open socket (ms since the epoch); undefined while it waits for one. */
  sentAt?: number;
  /** Already recorded as unacknowledged too long. */
  overdueReported?: boolean;
}

/** One WebSocket of the client. */
class Connection {
  /** A newer socket of the same session took over; nothing from this one counts any more. */
  replaced = false;
  /** The session ended this client through client.close(). */
  closedByServer = false;

  constructor(
    readonly socket: WebSocket,
    readonly peer: ClientPeer,
    readonly secrets: string[],
  ) {}

  get open(): boolean {
    return this.socket.readyState === WebSocket.OPEN;
  }
}

/** What a client peer needs from its server. */
interface ClientPeerHost {
  sendRetained(peer: ClientPeer, message: Record<string, unknown>): void;
  endPeer(peer: ClientPeer, code: number, reason: string): void;
  readonly serverId: number;
}

class ClientPeer implements SignalingClient {
  /** Closed for good (final close, client.close(), replaced by a new sign-in, server ended the stream, server closed). */
  ended = false;
  /** Why the server ended the stream, when it did (a reconnect after that is refused). */
  endedByServer: string | undefined;
  connection: Connection | undefined;
  highestReceivedAckId = 0;
  /** SHA-1 of the content of recently accepted client ackids (oldest first), to recognise a faithful re-send. */
  readonly receivedContent = new Map<number, string>();
  /** Some ackids were dropped from {@link receivedContent}: below its oldest, a backwards ackid cannot be judged. */
  forgotReceivedContent = false;
  reportedRetentionOverflow = false;

  constructor(
    private readonly host: ClientPeerHost,
    readonly peerId: string,
    readonly clientId: number,
  ) {}

  get open(): boolean {
    return this.connection?.open ?? false;
  }

  sendPeerMessage(message: unknown): void {
    const msg = JSON.stringify(message) as string | undefined;
    if (msg === undefined) throw new TypeError('peer message must be JSON-serializable');
    this.sendMsg(msg);
  }

  sendBye(): void {
    this.sendMsg('BYE');
  }

  sendPeerText(msg: string): void {
    this.sendMsg(msg);
  }

  close(code: number, reason: string): void {
    this.host.endPeer(this, code, reason);
  }

  private sendMsg(msg: string): void {
    this.host.sendRetained(this, { peer_msg: { from: this.host.serverId, to: this.clientId, msg } });
  }
}

export class KitSignalingServer {
  readonly serverId: number;
  /** While true no heartbeat goes out (a fault: the socket falls silent while the media flows). */
  heartbeatsPaused = false;
  /** What client peers call back into, without widening this class's public surface. */
  private readonly peerHost: ClientPeerHost;
  private readonly connections = new Set<Connection>();
  /** Raw TCP sockets, so close() can cut connections still in the HTTP upgrade. */
  private readonly rawSockets = new Set<net.Socket>();
  /** Started once the server listens, so a failed start leaves no timer behind. */
  private heartbeat: NodeJS.Timeout | undefined;
  private readonly startedAt = Date.now();
  private readonly retained = new Map<number, RetainedMessage>();
  /** The live client's latest messages with an ackid, oldest first (the last {@link MAX_SENT_HISTORY}). */
  private sentHistory: RetainedMessage[] = [];
  private readonly envelopeLog: SignalingEnvelopeRecord[] = [];
  private readonly violationLog: string[] = [];
  private peer: ClientPeer | undefined;
  private nextAckId = 1;
  private nextHeartbeat = FIRST_HEARTBEAT;
  private closed = false;
  private listeningPort = 0;
  private reconnectCount = 0;
  private lastAcceptedSignIn: SignalingSignIn | undefined;

  private constructor(
    private readonly httpServer: http.Server,
    private readonly wss: WebSocketServer,
    /** The subprotocol chosen for each request before the upgrade, echoed by ws's handleProtocols. */
    private readonly chosenProtocols: WeakMap<http.IncomingMessage, string>,
    private readonly options: KitSignalingServerOptions,
  ) {
    this.serverId = options.serverId;
    this.peerHost = {
      serverId: options.serverId,
      sendRetained: (peer, body) => this.sendRetained(peer, body),
      endPeer: (peer, code, reason) => this.endPeer(peer, code, reason),
    };
  }

  static async start(options: KitSignalingServerOptions): Promise<KitSignalingServer> {
    const httpServer = http.createServer((_request, response) => {
      response.writeHead(426, { 'content-type': 'text/plain', upgrade: 'websocket' });
      response.end('WebSocket upgrade required: /sign_in?peer_id=peer-<10 digits>&version=2\n');
    });
    const chosenProtocols = new WeakMap<http.IncomingMessage, string>();
    const wss = new WebSocketServer({
      noServer: true,
      maxPayload: MAX_CLIENT_MESSAGE_BYTES,
      handleProtocols: (_offered, request) => chosenProtocols.get(request) ?? false,
    });
    const server = new KitSignalingServer(httpServer, wss, chosenProtocols, options);
    httpServer.on('connection', (socket) => server.admit(socket));
    httpServer.on('upgrade', (request, socket, head) => server.upgrade(request, socket, head));
    httpServer.on('clientError', (_error, socket) => socket.destroy());
    try {
      await new Promise<void>((resolve, reject) => {
        httpServer.once('error', reject);
        httpServer.listen({ host: options.host, port: options.port, exclusive: true }, () => {
          httpServer.off('error', reject);
          resolve();
        });
      });
    } catch (error) {
      await server.close();
      throw error;
    }
    httpServer.on('error', () => {});
    server.listeningPort = (httpServer.address() as net.AddressInfo).port;
    server.heartbeat = setInterval(() => server.heartbeatTick(), options.heartbeatMs);
    server.heartbeat.unref();
    return server;
  }

  /** The listening port; still readable after close(). */
  get port(): number {
    return this.listeningPort;
  }

  /** Reconnect sockets accepted (`reconnect=1` for a live client). */
  get reconnects(): number {
    return this.reconnectCount;
  }

  /** The last accepted sign-in socket, secrets redacted. */
  get lastSignIn(): SignalingSignIn | undefined {
    return this.lastAcceptedSignIn;
  }

  /** Open signaling WebSockets (a replaced socket still closing is not counted). */
  get clientCount(): number {
    let count = 0;
    for (const connection of this.connections) if (connection.open && !connection.replaced) count++;
    return count;
  }

  /**
   * Every text frame in both directions, oldest first (the last {@link MAX_ENVELOPE_LOG}).
   * An incoming frame longer than {@link MAX_LOGGED_TEXT} characters is kept as the start of its text.
   */
  envelopes(): SignalingEnvelopeRecord[] {
    return this.envelopeLog.slice();
  }

  /** What the client did against the protocol, oldest first (the last {@link MAX_VIOLATIONS}). */
  violations(): string[] {
    return this.violationLog.slice();
  }

  /** Ackids of server messages the client has not acknowledged yet. */
  unacknowledged(): number[] {
    return [...this.retained.keys()];
  }

  /**
   * Sends `{"error": error}` (e.g. `peerRemoved`) to the current socket, if one is open.
   * §1.3 shows it without an ackid and the client dispatches ackid-less messages, so
   * it carries none and is not retained.
   */
  sendError(error: string): void {
    const connection = this.peer?.connection;
    if (connection?.open) this.transmit(connection, { error });
  }

  /**
   * The server ended the stream (it sent peerRemoved, BYE or another error, or the app
   * sent exitMessage): the live client is ended. Its open socket stays open so that the
   * client reads what it was told and leaves by itself; nothing is sent to it any more,
   * and a later `reconnect=1` is refused with 409 and recorded as a violation.
   */
  endStream(reason: string): void {
    const peer = this.liveClient();
    if (!peer) return;
    peer.ended = true;
    peer.endedByServer = reason;
    this.options.log?.(`signaling: the server ended the stream of client ${peer.clientId} (${reason})`);
  }

  /**
   * Cuts the client's TCP connection without a close frame, as a network failure
   * would. The client stays live: `onClientClosed` reports `final: false` (code 1006)
   * and a `reconnect=1` socket is accepted.
   */
  dropClient(): void {
    this.peer?.connection?.socket.terminate();
  }

  /**
   * Sends `text` as it is on the live client's socket, without an ackid and not retained: a frame a
   * client must survive (faults). Returns false when no socket is open. The log keeps its start only.
   */
  sendRaw(text: string): boolean {
    const connection = this.liveClient()?.connection;
    if (!connection?.open) return false;
    connection.socket.send(text);
    this.record({ direction: 'out', at: this.now(), message: text.length <= MAX_LOGGED_TEXT ? text : excerpt(text, MAX_LOGGED_TEXT) });
    return true;
  }

  /**
   * Sends the live client's latest messages that carried an ackid again, with the same ackids, as a
   * server that missed the client's acks does (§1.5). Returns how many went out.
   */
  resendSent(): number {
    const connection = this.liveClient()?.connection;
    if (!connection?.open) return 0;
    for (const sent of this.sentHistory) this.transmitText(connection, sent.text, sent.message);
    return this.sentHistory.length;
  }

  /**
   * Sends peer messages to the live client with ackids stamped in order but transmitted last first,
   * so the client sees an ackid lower than one it already has. Returns the ackids, in stamping order.
   */
  sendPeerMessagesReversed(messages: readonly unknown[]): number[] {
    const peer = this.liveClient();
    if (!peer) return [];
    const stamped = messages.map((message) =>
      this.retain(peer, { peer_msg: { from: this.serverId, to: peer.clientId, msg: JSON.stringify(message) } }),
    );
    const connection = peer.connection;
    if (connection?.open) for (const retained of [...stamped].reverse()) if (retained) this.transmitRetained(connection, retained);
    return stamped.flatMap((retained) => (retained ? [retained.message['ackid'] as number] : []));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.heartbeat) clearInterval(this.heartbeat);
    if (this.peer) this.peer.ended = true;
    for (const connection of this.connections) {
      if (connection.socket.readyState === WebSocket.OPEN) connection.socket.close(SignalingCloseCode.serverShutdown, 'session ended');
    }
    const httpClosed = new Promise<void>((resolve) => this.httpServer.close(() => resolve()));
    // Do not wait for close handshakes: the session is gone.
    for (const socket of this.rawSockets) socket.destroy();
    this.rawSockets.clear();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    await httpClosed;
  }

  /** Stamps the next ackid, retains the message until acknowledged, and sends it if a socket is open. */
  private sendRetained(peer: ClientPeer, body: Record<string, unknown>): void {
    const retained = this.retain(peer, body);
    const connection = peer.connection;
    if (retained && connection?.open) this.transmitRetained(connection, retained);
  }

  /** Stamps the next ackid and retains the message until acknowledged; undefined for a client that is gone. */
  private retain(peer: ClientPeer, body: Record<string, unknown>): RetainedMessage | undefined {
    if (peer.ended || peer !== this.peer || this.closed) {
      this.options.log?.(`signaling: message for an ended client ${peer.clientId} dropped`);
      return undefined;
    }
    const message = { ...body, ackid: this.nextAckId++ };
    const retained: RetainedMessage = { text: JSON.stringify(message), message };
    this.retained.set(message.ackid, retained);
    this.sentHistory.push(retained);
    if (this.sentHistory.length > MAX_SENT_HISTORY) this.sentHistory.shift();
    if (this.retained.size > MAX_RETAINED_MESSAGES) {
      // Maps iterate in insertion order: forget the oldest.
      this.retained.delete(this.retained.keys().next().value!);
      if (!peer.reportedRetentionOverflow) {
        peer.reportedRetentionOverflow = true;
        this.violation(`client left more than ${MAX_RETAINED_MESSAGES} server messages unacknowledged; it must send {"ack": n}`);
      }
    }
    return retained;
  }

  /** Sends a retained message and starts its acknowledgement deadline. */
  private transmitRetained(connection: Connection, retained: RetainedMessage): void {
    if (!connection.open) return;
    retained.sentAt = Date.now();
    this.transmitText(connection, retained.text, retained.message);
  }

  private endPeer(peer: ClientPeer, code: number, reason: string): void {
    peer.ended = true;
    const connection = peer.connection;
    if (!connection) return;
    connection.closedByServer = true;
    const state = connection.socket.readyState;
    if (state === WebSocket.OPEN || state === WebSocket.CONNECTING) connection.socket.close(code, reason);
  }

  private admit(socket: net.Socket): void {
    const allowed = this.options.allowedRemoteAddress;
    if (this.closed || (allowed !== undefined && socket.remoteAddress !== allowed)) {
      // Behaves like an unreachable in-cluster port: the client gets a reset, not a byte.
      socket.resetAndDestroy();
      return;
    }
    this.rawSockets.add(socket);
    socket.on('close', () => this.rawSockets.delete(socket));
    socket.on('error', () => {});
  }

  private upgrade(request: http.IncomingMessage, socket: stream.Duplex, head: Buffer): void {
    if (this.closed) {
      socket.destroy();
      return;
    }
    const signIn = this.checkSignIn(request);
    if ('status' in signIn) {
      this.violation(`sign-in refused with HTTP ${signIn.status}: ${signIn.reason}`);
      refuseUpgrade(socket, signIn.status, signIn.reason);
      return;
    }
    this.chosenProtocols.set(request, signIn.protocol);
    this.wss.handleUpgrade(request, socket, head, (ws) => this.accept(ws, signIn));
  }

  /** The accepted sign-in, or why it is refused (the reason names the redacted URL and subprotocol). */
  private checkSignIn(request: http.IncomingMessage): SignInRequest | { status: number; reason: string } {
    const { sessionId, accessToken } = this.options;
    const offered = (request.headers['sec-websocket-protocol'] ?? '')
      .split(',')
      .map((protocol) => protocol.trim())
      .filter((protocol) => protocol !== '');
    const secrets = accessToken ? [accessToken] : [];
    for (const protocol of offered) {
      const token = bearerToken(protocol);
      if (token) secrets.push(token);
    }
    const url = redactUrl(request.url ?? '', secrets);
    const shownProtocols = offered.length === 0 ? 'none' : offered.map((protocol) => `"${redactProtocol(protocol, secrets)}"`).join(', ');
    const refuse = (status: number, why: string): { status: number; reason: string } => ({
      status,
      reason: `${why} (url ${url}, subprotocol ${shownProtocols})`,
    });

    const urlProblem = signInProblem(request.url ?? '');
    if (urlProblem) return refuse(urlProblem.status, urlProblem.reason);

    const plain = SUBPROTOCOL_PREFIX + sessionId;
    const sessionProtocols = offered.filter((protocol) => protocol === plain || protocol.startsWith(plain + BEARER_INFIX));
    if (sessionProtocols.length === 0) {
      const why = offered.some((protocol) => protocol.startsWith(SUBPROTOCOL_PREFIX))
        ? `subprotocol names another session; expected "${plain}"`
        : `subprotocol "${plain}" missing`;
      return refuse(400, why);
    }
    let protocol = sessionProtocols[0];
    if (accessToken !== undefined) {
      const withToken = sessionProtocols.find((candidate) => candidate.startsWith(plain + BEARER_INFIX));
      if (withToken === undefined) return refuse(401, `access token required: subprotocol "${plain}${BEARER_INFIX}<token>"`);
      if (withToken.slice((plain + BEARER_INFIX).length) !== accessToken) return refuse(401, 'access token does not match');
      protocol = withToken;
    }

    const query = new URL(request.url ?? '', 'http://signaling').searchParams;
    const peerId = query.get('peer_id') ?? '';
    const reconnect = query.get('reconnect') === '1';
    if (reconnect) {
      // Signing the client in afresh would hide the client's bug: nothing is there to reconnect to.
      const endedBy = this.peer?.endedByServer;
      if (endedBy !== undefined) return refuse(409, `reconnect after the server ended the stream (${endedBy}); the stream is over`);
      const live = this.liveClient();
      if (!live) return refuse(409, 'reconnect=1 but this session has no live client (never signed in, or it ended)');
      if (live.peerId !== peerId) {
        return refuse(
          409,
          `reconnect=1 as ${peerId}, but the live client signed in as ${live.peerId}; a reconnect reuses its peer name (§1.6)`,
        );
      }
    }
    return { peerId, reconnect, protocol, url, secrets };
  }

  private liveClient(): ClientPeer | undefined {
    return this.peer && !this.peer.ended ? this.peer : undefined;
  }

  private accept(ws: WebSocket, signIn: SignInRequest): void {
    ws.on('error', () => {});
    if (this.closed) {
      ws.terminate();
      return;
    }
    let peer = signIn.reconnect ? this.liveClient() : undefined;
    if (signIn.reconnect && peer?.peerId !== signIn.peerId) {
      // The client ended, or another one signed in, between the check and the handshake.
      this.violation(`reconnect socket for an ended client (url ${signIn.url})`);
      ws.close(SignalingCloseCode.policyViolation, 'no live client to reconnect');
      return;
    }
    const previous = this.peer?.connection;
    if (!peer) {
      // A new sign-in starts a new client peer; the previous one and its messages are gone.
      if (this.peer) this.peer.ended = true;
      this.retained.clear();
      this.sentHistory = [];
      peer = new ClientPeer(this.peerHost, signIn.peerId, this.newClientId());
      this.peer = peer;
    } else {
      this.reconnectCount++;
    }
    if (previous) {
      previous.replaced = true;
      if (previous.socket.readyState === WebSocket.OPEN) previous.socket.close(SignalingCloseCode.replaced, 'replaced');
    }
    const connection = new Connection(ws, peer, signIn.secrets);
    peer.connection = connection;
    this.connections.add(connection);
    this.lastAcceptedSignIn = {
      peerId: signIn.peerId,
      protocol: redactProtocol(signIn.protocol, signIn.secrets),
      reconnect: signIn.reconnect,
      url: signIn.url,
    };
    this.options.log?.(`signaling: ${signIn.reconnect ? 'reconnect' : 'sign-in'} ${signIn.url}`);

    ws.on('message', (data, isBinary) => {
      const bytes = rawDataToBuffer(data);
      if (isBinary) this.receiveBinary(connection, bytes);
      else this.receiveText(connection, bytes.toString('utf8'));
    });
    ws.on('error', (error) => {
      if (!connection.replaced) this.violation(`client frame rejected: ${error.message}`);
    });
    ws.on('close', (code) => this.socketClosed(connection, code));

    if (signIn.reconnect) {
      for (const retained of this.retained.values()) this.transmitRetained(connection, retained);
    } else {
      this.sendRetained(peer, { peer_info: { id: peer.clientId, name: peer.peerId } });
      this.sendRetained(peer, { peer_info: { id: this.serverId, name: this.options.serverName } });
    }
    this.notify(() => this.options.onClient(peer, { reconnect: signIn.reconnect }));
  }

  /** A random client id, never the server's nor the previous client's. */
  private newClientId(): number {
    let id: number;
    do id = randomInt(1, CLIENT_ID_LIMIT);
    while (id === this.serverId || id === this.peer?.clientId);
    return id;
  }

  private socketClosed(connection: Connection, code: number): void {
    this.connections.delete(connection);
    const peer = connection.peer;
    if (peer.connection === connection) peer.connection = undefined;
    if (connection.replaced || connection.closedByServer || this.closed) return;
    const final = FINAL_CLOSE_CODES.has(code);
    if (final) peer.ended = true;
    this.options.log?.(`signaling: client ${peer.clientId} socket closed with ${code}${final ? '' : ', may reconnect'}`);
    this.notify(() => this.options.onClientClosed(peer, { final, code }));
  }

  private receiveText(connection: Connection, text: string): void {
    const parsed = parseJson(text);
    // The log and the violations get a copy with secrets hidden; the session gets the frame as sent.
    const shown = redactText(text, connection.secrets);
    const small = shown.length <= MAX_LOGGED_TEXT;
    const logged = small ? (shown === text ? parsed : parseJson(shown)) : undefined;
    const ackid = isRecord(parsed) && typeof parsed['ackid'] === 'number' ? parsed['ackid'] : undefined;
    this.record({
      direction: 'in',
      at: this.now(),
      message: logged ?? excerpt(shown, MAX_LOGGED_TEXT),
      ...(ackid === undefined ? {} : { ackid }),
    });
    if (connection.replaced || this.closed) return;
    if (connection.peer.ended) {
      // A client the server ended may still acknowledge what it was told last (a BYE has an ackid).
      if (connection.peer === this.peer && isRecord(parsed) && 'ack' in parsed) this.receiveAck(parsed);
      return;
    }
    if (!isRecord(parsed)) {
      this.violation(`client text frame is not a JSON object: ${excerpt(shown)}`, connection.secrets);
      return;
    }
    if ('ack' in parsed) this.receiveAck(parsed);
    else if ('peer_msg' in parsed) this.receiveEnvelope(connection, parsed);
    else this.violation(`unexpected client message ${describeKeys(parsed)}; a client sends only peer_msg envelopes and {"ack": n}`);
  }

  private receiveAck(message: Record<string, unknown>): void {
    const ack = message['ack'];
    if (Object.keys(message).length !== 1 || !isNonNegativeInteger(ack)) {
      this.violation(`malformed ack ${describeKeys(message)}: expected exactly {"ack": <integer>}`);
      return;
    }
    if (ack >= this.nextAckId) this.violation(`ack ${ack} for a message never sent (highest ackid sent ${this.nextAckId - 1})`);
    for (const ackid of this.retained.keys()) if (ackid <= ack) this.retained.delete(ackid);
  }

  private receiveEnvelope(connection: Connection, envelope: Record<string, unknown>): void {
    const peer = connection.peer;
    const checked = checkEnvelope(envelope, peer.clientId, this.serverId);
    if (typeof checked === 'string') {
      this.violation(`client envelope not accepted: ${checked}`, connection.secrets);
      return;
    }
    if (!this.acceptClientAckId(connection, checked.ackid, `msg:${checked.msg}`)) return;
    this.notify(() => this.options.onPeerMessage(peer, checked.message));
  }

  /** A binary frame: the stats upload of §1.7, acknowledged like an envelope and otherwise ignored. */
  private receiveBinary(connection: Connection, bytes: Buffer): void {
    if (connection.replaced || connection.peer.ended) return;
    const checked = checkStatsFrame(bytes, connection.peer.clientId, this.serverId);
    if (typeof checked === 'string') {
      this.violation(`client binary frame not accepted: ${checked}`, connection.secrets);
      return;
    }
    this.acceptClientAckId(connection, checked, 'stats');
  }

  /**
   * Applies the client ackid rules (§1.4): increasing, gaps allowed; an ackid already
   * seen is a re-send, acknowledged again but not delivered again. Returns whether the
   * message is new and must be delivered.
   */
  private acceptClientAckId(connection: Connection, ackid: number, content: string): boolean {
    const peer = connection.peer;
    // A digest, not the content: remembering 1024 envelopes of 64 kB would be 64 MB.
    const digest = createHash('sha1').update(content).digest('base64');
    if (ackid <= peer.highestReceivedAckId) {
      const earlier = peer.receivedContent.get(ackid);
      if (earlier !== undefined && earlier !== digest) {
        this.violation(`client reused ackid ${ackid} for a different message; its ackid counter must keep counting across sockets`);
        return false;
      }
      const oldestRemembered = peer.receivedContent.keys().next().value;
      const judgeable = !peer.forgotReceivedContent || (oldestRemembered !== undefined && ackid > oldestRemembered);
      if (earlier === undefined && judgeable) {
        this.violation(
          `client ackid ${ackid} goes backwards (highest received ${peer.highestReceivedAckId}) for a message never received; ` +
            'ackids only increase, and only a re-send repeats an earlier one (§1.4)',
        );
        return false;
      }
      this.transmit(connection, { ack: peer.highestReceivedAckId });
      return false;
    }
    peer.highestReceivedAckId = ackid;
    peer.receivedContent.set(ackid, digest);
    if (peer.receivedContent.size > MAX_REMEMBERED_CLIENT_ACKIDS) {
      peer.receivedContent.delete(peer.receivedContent.keys().next().value!);
      peer.forgotReceivedContent = true;
    }
    this.transmit(connection, { ack: ackid });
    return true;
  }

  private heartbeatTick(): void {
    const connection = this.liveClient()?.connection;
    if (!connection?.open) return;
    if (!this.heartbeatsPaused) this.transmit(connection, { hb: this.nextHeartbeat++ });
    this.checkAcknowledgements();
  }

  /** Records server messages left unacknowledged past the deadline while a socket was open (once each). */
  private checkAcknowledgements(): void {
    const deadlineMs = ACK_DEADLINE_HEARTBEATS * this.options.heartbeatMs;
    const now = Date.now();
    const overdue: number[] = [];
    for (const [ackid, retained] of this.retained) {
      if (retained.sentAt === undefined || retained.overdueReported || now - retained.sentAt <= deadlineMs) continue;
      retained.overdueReported = true;
      overdue.push(ackid);
    }
    if (overdue.length === 0) return;
    this.violation(
      `server message${overdue.length === 1 ? '' : 's'} with ackid ${overdue.join(', ')} unacknowledged for more than ` +
        `${deadlineMs} ms (two heartbeat periods); a client acknowledges every ackid it receives with {"ack": n} (§1.3)`,
    );
  }

  private transmit(connection: Connection, message: Record<string, unknown>): void {
    this.transmitText(connection, JSON.stringify(message), message);
  }

  private transmitText(connection: Connection, text: string, message: Record<string, unknown>): void {
    if (!connection.open) return;
    connection.socket.send(text);
    const ackid = message['ackid'];
    this.record({ direction: 'out', at: this.now(), message, ...(typeof ackid === 'number' ? { ackid } : {}) });
  }

  private record(entry: SignalingEnvelopeRecord): void {
    this.envelopeLog.push(entry);
    if (this.envelopeLog.length > MAX_ENVELOPE_LOG) this.envelopeLog.splice(0, this.envelopeLog.length - MAX_ENVELOPE_LOG);
  }

  /** Records what the client did wrong; `secrets` are hidden along with the configured token. */
  private violation(rawText: string, secrets: readonly string[] = []): void {
    const accessToken = this.options.accessToken;
    const text = redactText(rawText, accessToken === undefined ? secrets : [...secrets, accessToken]);
    this.violationLog.push(text);
    if (this.violationLog.length > MAX_VIOLATIONS) this.violationLog.splice(0, this.violationLog.length - MAX_VIOLATIONS);
    this.options.log?.(`signaling violation: ${text}`);
  }

  /** Runs a session callback; a throwing callback must not take the server down. */
  private notify(callback: () => void): void {
    try {
      callback();
    } catch (error) {
      this.options.log?.(`signaling: session callback failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  private now(): number {
    return Date.now() - this.startedAt;
  }
}

/** Why a sign-in path and query are refused (HTTP status and reason), or undefined when acceptable. */
export function signInProblem(url: string): { status: number; reason: string } | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url, 'http://signaling');
  } catch {
    return { status: 400, reason: 'malformed sign-in URL' };
  }
  // A deployment may serve signaling under a path prefix (§1.1 signalingpath).
  if (!parsed.pathname.endsWith('/sign_in')) {
    return { status: 404, reason: `unknown path ${parsed.pathname.slice(0, 60)}; expected .../sign_in` };
  }
  const peerId = parsed.searchParams.get('peer_id');
  if (peerId === null || !PEER_ID_PATTERN.test(peerId)) {
    return { status: 400, reason: 'peer_id must be peer-<10 digits>' };
  }
  const version = parsed.searchParams.get('version');
  if (version !== SUPPORTED_VERSION) {
    return {
      status: 400,
      reason: version === null ? 'version missing; expected version=2' : `unsupported version ${version.slice(0, 20)}; expected 2`,
    };
  }
  const reconnect = parsed.searchParams.get('reconnect');
  if (reconnect !== null && reconnect !== '1') {
    return { status: 400, reason: `reconnect must be 1 when present, got ${reconnect.slice(0, 20)}` };
  }
  return undefined;
}

/** The accepted envelope, or what is wrong with it. */
function checkEnvelope(
  envelope: Record<string, unknown>,
  clientId: number,
  serverId: number,
): { ackid: number; msg: string; message: Record<string, unknown> } | string {
  const ackid = envelope['ackid'];
  const label = isPositiveInteger(ackid) ? `envelope ackid ${ackid}` : 'envelope';
  const keys = Object.keys(envelope).sort().join(',');
  if (keys !== 'ackid,peer_msg') return `${label} ${describeKeys(envelope)}; expected exactly {"peer_msg": {...}, "ackid": k}`;
  if (!isPositiveInteger(ackid)) return `${label}: ackid ${JSON.stringify(ackid)} is not a positive integer`;
  const peerMsg = envelope['peer_msg'];
  if (!isRecord(peerMsg)) return `${label}: peer_msg is not an object`;
  if (Object.keys(peerMsg).sort().join(',') !== 'from,msg,to') return `${label}: peer_msg ${describeKeys(peerMsg)}; expected from, to, msg`;
  if (peerMsg['from'] !== clientId)
    return `${label}: from is ${JSON.stringify(peerMsg['from'])}, expected ${clientId} (the id in the client's peer_info)`;
  if (peerMsg['to'] !== serverId) return `${label}: to is ${JSON.stringify(peerMsg['to'])}, expected ${serverId} (the server peer's id)`;
  const msg = peerMsg['msg'];
  if (typeof msg !== 'string') return `${label}: msg must be a JSON string, got ${typeof msg}`;
  const message = parseJson(msg);
  if (!isRecord(message)) return `${label}: msg is not a JSON object: ${excerpt(msg)}`;
  return { ackid, msg, message };
}

/**
 * The ackid of a stats upload frame (u16 BE header length, JSON header
 * `{"stats":{"from":<client id>,"to":<server id>},"ackid":n}`, tagged blocks), or what is wrong.
 */
function checkStatsFrame(bytes: Buffer, clientId: number, serverId: number): number | string {
  if (bytes.length < 2) return `${bytes.length} bytes, too short for a stats header length`;
  const headerLength = bytes.readUInt16BE(0);
  if (2 + headerLength > bytes.length) return `stats header length ${headerLength} exceeds the ${bytes.length - 2} bytes that follow`;
  const header = parseJson(bytes.subarray(2, 2 + headerLength).toString('utf8'));
  if (!isRecord(header)) return 'stats header is not a JSON object';
  const stats = header['stats'];
  const ackid = header['ackid'];
  if (!isRecord(stats)) return `stats header ${describeKeys(header)}; expected {"stats": {...}, "ackid": n}`;
  if (!isPositiveInteger(ackid)) return `stats header ackid ${JSON.stringify(ackid)} is not a positive integer`;
  if (stats['from'] !== clientId) return `stats ackid ${ackid}: from is ${JSON.stringify(stats['from'])}, expected ${clientId}`;
  if (stats['to'] !== serverId) return `stats ackid ${ackid}: to is ${JSON.stringify(stats['to'])}, expected ${serverId}`;
  return ackid;
}

/** Answers an upgrade request with an HTTP error; the browser sees the socket fail. */
function refuseUpgrade(socket: stream.Duplex, status: number, reason: string): void {
  const body = `${reason}\n`;
  const authenticate = status === 401 ? 'WWW-Authenticate: Bearer\r\n' : '';
  socket.once('finish', () => socket.destroy());
  socket.on('error', () => {});
  socket.end(
    `HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? 'Error'}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n` +
      `${authenticate}Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

/** The token of a bearer-form subprotocol, if it is one. */
function bearerToken(protocol: string): string | undefined {
  const at = protocol.indexOf(BEARER_INFIX);
  const token = at < 0 ? '' : protocol.slice(at + BEARER_INFIX.length);
  return token === '' ? undefined : token;
}

/** Hides everything after `Authorization` (whatever its spelling) and any known secret. */
function redactProtocol(protocol: string, secrets: readonly string[]): string {
  return redactText(protocol, secrets).replace(/(authorization(?:\.bearer-)?)[\s\S]*$/i, `$1${REDACTED}`);
}

/** Hides known secrets and the values of query parameters whose names suggest credentials. */
function redactUrl(url: string, secrets: readonly string[]): string {
  return redactText(url, secrets).replace(/([?&][^=&]*(?:token|auth|key|secret|password)[^=&]*=)[^&]*/gi, `$1${REDACTED}`);
}

function redactText(text: string, secrets: readonly string[]): string {
  let redacted = text;
  for (const secret of secrets) if (secret !== '') redacted = redacted.split(secret).join(REDACTED);
  return redacted;
}

function describeKeys(value: Record<string, unknown>): string {
  const keys = Object.keys(value);
  return keys.length === 0
    ? 'with no keys'
    : `with keys ${keys
        .slice(0, 8)
        .map((key) => excerpt(key, 40))
        .join(', ')}`;
}

function excerpt(text: string, limit = 120): string {
  return text.length > limit ? `${text.slice(0, limit)}…` : text;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function rawDataToBuffer(data: WebSocket.RawData): Buffer {
  if (Array.isArray(data)) return Buffer.concat(data);
  if (data instanceof ArrayBuffer) return Buffer.from(data);
  return data;
}

function isPositiveInteger(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) > 0;
}

function isNonNegativeInteger(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
