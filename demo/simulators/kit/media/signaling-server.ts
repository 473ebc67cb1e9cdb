/**
 * Server side of Kit's WebRTC signaling envelope over WebSocket.
 *
 * A client connects to `/sign_in?peer_id=peer-<10 digits>&version=2`. Unprompted,
 * the server introduces the client (`peer_info` with the client's numeric id and
 * its peer_id as name), then itself (`peer_info`, name `OneSdkServer-...`); the
 * session then sends its offer as a `peer_msg`. Every server message carries an
 * incrementing `ackid` that the client acknowledges with `{"ack": <ackid>}`;
 * `{"hb": n}` messages are heartbeats. Client messages for the server arrive as
 * `{"peer_msg": {"to": <server id>, "msg": "<JSON string>"}}`.
 */
import http from 'node:http';
import type net from 'node:net';
import { WebSocketServer, WebSocket } from 'ws';

/** Close codes sent to clients (application range 4000-4999, plus standard ones). */
export const SignalingCloseCode = {
  badRequest: 4400,
  notFound: 4404,
  replaced: 4409,
  serverShutdown: 1001,
  internalError: 1011,
} as const;

const PEER_ID_PATTERN = /^peer-\d{10}$/;
const SUPPORTED_VERSION = '2';
/** Largest client message accepted; SDP answers are a few kB. */
const MAX_CLIENT_MESSAGE_BYTES = 256 * 1024;
/** Outstanding ackids remembered per client; a client that never acks must not grow memory. */
const MAX_TRACKED_ACKIDS = 256;

export interface SignalingClient {
  /** The client's peer_id from the sign-in URL. */
  readonly peerId: string;
  /** Numeric id the server assigned and announced in the client's `peer_info`. */
  readonly clientId: number;
  readonly open: boolean;
  /** Ackids sent and not yet acknowledged. */
  readonly unacknowledged: ReadonlySet<number>;
  /** Sends `{"peer_msg": {"from": <server id>, "msg": JSON.stringify(message)}}`. */
  sendPeerMessage(message: unknown): void;
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
  /** Called after the two `peer_info` messages went out. */
  onClient: (client: SignalingClient) => void;
  /** A parsed `peer_msg.msg` from a client. */
  onPeerMessage: (client: SignalingClient, message: Record<string, unknown>) => void;
  /** `droppedByServer` is true when the server cut the connection (fault, shutdown, replacement). */
  onClientClosed: (client: SignalingClient, droppedByServer: boolean) => void;
}

class SignalingConnection implements SignalingClient {
  readonly unacknowledged = new Set<number>();
  droppedByServer = false;
  private nextAckId = 1;
  private heartbeatCount = 0;

  constructor(
    private readonly socket: WebSocket,
    readonly peerId: string,
    readonly clientId: number,
    private readonly serverId: number,
  ) {}

  get open(): boolean {
    return this.socket.readyState === WebSocket.OPEN;
  }

  /** Sends a server message, stamping it with the next ackid. */
  send(message: Record<string, unknown>): void {
    if (!this.open) return;
    const ackid = this.nextAckId++;
    this.unacknowledged.add(ackid);
    if (this.unacknowledged.size > MAX_TRACKED_ACKIDS) {
      // Sets iterate in insertion order: forget the oldest.
      this.unacknowledged.delete(this.unacknowledged.values().next().value!);
    }
    this.socket.send(JSON.stringify({ ...message, ackid }));
  }

  sendPeerMessage(message: unknown): void {
    this.send({ peer_msg: { from: this.serverId, msg: JSON.stringify(message) } });
  }

  sendHeartbeat(): void {
    this.send({ hb: ++this.heartbeatCount });
  }

  acknowledge(ackid: number): void {
    this.unacknowledged.delete(ackid);
  }

  /** Acknowledges a client message that asked for it (the envelope is symmetric). */
  sendAck(ackid: number): void {
    if (this.open) this.socket.send(JSON.stringify({ ack: ackid }));
  }

  close(code: number, reason: string): void {
    this.droppedByServer = true;
    if (this.socket.readyState === WebSocket.OPEN || this.socket.readyState === WebSocket.CONNECTING) {
      this.socket.close(code, reason);
    }
  }

  /** Cuts the TCP connection without a close handshake. */
  terminate(): void {
    this.droppedByServer = true;
    this.socket.terminate();
  }
}

export class KitSignalingServer {
  private readonly connections = new Set<SignalingConnection>();
  /** Raw TCP sockets, so close() can cut connections still in the HTTP upgrade. */
  private readonly rawSockets = new Set<net.Socket>();
  private readonly heartbeat: NodeJS.Timeout;
  private nextClientId = 1;
  private closed = false;

