/** What a {@link KitSession} takes (a configuration, settings, a view) and what it reports. */
import type { KitConnector } from './connector.js';
// The `kit-*` events of HTMLElementEventMap, which KitEvent is made of.
import type {} from './events.js';

/** Where a session is in its life (and so where `<kit-stream-player>` is: its `state`). */
export type KitPlayerState = 'idle' | 'requesting' | 'pending' | 'connecting' | 'streaming' | 'reconnecting' | 'error' | 'ended';

/** Which session to run: a new one of `appId` + `profile`, or the existing `sessionId`. */
export interface KitSessionConfig {
  server: string;
  appId: string;
  profile: string;
  version: string;
  /** Attach to this session instead of creating one. */
  sessionId: string;
  arguments?: Record<string, unknown>;
}

/** Settings read each time they are used, so that a change applies from the next use. The element passes itself. */
export interface KitSessionSettings {
  readonly requestInit: RequestInit | undefined;
  readonly requestTimeout: number;
  readonly pollInterval: number;
  readonly timeout: number;
  readonly maxReconnects: number;
  /** Terminate a created session when the element is removed and on `pagehide`. */
  readonly terminateOnDisconnect: boolean;
  /** The connector to use; `undefined` for the built-in one, set up by `signalingPath` and `signalingSecure`. */
  readonly connector: KitConnector | undefined;
  readonly signalingPath: string;
  readonly signalingSecure: boolean | undefined;
  readonly streamWidth: number;
  readonly streamHeight: number;
  readonly fps: number;
  readonly maxBitrate: number;
  readonly accessToken: string | undefined;
  readonly debug: boolean;
}

/** Where a session shows its stream. */
export interface KitSessionView {
  /** The element: connectors whose library finds its media by id put that media in its light DOM (slot `media`). */
  host: HTMLElement;
  /** The element's own `<video>`. */
  video: HTMLVideoElement;
  /** The box over the video, whose CSS cursor follows the app's. */
  surface: HTMLElement;
}

type KitEventName = Extract<keyof HTMLElementEventMap, `kit-${string}`>;
type DetailOf<K extends KitEventName> = HTMLElementEventMap[K] extends CustomEvent<infer D> ? D : never;

/** An event for the element to dispatch, as `[name, detail]`, typed as events.ts declares it. */
export type KitEvent = { [K in KitEventName]: [type: K, detail: DetailOf<K>] }[KitEventName];

/**
 * What a session reports, as `(type, detail)`: its new state, the id of the session it created (`''` once
 * terminated) for the element's `session-id`, and the events to dispatch.
 */
export type KitSessionUpdate = KitEvent | [type: 'state', state: KitPlayerState] | [type: 'session-id', id: string];

export type KitSessionListener = (...update: KitSessionUpdate) => void;
