import type { PreviewHost } from './live-preview.js';
import type { SavedSelection } from './saved-progress.js';
import type { ThetaLiveSetup } from './theta-live-setup.js';
import type { ThetaClientOptions } from './theta-client.js';

/** What the go-live step is showing. */
export type LiveStatus = 'waiting' | 'on' | 'ended' | 'expired';

/** An ingestor reserved for a stream, and where to publish to it. */
export interface Selection extends SavedSelection {
  server: string;
  key: string;
}

/** A call that failed, as the error box shows it. */
export interface Failure {
  action: string;
  message: string;
  retry: () => void;
}

/**
 * The element, whose settings the steps read: the client's (the element's properties have the client's option names)
 * and the flow's own.
 */
export type SetupHost = PreviewHost &
  ThetaClientOptions &
  Pick<ThetaLiveSetup, 'apiBase' | 'serviceAccountId' | 'streamId' | 'streamName' | 'pollInterval' | 'selectionTimeout'>;

type EventDetail<K extends keyof HTMLElementEventMap> = HTMLElementEventMap[K] extends CustomEvent<infer D> ? D : never;

/** Dispatches one of the element's events. */
export type Emit = <K extends keyof HTMLElementEventMap>(name: K, detail: EventDetail<K>) => void;