  private constructor(
    private readonly httpServer: http.Server,
    private readonly wss: WebSocketServer,
    private readonly options: KitSignalingServerOptions,
  ) {
    this.heartbeat = setInterval(() => {
      for (const connection of this.connections) connection.sendHeartbeat();
    }, options.heartbeatMs);
    this.heartbeat.unref();
  }

  static async start(options: KitSignalingServerOptions): Promise<KitSignalingServer> {
    const httpServer = http.createServer((_request, response) => {
      response.writeHead(426, { 'content-type': 'text/plain', upgrade: 'websocket' });
      response.end('WebSocket upgrade required: /sign_in?peer_id=peer-<10 digits>&version=2\n');
    });
    const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_CLIENT_MESSAGE_BYTES });
    const server = new KitSignalingServer(httpServer, wss, options);
    httpServer.on('connection', (socket) => server.admit(socket));
    httpServer.on('upgrade', (request, socket, head) => {
      wss.handleUpgrade(request, socket, head, (ws) => server.accept(ws, request));
    });
    httpServer.on('clientError', (_error, socket) => socket.destroy());
    await new Promise<void>((resolve, reject) => {
      httpServer.once('error', reject);
      httpServer.listen({ host: options.host, port: options.port, exclusive: true }, () => {
        httpServer.off('error', reject);
        resolve();
      });
    });
    httpServer.on('error', () => {});
    return server;
  }

  get port(): number {
    return (this.httpServer.address() as net.AddressInfo).port;
  }

  /** Open signaling WebSockets. */
  get clientCount(): number {
    let count = 0;
    for (const connection of this.connections) if (connection.open) count++;
    return count;
  }

  /** Cuts every client connection abruptly (no close frame), as a network failure would. */
  dropAll(): void {
    for (const connection of this.connections) connection.terminate();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.heartbeat);
    for (const connection of this.connections) connection.close(SignalingCloseCode.serverShutdown, 'session ended');
    const httpClosed = new Promise<void>((resolve) => this.httpServer.close(() => resolve()));
    // Do not wait for close handshakes: the session is gone.
    for (const socket of this.rawSockets) socket.destroy();
    this.rawSockets.clear();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    await httpClosed;
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

  private accept(ws: WebSocket, request: http.IncomingMessage): void {
    ws.on('error', () => {});
    const problem = signInProblem(request.url ?? '');
    if (problem) {
      ws.close(problem.code, problem.reason);
      return;
    }
    const peerId = new URL(request.url ?? '', 'http://signaling').searchParams.get('peer_id') ?? '';
    const connection = new SignalingConnection(ws, peerId, this.nextClientId++, this.options.serverId);
    this.connections.add(connection);

    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      this.receive(connection, rawDataToString(data));
    });
    ws.on('close', () => {
      this.connections.delete(connection);
      this.options.onClientClosed(connection, connection.droppedByServer);
    });

    connection.send({ peer_info: { id: connection.clientId, name: peerId } });
    connection.send({ peer_info: { id: this.options.serverId, name: this.options.serverName } });
    this.options.onClient(connection);
  }

  private receive(connection: SignalingConnection, text: string): void {
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch {
      return; // Malformed input is ignored, as a server would rather than die.
    }
    if (!isRecord(message)) return;
    if (typeof message['ack'] === 'number') connection.acknowledge(message['ack']);
    if (typeof message['ackid'] === 'number') connection.sendAck(message['ackid']);
    const peerMessage = message['peer_msg'];
    if (!isRecord(peerMessage)) return;
    const to = peerMessage['to'];
    if (to !== undefined && Number(to) !== this.options.serverId) return;
    const body = peerMessage['msg'];
    let parsed: unknown = body;
    if (typeof body === 'string') {
      try {
        parsed = JSON.parse(body);
      } catch {
        return;
      }
    }
    if (isRecord(parsed)) this.options.onPeerMessage(connection, parsed);
  }
}

/** Why a sign-in URL is refused, or undefined when it is acceptable. */
export function signInProblem(url: string): { code: number; reason: string } | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url, 'http://signaling');
  } catch {
    return { code: SignalingCloseCode.badRequest, reason: 'malformed sign-in URL' };
  }
  if (parsed.pathname !== '/sign_in') {
    return { code: SignalingCloseCode.notFound, reason: `unknown path ${parsed.pathname.slice(0, 40)}; expected /sign_in` };
  }
  const peerId = parsed.searchParams.get('peer_id');
  if (peerId === null || !PEER_ID_PATTERN.test(peerId)) {
    return { code: SignalingCloseCode.badRequest, reason: 'peer_id must be peer-<10 digits>' };
  }
  const version = parsed.searchParams.get('version');
  if (version !== null && version !== SUPPORTED_VERSION) {
    return { code: SignalingCloseCode.badRequest, reason: `unsupported version ${version.slice(0, 20)}; expected 2` };
  }
  return undefined;
}

function rawDataToString(data: WebSocket.RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString('utf8');
  return data.toString('utf8');
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
