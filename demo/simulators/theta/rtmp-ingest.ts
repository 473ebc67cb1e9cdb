/**
 * A real RTMP endpoint on loopback for the Theta simulator's edge ingestors.
 *
 * node-media-server keeps module-level singletons (configuration, sessions, one event
 * emitter), so a process can run only one instance at a time. Every simulator in the
 * process therefore shares one ingest: each takes a lease, routes the stream keys it
 * issues, and the last lease released stops the server. Publishers are told apart by
 * their stream key alone (`rtmp://127.0.0.1:PORT/live/KEY`). A publish can be played back from the same address
 * while it lasts; its players are disconnected when it ends.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Server } from 'node:net';
import type NodeMediaServer from 'node-media-server';

/** The RTMP application every ingestor publishes to, as in `rtmp://host:1935/live`. */
export const rtmpApplication = 'live';

/** A publisher that was accepted on a routed stream key. */
export interface RtmpPublish {
  readonly sessionId: string;
  readonly streamKey: string;
  /** Epoch milliseconds when the publish was accepted. */
  readonly startedAt: number;
  /** Disconnects the publisher; `onPublishEnd` follows. */
  stop(): void;
}

/** What a simulator does with publishers arriving on one of its stream keys. */
export interface RtmpPublishRoute {
  /** Return false to refuse the publisher: its connection is closed at once. */
  onPublishStart(publish: RtmpPublish): boolean;
  /** The accepted publisher is gone (stopped, disconnected or stopped by the simulator). */
  onPublishEnd(publish: RtmpPublish): void;
}

/** One user's share of the process-wide ingest. */
export interface RtmpIngestLease {
  readonly host: string;
  readonly port: number;
  /** The stream server to hand to publishers, e.g. `rtmp://127.0.0.1:41935/live`. */
  readonly publishUrl: string;
  /** Accepts publishers on `streamKey` (only `[A-Za-z0-9_-]`: other names reach the server empty). */
  route(streamKey: string, route: RtmpPublishRoute): void;
  /** Refuses further publishers on `streamKey`; a publisher already accepted stays until stopped. */
  unroute(streamKey: string): void;
  /** Stops this lease's publishers and frees its keys; the last release stops the server. */
  release(): Promise<void>;
}

const loopbackHost = '127.0.0.1';
const streamKeyPattern = /^[A-Za-z0-9_-]{1,128}$/;

interface AcceptedPublish {
  publish: RtmpPublish;
  route: RtmpPublishRoute;
}

class SharedRtmpIngest {
  readonly routes = new Map<string, RtmpPublishRoute>();
  private readonly accepted = new Map<string, AcceptedPublish>();
  /**
   * node-media-server cannot refuse a publisher: closing it in `prePublish` still lets its
   * `postPublish` and `donePublish` fire, so refused sessions are remembered and ignored.
   */
  private readonly refused = new Set<string>();
  private readonly listeners: Array<[NodeMediaServer.SessionEvent, (session: NodeMediaServer.Session) => void]> = [];

  private constructor(
    private readonly server: NodeMediaServer,
    private readonly tcpServer: Server,
    private readonly storeDir: string,
    readonly port: number,
  ) {}

  static async start(): Promise<SharedRtmpIngest> {
    const [{ default: NodeMediaServerClass }, { default: nmsLogger }] = await Promise.all([
      import('node-media-server'),
      import('node-media-server/src/core/logger.js'),
    ]);
    // It logs every connection at debug level to stdout, which would bury the simulator's own output.
    nmsLogger.log = () => {};
    // It persists relay tasks and stream history as JSON files; keep them out of the working tree.
    const storeDir = await mkdtemp(join(tmpdir(), 'theta-simulator-rtmp-'));
    const config: NodeMediaServer.Config = {
      bind: loopbackHost,
      // The constructor only creates the RTMP listener for a truthy port; 0 is set below.
      rtmp: { port: 1935 },
      store: { path: storeDir },
      webadmin: { enable: false },
    };
    const server = new NodeMediaServerClass(config);
    // A random free port: a busy fixed port would make node-media-server call process.exit(1).
    config.rtmp!.port = 0;
    const tcpServer = server.rtmpServer.tcpServer;
    if (!tcpServer) {
      await rm(storeDir, { recursive: true, force: true });
      throw new Error('node-media-server did not create its RTMP listener');
    }
    const listening = new Promise<void>((resolve) => tcpServer.once('listening', () => resolve()));
    await server.run();
    await listening;
    const address = tcpServer.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    const ingest = new SharedRtmpIngest(server, tcpServer, storeDir, port);
    ingest.listen('prePublish', (session) => ingest.onPrePublish(session));
    ingest.listen('donePublish', (session) => ingest.onDonePublish(session));
    return ingest;
  }

  private listen(event: NodeMediaServer.SessionEvent, listener: (session: NodeMediaServer.Session) => void): void {
    this.server.on(event, listener);
    this.listeners.push([event, listener]);
  }

