import type { LiveStreamErrorCode } from '../internal/errors.js';

/** A stream as the element's events describe it. */
export interface ThetaStreamSummary {
  id: string;
  name: string;
  status: 'on' | 'off';
}

/** `theta-stream-created`: a new stream was created (and picked). */
export interface ThetaStreamCreatedDetail {
  stream: ThetaStreamSummary;
}

/** `theta-stream-selected`: the stream to go live with was picked. */
export interface ThetaStreamSelectedDetail {
  stream: ThetaStreamSummary;
}

/**
 * `theta-stream-deleted`: the stream is gone from the service, freeing one of the 3 an account may have: the user
 * confirmed its Delete, or the go-live step found it deleted elsewhere (its status check answered 404).
 */
export interface ThetaStreamDeletedDetail {
  streamId: string;
}

/** `theta-ingestor-selected`: an edge ingestor was reserved; publish to `server` with `key` before `expiresAt`. */
export interface ThetaIngestorSelectedDetail {
  streamId: string;
  ingestorId: string;
  /** RTMP server URL for OBS. */
  server: string;
  /** Stream key for OBS. */
  key: string;
  /** When an unused selection lapses (ms since the epoch). */
  expiresAt: number;
}

/** `theta-ingestor-unselected`: the ingestor was released. */
export interface ThetaIngestorUnselectedDetail {
  streamId: string;
  ingestorId: string;
}

/** `theta-status-change`: the stream went live (`on`) or ended (`off`). */
export interface ThetaStatusChangeDetail {
  streamId: string;
  status: 'on' | 'off';
  /** HLS address while live. */
  playbackUri: string | null;
  /** Hosted player page while live. */
  playerUri: string | null;
}

/** The step the user is on. */
export type ThetaSetupStep = 'stream' | 'ingestor' | 'live';

/** `theta-error`: a call failed; the element shows the same message. */
export interface ThetaErrorDetail {
  step: ThetaSetupStep;
  /** What was being done, e.g. "create-stream". */
  action: string;
  /** The HTTP status when the failure was an HTTP answer; `undefined` when there was no answer. */
  status: number | undefined;
  /**
   * What kind of failure, with the same code `kit-error` uses for the same failure:
   * - `unauthorized` (401): the request carried no valid credentials (the proxy's auth, or the secret).
   * - `forbidden` (403): the service or the proxy refused, e.g. another account's stream or ingestor.
   * - `not-found` (404): the stream or ingestor does not exist (any more).
   * - `invalid-request` (422): the service rejected the request's fields.
   * - `server-error` (5xx): the service failed, or the proxy could not reach it (502) or got no answer in time (504).
   * - `http-error`: any other error status (the 400 of the stream limit, say), or a success carrying an error.
   * - `malformed-response`: an answer that is not the JSON the API promises (an HTML error page, say).
   * - `network`: no answer: the connection failed or was refused.
   * - `timeout`: no complete answer in time.
   * - `aborted`: the request was cancelled.
   * - `configuration`: a setting is missing; the message says which. Nothing was sent.
   *
   * Never here: the stream's own codes of `kit-error` (`no-signaling-route`, `connection`, `signaling`, `server-ended`).
   */
  code: LiveStreamErrorCode;
  /** The service's own message when it sent one, else a plain description. */
  message: string;
}

declare global {
  interface GlobalEventHandlersEventMap {
    'theta-stream-created': CustomEvent<ThetaStreamCreatedDetail>;
    'theta-stream-selected': CustomEvent<ThetaStreamSelectedDetail>;
    'theta-stream-deleted': CustomEvent<ThetaStreamDeletedDetail>;
    'theta-ingestor-selected': CustomEvent<ThetaIngestorSelectedDetail>;
    'theta-ingestor-unselected': CustomEvent<ThetaIngestorUnselectedDetail>;
    'theta-status-change': CustomEvent<ThetaStatusChangeDetail>;
    'theta-error': CustomEvent<ThetaErrorDetail>;
  }
}
