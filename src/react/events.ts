/**
 * The React event props of the wrappers and the element events they listen to. `eventName` types each prop's
 * handler with the event the element dispatches under that name (from `HTMLElementEventMap`), so a handler gets
 * `CustomEvent<KitSessionReadyDetail>` and so on.
 */
import type { EventName } from '@lit/react';
import type {} from '../kit-stream-player/events.js';
import type {} from '../theta-live-setup/events.js';

function eventName<K extends keyof HTMLElementEventMap>(name: K): EventName<HTMLElementEventMap[K]> {
  return name as EventName<HTMLElementEventMap[K]>;
}

/** `<KitStreamPlayer onKitSessionReady={...}>`: one prop per `kit-*` event. */
export const kitStreamPlayerEvents = {
  onKitSessionPending: eventName('kit-session-pending'),
  onKitSessionReady: eventName('kit-session-ready'),
  onKitConnected: eventName('kit-connected'),
  onKitDisconnected: eventName('kit-disconnected'),
  onKitMessage: eventName('kit-message'),
  onKitTimerWarning: eventName('kit-timer-warning'),
  onKitStats: eventName('kit-stats'),
  onKitStall: eventName('kit-stall'),
  onKitRecovered: eventName('kit-recovered'),
  onKitError: eventName('kit-error'),
  onKitSessionEnded: eventName('kit-session-ended'),
};

/** `<ThetaLiveSetup onThetaStatusChange={...}>`: one prop per `theta-*` event. */
export const thetaLiveSetupEvents = {
  onThetaStreamCreated: eventName('theta-stream-created'),
  onThetaStreamSelected: eventName('theta-stream-selected'),
  onThetaStreamDeleted: eventName('theta-stream-deleted'),
  onThetaIngestorSelected: eventName('theta-ingestor-selected'),
  onThetaIngestorUnselected: eventName('theta-ingestor-unselected'),
  onThetaStatusChange: eventName('theta-status-change'),
  onThetaError: eventName('theta-error'),
};
