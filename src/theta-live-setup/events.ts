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

/** `theta-stream-deleted`: the user confirmed, and the service deleted the stream (freeing one of the 3 an account may have). */
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
  /** HTTP status, or 0 when there was no answer. */
  status: number;
  code: string;
  /** The service's own message when it sent one. */
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