  private onPrePublish(session: NodeMediaServer.Session): void {
    // Without this a stopped publish ends only 30 s later (a resume window), and a quick
    // re-publish from the same address would be taken for a resume of the old one.
    session.broadcast.publishGraceMs = 0;
    const streamKey = session.streamName;
    const route = session.streamApp === rtmpApplication ? this.routes.get(streamKey) : undefined;
    if (!route) {
      this.refuse(session);
      return;
    }
    const publish: RtmpPublish = {
      sessionId: session.id,
      streamKey,
      startedAt: Date.now(),
      stop: () => disconnect(session),
    };
    let accepted = false;
    try {
      accepted = route.onPublishStart(publish);
    } catch {
      accepted = false;
    }
    if (accepted) this.accepted.set(session.id, { publish, route });
    else this.refuse(session);
  }

  private onDonePublish(session: NodeMediaServer.Session): void {
    if (this.refused.delete(session.id)) return;
    const entry = this.accepted.get(session.id);
    if (!entry) return;
    this.accepted.delete(session.id);
    endPlayers(session);
    try {
      entry.route.onPublishEnd(entry.publish);
    } catch {
      // A route's failure must not break the ingest for the other simulators.
    }
  }

  private refuse(session: NodeMediaServer.Session): void {
    this.refused.add(session.id);
    disconnect(session);
  }

  /** Disconnects every accepted publisher that came through one of `keys`. */
  stopPublishes(keys: ReadonlySet<string>): void {
    for (const { publish } of this.accepted.values()) {
      if (keys.has(publish.streamKey)) publish.stop();
    }
  }

  async stop(): Promise<void> {
    const context = (await import('node-media-server/src/core/context.js')).default;
    for (const [event, listener] of this.listeners) context.eventEmitter.off(event, listener);
    this.listeners.length = 0;
    this.routes.clear();
    this.accepted.clear();
    this.refused.clear();
    const closed = new Promise<void>((resolve) => {
      if (!this.tcpServer.listening) resolve();
      else this.tcpServer.once('close', () => resolve());
    });
    // stop() destroys every RTMP socket and flushes the store.
    await this.server.stop();
    await closed;
    await rm(this.storeDir, { recursive: true, force: true });
  }
}

/**
 * Ends the players of a publish that is over. node-media-server keeps players attached across publishes, waiting
 * for the next publisher; a player of this ingest (the simulator's HLS packager) must instead see its input end,
 * so that it ends the playlist and exits. The close is graceful: what was sent still arrives.
 */
function endPlayers(session: NodeMediaServer.Session): void {
  // Not in the declared types: node-media-server 4.x keeps a broadcast's players in `subscribers`.
  const { subscribers } = session.broadcast as NodeMediaServer.Broadcast & { subscribers?: Map<string, NodeMediaServer.Session> };
  if (!(subscribers instanceof Map)) return;
  for (const player of subscribers.values()) {
    try {
      player.close();
    } catch {
      // A player that is already gone needs no ending.
    }
  }
}

/** Ends a session without waiting for a graceful close, so refused publishers fail fast. */
function disconnect(session: NodeMediaServer.Session): void {
  // Destroying inside the server's own data handler would cut it mid-parse; do it next turn.
  setImmediate(() => {
    if (session.socket) session.socket.destroy();
    else session.close();
  });
}

let running: Promise<SharedRtmpIngest> | null = null;
let stopping: Promise<void> | null = null;
let leaseCount = 0;

/** Takes a lease on the process-wide RTMP ingest, starting it when no one holds one. */
export async function acquireRtmpIngest(): Promise<RtmpIngestLease> {
  leaseCount += 1;
  let ingest: SharedRtmpIngest;
  try {
    if (stopping) await stopping;
    running ??= SharedRtmpIngest.start();
    ingest = await running;
  } catch (error) {
    leaseCount -= 1;
    running = null;
    throw error;
  }
  const ownKeys = new Set<string>();
  let released = false;
  return {
    host: loopbackHost,
    port: ingest.port,
    publishUrl: `rtmp://${loopbackHost}:${ingest.port}/${rtmpApplication}`,
    route(streamKey, route) {
      if (released) throw new Error('This RTMP ingest lease has been released');
      if (!streamKeyPattern.test(streamKey)) throw new Error('A stream key may only contain A-Z, a-z, 0-9, _ and -');
      if (ingest.routes.has(streamKey) && !ownKeys.has(streamKey)) throw new Error('This stream key is routed elsewhere');
      ingest.routes.set(streamKey, route);
      ownKeys.add(streamKey);
    },
    unroute(streamKey) {
      if (!ownKeys.delete(streamKey)) return;
      ingest.routes.delete(streamKey);
    },
    async release() {
      if (released) return;
      released = true;
      ingest.stopPublishes(ownKeys);
      for (const key of ownKeys) ingest.routes.delete(key);
      ownKeys.clear();
      leaseCount -= 1;
      if (leaseCount > 0) return;
      running = null;
      stopping = ingest.stop().finally(() => {
        stopping = null;
      });
      await stopping;
    },
  };
}
