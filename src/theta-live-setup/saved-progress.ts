import { isRecord, parseJson } from '../internal/json.js';

/**
 * Where the streamer was in the setup, kept in `sessionStorage` so that a reload (or a click away and back) resumes
 * there. Never a secret, never the stream key: the key is fetched again from the service.
 */
export interface SavedProgress {
  streamId: string;
  streamName: string;
  /** The ingestor selected for the stream, while the selection may still be in use. */
  ingestorId?: string;
  /** When it was selected (ms since the epoch): the selection lapses a while after, unless a stream arrives. */
  selectedAt?: number;
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

/** Saves `progress` under `key`, or forgets what was saved there. */
export function writeProgress(key: string, progress: SavedProgress | undefined): void {
  try {
    if (progress) sessionStorage.setItem(key, JSON.stringify(progress));
    else sessionStorage.removeItem(key);
  } catch {
    // No storage (privacy settings), or full: resuming after a reload is then not possible.
  }
}
