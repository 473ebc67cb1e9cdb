/**
 * How `<kit-stream-player>` reaches the media of a ready session. The element knows only this interface;
 * a connector owns signaling and the peer connection. Nothing here depends on Lit.
 */

/** Where and what to connect to. */
export interface KitStreamTarget {
  /** The route's IP (or host name). */
  host: string;
  /** The signaling route's `source_port` (TCP). */
  signalingPort: number;
  /** The media route's `source_port` (UDP), when the session has one. */
  mediaPort: number | undefined;
  /** The session id. */
  sessionId: string;
  /** The streaming API's base URL, for connectors that talk to it themselves. */
  server: string;
}

/** A message to or from the streamed app. */
export interface KitAppMessage {
  eventType: string;
  payload: unknown;
}

/** Figures sampled from the connection, about once a second. */
export interface KitStreamStats {
  /** Frames decoded per second. */
  fps: number;
  /** Received video bitrate, kbit/s. */
  bitrate: number;
  /** Round-trip time, ms, when known. */
  rtt: number | undefined;
  /** Packets lost so far. */
  packetsLost: number;
  /** Jitter, ms. */
  jitter: number;
  /** Decoded frame size. */
  width: number;
  height: number;
  /** Frames decoded so far; stalls are detected from it. */
  framesDecoded: number;
}

/** Why a connection closed. */
export type KitCloseReason =
  | 'closed-by-client'
  | 'signaling-closed'
  | 'signaling-timeout'
  | 'signaling-error'
  | 'ice-failed'
  | 'connect-timeout'
  | 'stream-ended'
  /** The server ended the stream (`peerRemoved`, `BYE`, `exitMessage`): reconnecting would not bring it back. */
  | 'server-ended'
  /** The signaling server reported an error (`{"error": ...}` other than `peerRemoved`). */
  | 'server-error';

/** Where input goes: Kit's binary input protocol on `input_channel_v1`. */
export interface KitInputSink {
  /** `performance.now()` where the input clock starts: event timestamps count from here. */
  readonly startedAt?: number;
  /** One raw event (type as u32 LE first), framed for the protocol version the server announced. */
  sendEvent(event: Uint8Array): void;
  /** Text (IME results, paste) as type-23 chunks. */
  sendText(text: string): void;
}

export interface KitConnectOptions {
  target: KitStreamTarget;
  /** The element's own `<video>`, for connectors that attach a `MediaStream` to it. */
  video: HTMLVideoElement;
  /** The `<kit-stream-player>` itself: connectors that need light-DOM media (found by id) put it here, slotted as `media`. */
  host: HTMLElement;
  /** Aborting it closes the connection and everything it opened. */
  signal: AbortSignal;
  /** Desired stream size and rate, for connectors that negotiate them. */
  width: number;
  height: number;
  fps: number;
  /** Highest video bitrate to ask for, kbit/s, for connectors that negotiate it. */
  maxBitrate?: number;
  /**
   * Bearer token for gateways in front of Kit. The built-in connector sends it only inside the WebSocket
   * subprotocol, as Kit's auth proxies expect. Never log it.
   */
  accessToken?: string;
  /** Log the signaling and control exchange to the console, secrets redacted. */
  debug?: boolean;
  /** Called with each message from the app. */
  onMessage(message: KitAppMessage): void;
  /** Called when the app warns that the session will end soon (Kit's `timerNotification`). */
  onTimerWarning?(code: number, secondsLeft: number): void;
  /** Called with a CSS `cursor` value when the app changes its cursor. */
  onCursor?(cursor: string): void;
  /** Called once when the connection ends for a reason other than `close()`; not called after `close()`. */
  onClosed(reason: KitCloseReason, detail?: string): void;
}

/** A live connection to one session. */
export interface KitConnection {
  /** Sends a message to the app. Messages sent before the channel opens are queued (a few dozen at most). */
  send(message: KitAppMessage): void;
  /** Current figures, or `undefined` when the connector cannot tell. */
  stats(): Promise<KitStreamStats | undefined>;
  /** Closes everything the connection opened. Safe to call more than once. */
  close(): void;
  /** True when the connector forwards pointer and keyboard input itself, so the element does not. */
  readonly handlesInput?: boolean;
  /** Where the element sends pointer and keyboard input, when the connector does not handle input itself. */
  readonly input?: KitInputSink;
}

/** Makes connections. `connect` resolves once media can flow, and rejects when it cannot be established. */
export interface KitConnector {
  connect(options: KitConnectOptions): Promise<KitConnection>;
}
