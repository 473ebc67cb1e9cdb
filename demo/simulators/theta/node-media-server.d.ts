/**
 * The small part of node-media-server 4.x the Theta simulator's RTMP ingest uses.
 * The package ships no types for 4.x (`@types/node-media-server` describes 2.x), and its
 * modules are CommonJS, so each default import is the module's `module.exports`.
 */

declare module 'node-media-server' {
  import type { Server, Socket } from 'node:net';

  namespace NodeMediaServer {
    interface Config {
      bind?: string;
      rtmp?: { port?: number };
      http?: { port?: number };
      store?: { path?: string; flushInterval?: number };
      record?: { path?: string; auto?: boolean };
      webadmin?: { enable?: boolean };
      notify?: { url?: string };
    }

    interface Broadcast {
      /** Milliseconds a disconnected publisher may resume before `donePublish` fires. */
      publishGraceMs: number;
    }

    /** One connection; RTMP sessions also carry their socket. */
    interface Session {
      id: string;
      ip: string;
      protocol: string;
      streamApp: string;
      /** The stream key: the last path segment of the publish URL. */
      streamName: string;
      streamPath: string;
      isPublisher: boolean;
      broadcast: Broadcast;
      socket?: Socket;
      close(): void;
    }

    type SessionEvent = 'prePublish' | 'postPublish' | 'donePublish' | 'prePlay' | 'postPlay' | 'donePlay';
  }

  class NodeMediaServer {
    constructor(config: NodeMediaServer.Config, configPath?: string);
    rtmpServer: { tcpServer?: Server };
    on(event: NodeMediaServer.SessionEvent, listener: (session: NodeMediaServer.Session) => void): void;
    run(): Promise<void>;
    stop(): Promise<void>;
  }

  export default NodeMediaServer;
}

declare module 'node-media-server/src/core/logger.js' {
  /** The module-level logger every part of node-media-server writes through. */
  const logger: {
    level: string;
    log(message: string, level?: string): void;
  };
  export default logger;
}

declare module 'node-media-server/src/core/context.js' {
  import type { EventEmitter } from 'node:events';

  /** Module-level state shared by every node-media-server instance in the process. */
  const context: {
    eventEmitter: EventEmitter;
  };
  export default context;
}
