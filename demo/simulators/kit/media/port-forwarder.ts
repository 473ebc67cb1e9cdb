/**
 * TCP and UDP port forwarding in the manner of a cluster load balancer: a
 * session's route advertises *source* ports, and the balancer maps each to the
 * *destination* port where the Kit pod listens.
 *
 * The upstream side of every forwarded connection is bound to a dedicated
 * loopback address (127.0.0.2 by default; Linux routes all of 127/8 to the
 * loopback interface). The servers behind the forwarders accept traffic only
 * from that address, so the source ports are the only way in, as in a cluster
 * where the destination ports are not reachable from outside.
 */
import dgram from 'node:dgram';
import net from 'node:net';

export interface ForwarderOptions {
  /** Address the source port is bound to. */
  listenHost: string;
  /** Source port; 0 picks a free one. */
  listenPort?: number;
  targetHost: string;
  /** Destination port. */
  targetPort: number;
  /** Local address the forwarder uses to reach the destination. */
  upstreamLocalAddress: string;
}

export class TcpForwarder {
  /**
   * When true every new connection is reset before a byte is read, as a port nobody listens on
   * looks to a browser; connections already forwarded go on.
   */
  refusing = false;
  private readonly sockets = new Set<net.Socket>();
  private closed = false;

  private constructor(
    private readonly server: net.Server,
    private readonly options: ForwarderOptions,
  ) {
    server.on('connection', (client) => this.forward(client));
  }

  static async start(options: ForwarderOptions): Promise<TcpForwarder> {
    const server = net.createServer();
    const forwarder = new TcpForwarder(server, options);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host: options.listenHost, port: options.listenPort ?? 0, exclusive: true }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    // Accept errors after listening (e.g. EMFILE) must not crash the process.
    server.on('error', () => {});
    return forwarder;
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  /** Open client-side plus upstream sockets. */
  get socketCount(): number {
    return this.sockets.size;
  }

  private forward(client: net.Socket): void {
    if (this.closed) {
      client.destroy();
      return;
    }
    if (this.refusing) {
      client.on('error', () => {});
      client.resetAndDestroy();
      return;
    }
    const upstream = net.connect({
      host: this.options.targetHost,
      port: this.options.targetPort,
      localAddress: this.options.upstreamLocalAddress,
    });
    for (const socket of [client, upstream]) {
      this.sockets.add(socket);
      socket.setNoDelay(true);
      socket.on('error', () => {});
    }
    const tearDown = () => {
      // A reset on one side becomes a reset on the other, a clean end an end.
      client.destroy();
      upstream.destroy();
      this.sockets.delete(client);
      this.sockets.delete(upstream);
    };
    client.on('close', tearDown);
    upstream.on('close', tearDown);
    client.pipe(upstream);
    upstream.pipe(client);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const serverClosed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    await serverClosed;
  }
}

export interface UdpForwarderOptions extends ForwarderOptions {
  /** A client mapping with no traffic for this long is dropped. */
  idleTimeoutMs?: number;
  /** Upper bound on concurrent client mappings (each holds one upstream socket). */
  maxClients?: number;
}

interface UdpClientMapping {
  upstream: dgram.Socket;
  ready: boolean;
  /** Datagrams that arrived while the upstream socket was still binding. */
  pending: Buffer[];
  lastActivity: number;
}

const MAX_PENDING_DATAGRAMS = 64;

/**
 * Relays each client (by address and port) through its own upstream socket, so
 * the destination sees one stable address per client and replies find their way back.
 */
export class UdpForwarder {
  /** When true every datagram is dropped in both directions (simulates ICE being refused). */
  blocked = false;
  private readonly clients = new Map<string, UdpClientMapping>();
  private readonly idleSweep: NodeJS.Timeout;
  private readonly idleTimeoutMs: number;
  private readonly maxClients: number;
  private closed = false;

