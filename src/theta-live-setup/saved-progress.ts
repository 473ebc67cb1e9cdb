import { isRecord, parseJson } from '../internal/json.js';

/** An ingestor selected for a stream, and when. */
export interface SavedSelection {
  /** The stream it was selected for, which need not be the stream being set up. */
  streamId: string;
  ingestorId: string;
  /** Ms since the epoch: the selection lapses a while after, unless a stream arrives. */
  selectedAt: number;
}

/**
 * Where the streamer was in the setup, kept in `sessionStorage` so that a reload (or a click away and back) resumes
 * there. Never a secret, never the stream key: the key is fetched again from the service.
 *
 * Progress saved before selections named their stream has `ingestorId` and `selectedAt` beside `streamId`; nothing
 * reads them, as that ingestor may have been selected for another stream.
 */
export interface SavedProgress {
  streamId: string;
  streamName: string;
  /** The selection, while it may still be in use. */
  selection?: SavedSelection;
}

/** The progress saved under `key`, or undefined when there is none or it is unreadable. */
export function readProgress(key: string): SavedProgress | undefined {
  try {
    const value = parseJson(sessionStorage.getItem(key));
    if (isRecord(value) && typeof value.streamId === 'string') return value as unknown as SavedProgress;
  } catch {
    // No storage (privacy settings).
  }
  return undefined;
}

/**
 * Saves `progress` under `key`, or forgets what was saved there. A selection may be passed whole: its server and key
 * are left out, as they are fetched again from the service.
 */
export function writeProgress(key: string, progress: SavedProgress | undefined): void {
  try {
    if (progress)
      sessionStorage.setItem(
        key,
        JSON.stringify(progress, (name, value: unknown) => (name === 'key' || name === 'server' ? undefined : value)),
      );
    else sessionStorage.removeItem(key);
  } catch {
    // No storage (privacy settings), or full: resuming after a reload is then not possible.
  }
}
