import type { KitCloseReason, KitStreamStats } from './connector.js';
import type { KitErrorCode } from './kit-error.js';

/** `kit-session-pending`: the service is still preparing the session. */
export interface KitSessionPendingDetail {
  id: string;
  /** Milliseconds since the element asked for the session. */
  elapsed: number;
  /** How many times the session has been found pending so far (1 for the first answer). */
  attempt: number;
  /** The service's status message, e.g. "Session is being prepared". */
  message?: string;
}

/** `kit-session-ready`: the session is ready and its routes say where to connect. */
export interface KitSessionReadyDetail {
  id: string;
  /** The route's IP address or host name. */
  host: string;
  /** The signaling route's `source_port` (TCP). */
  signalingPort: number;
  /** The media route's `source_port` (UDP), when the session has one. */
  mediaPort: number | undefined;
  /** The `routes` object exactly as the service sent it. */
  routes: unknown;
}

/** `kit-error`: something failed; the element shows the same message. */
export interface KitErrorDetail {
  /**
   * What kind of failure, with the same code `theta-error` uses for the same failure:
   * - `unauthorized` (401): the request carried no valid credentials for the gateway.
   * - `forbidden` (403): the gateway or service refused the request.
   * - `not-found` (404): the session does not exist (any more).
   * - `invalid-request` (422): the service rejected the request's fields; the message lists each with its location.
   * - `server-error` (5xx): the service failed.
   * - `http-error`: any other unexpected HTTP status.
   * - `malformed-response`: the answer was not the JSON the API promises (an HTML error page, say).
   * - `network`: no answer: the network failed or the connection was refused.
   * - `timeout`: the session did not become ready in time, or a request got no answer in time.
   * - `configuration`: the element is missing an attribute it needs.
   * - `no-signaling-route`: a ready session whose routes have no signaling route.
   * - `connection`: the stream itself failed (signaling, ICE, reconnects exhausted).
   * - `signaling`: Kit's signaling server reported an error; the message carries its text.
   *
   * Never here: `server-ended` (reported as `kit-session-ended`) and `aborted` (only `theta-error` has it).
   */
  code: KitErrorCode;
  /** The HTTP status when the failure was an HTTP answer; `undefined` when there was no answer. */
  status: number | undefined;
  /** The server's own message when it sent one, else a plain description. */
  message: string;
}

/** Why the element let go of a session. */
export type KitSessionEndReason =
  /** `stop()` was called. */
  | 'stopped'
  /** The element was removed from the document. */
  | 'disconnected'
  /** The page is being unloaded or put in the back/forward cache. */
  | 'pagehide'
  /** `server`, `app-id`, `profile`, `version` or `session-id` changed. */
  | 'replaced'
  /** The session failed or timed out. */
  | 'error'
  /** The server ended the stream (`peerRemoved`, `BYE` or the app's `exitMessage`). */
  | 'server-ended';

/** `kit-session-ended`: the element no longer uses the session (and terminated it when it had created it). */
export interface KitSessionEndedDetail {
  id: string;
  reason: KitSessionEndReason;
  /** True when the element sent the terminate call for this session. */
  terminated: boolean;
}

/** `kit-connected`: the stream shows its first decoded frame. */
export interface KitConnectedDetail {
  id: string;
  /** Milliseconds from the session being ready (or found ready again, on a reconnect) to the first decoded frame. */
  timeToFirstFrame: number;
}

/** `kit-disconnected`: the stream's connection closed or could not be made; the element reconnects when it can. */
export interface KitDisconnectedDetail {
  id: string;
  reason: KitCloseReason | 'connect-failed';
  message: string;
}

/** `kit-message`: a message from the streamed app. */
export interface KitMessageDetail {
  eventType: string;
  payload: unknown;
}

/** `kit-timer-warning`: the app warns that the session will end soon unless the viewer acts (Kit's `timerNotification`). */
export interface KitTimerWarningDetail {
  /** Kit's reason code: 1 and 2 for the session time limit, 4 for idleness, 6 for the server's own limit. */
  code: number;
  /** Seconds until the session ends. */
  secondsLeft: number;
}

/** `kit-stats`: the stream's figures, once a second while streaming. */
export interface KitStatsDetail extends KitStreamStats {
  id: string;
}

/** `kit-stall` and `kit-recovered`: frames stopped for 5 s, or flow again. */
export interface KitStallDetail {
  id: string;
  /** Milliseconds since the last new frame. */
  since: number;
}

declare global {
  interface GlobalEventHandlersEventMap {
    'kit-session-pending': CustomEvent<KitSessionPendingDetail>;
    'kit-session-ready': CustomEvent<KitSessionReadyDetail>;
    'kit-error': CustomEvent<KitErrorDetail>;
    'kit-session-ended': CustomEvent<KitSessionEndedDetail>;
    'kit-connected': CustomEvent<KitConnectedDetail>;
    'kit-disconnected': CustomEvent<KitDisconnectedDetail>;
    'kit-message': CustomEvent<KitMessageDetail>;
    'kit-timer-warning': CustomEvent<KitTimerWarningDetail>;
    'kit-stats': CustomEvent<KitStatsDetail>;
    'kit-stall': CustomEvent<KitStallDetail>;
    'kit-recovered': CustomEvent<KitStallDetail>;
  }
}