  private constructor(
    private readonly downstream: dgram.Socket,
    private readonly options: UdpForwarderOptions,
  ) {
    this.idleTimeoutMs = options.idleTimeoutMs ?? 60_000;
    this.maxClients = options.maxClients ?? 32;
    downstream.on('message', (data, remote) => this.fromClient(data, remote));
    downstream.on('error', () => {});
    this.idleSweep = setInterval(() => this.dropIdleClients(), Math.max(1000, this.idleTimeoutMs / 2));
    this.idleSweep.unref();
  }

  static async start(options: UdpForwarderOptions): Promise<UdpForwarder> {
    const downstream = dgram.createSocket({ type: 'udp4', reuseAddr: false });
    await bindUdp(downstream, options.listenPort ?? 0, options.listenHost);
    return new UdpForwarder(downstream, options);
  }

  get port(): number {
    return this.downstream.address().port;
  }

  get clientCount(): number {
    return this.clients.size;
  }

  private fromClient(data: Buffer, remote: dgram.RemoteInfo): void {
    if (this.blocked || this.closed) return;
    const key = `${remote.address}:${remote.port}`;
    let mapping = this.clients.get(key);
    if (!mapping) {
      if (this.clients.size >= this.maxClients) return;
      mapping = this.openMapping(key, remote);
    }
    mapping.lastActivity = Date.now();
    if (mapping.ready) {
      mapping.upstream.send(data, this.options.targetPort, this.options.targetHost);
    } else if (mapping.pending.length < MAX_PENDING_DATAGRAMS) {
      mapping.pending.push(data);
    }
  }

  private openMapping(key: string, client: dgram.RemoteInfo): UdpClientMapping {
    const upstream = dgram.createSocket('udp4');
    const mapping: UdpClientMapping = { upstream, ready: false, pending: [], lastActivity: Date.now() };
    this.clients.set(key, mapping);
    upstream.on('error', () => this.closeMapping(key));
    upstream.on('message', (data, from) => {
      if (this.blocked || this.closed) return;
      // Only the destination may answer through this mapping.
      if (from.address !== this.options.targetHost || from.port !== this.options.targetPort) return;
      mapping.lastActivity = Date.now();
      this.downstream.send(data, client.port, client.address);
    });
    // Bind explicitly: an implicit bind on first send would use 0.0.0.0.
    upstream.bind({ port: 0, address: this.options.upstreamLocalAddress }, () => {
      if (this.clients.get(key) !== mapping) return;
      mapping.ready = true;
      for (const data of mapping.pending) {
        upstream.send(data, this.options.targetPort, this.options.targetHost);
      }
      mapping.pending = [];
    });
    return mapping;
  }

  private closeMapping(key: string): void {
    const mapping = this.clients.get(key);
    if (!mapping) return;
    this.clients.delete(key);
    closeUdpQuietly(mapping.upstream);
  }

  private dropIdleClients(): void {
    const cutoff = Date.now() - this.idleTimeoutMs;
    for (const [key, mapping] of this.clients) {
      if (mapping.lastActivity < cutoff) this.closeMapping(key);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.idleSweep);
    const closing = [...this.clients.values()].map((mapping) => closeUdp(mapping.upstream));
    this.clients.clear();
    closing.push(closeUdp(this.downstream));
    await Promise.all(closing);
  }
}

export function bindUdp(socket: dgram.Socket, port: number, address: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error) => {
      socket.off('listening', onListening);
      reject(error);
    };
    const onListening = () => {
      socket.off('error', onError);
      resolve();
    };
    socket.once('error', onError);
    socket.once('listening', onListening);
    socket.bind({ port, address, exclusive: true });
  });
}

/** Closes a UDP socket and waits for it, whether or not it was ever bound. */
export function closeUdp(socket: dgram.Socket): Promise<void> {
  return new Promise((resolve) => {
    try {
      socket.close(() => resolve());
    } catch {
      // Already closed.
      resolve();
    }
  });
}

function closeUdpQuietly(socket: dgram.Socket): void {
  void closeUdp(socket);
}
